import { Args, Flags } from '@oclif/core';
import { KvCommand, parseKey, parseValue } from '../../workloads/lin-kv/cli.js';

export default class KvCas extends KvCommand {
  static override summary = 'Compare-and-set: change a key from one value to another, only if it holds the first.';
  static override examples = ['<%= config.bin %> kv cas x 5 6', '<%= config.bin %> kv cas y 0 1 --create'];
  static override args = {
    key: Args.string({ required: true, description: 'key' }),
    from: Args.string({ required: true, description: 'expected current value' }),
    to: Args.string({ required: true, description: 'new value' }),
  };
  static override flags = {
    ...KvCommand.flags,
    create: Flags.boolean({ description: 'if the key does not exist, create it with the new value' }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(KvCas);
    return this.runOperation(flags, { f: 'cas', key: parseKey(args.key), from: parseValue(args.from), to: parseValue(args.to), create_if_not_exists: flags.create });
  }
}
