import { Args } from '@oclif/core';
import { KvCommand, parseKey, parseValue } from '../../workloads/lin-kv/cli.js';

export default class KvPut extends KvCommand {
  static override summary = 'Write a value to a key.';
  static override description = 'The value is JSON when it parses (5, "five", null), otherwise the text as a string.';
  static override examples = ['<%= config.bin %> kv put x 5', '<%= config.bin %> kv put name alice'];
  // oclif's parse reads only a class's own statics, so inherited flags are restated.
  static override flags = { ...KvCommand.flags };
  static override args = {
    key: Args.string({ required: true, description: 'key' }),
    value: Args.string({ required: true, description: 'value' }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(KvPut);
    return this.runOperation(flags, { f: 'write', key: parseKey(args.key), value: parseValue(args.value) });
  }
}
