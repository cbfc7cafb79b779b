import { Args } from '@oclif/core';
import { KvCommand, parseKey } from '../../workloads/lin-kv/cli.js';

export default class KvDel extends KvCommand {
  static override summary = 'Delete a key.';
  static override examples = ['<%= config.bin %> kv del x'];
  // oclif's parse reads only a class's own statics, so inherited flags are restated.
  static override flags = { ...KvCommand.flags };
  static override args = { key: Args.string({ required: true, description: 'key' }) };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(KvDel);
    return this.runOperation(flags, { f: 'delete', key: parseKey(args.key) });
  }
}
