import { Args } from '@oclif/core';
import { ZkCommand } from '../../../cli/zk.js';

export default class ZkSessionClose extends ZkCommand {
  static override summary = 'Close a named session the supervisor holds open: its ephemeral znodes are deleted and its watches end.';
  static override examples = ['<%= config.bin %> zk session close me'];
  static override args = { name: Args.string({ required: true, description: 'the name given with --session' }) };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(ZkSessionClose);
    const result = await this.zk(flags.cluster, 'session_close', { session: args.name });
    this.log(result.description);
    return result;
  }
}
