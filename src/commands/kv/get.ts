import { Args } from '@oclif/core';
import { KvCommand, parseKey } from '../../workloads/lin-kv/cli.js';

export default class KvGet extends KvCommand {
  static override summary = 'Read a key (linearizable when the system is).';
  static override examples = ['<%= config.bin %> kv get x'];
  // oclif's parse reads only a class's own statics, so inherited flags are restated.
  static override flags = { ...KvCommand.flags };
  static override args = { key: Args.string({ required: true, description: 'key' }) };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(KvGet);
    return this.runOperation(flags, { f: 'read', key: parseKey(args.key) });
  }
}
