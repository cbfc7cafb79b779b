import { Args } from '@oclif/core';
import { ZkCommand, zk_session_flags } from '../../cli/zk.js';

export default class ZkGet extends ZkCommand {
  static override summary = "Print a znode's data.";
  static override description = 'Read from the server the session is connected to (run `dslab zk sync` first on the same --session for a read that sees every write committed before it). --json adds the stat.';
  static override examples = ['<%= config.bin %> zk get /app'];
  static override flags = { ...zk_session_flags };
  static override args = { path: Args.string({ required: true, description: 'znode path' }) };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(ZkGet);
    const result = await this.zk(flags.cluster, 'get', { path: args.path, ...(flags.session ? { session: flags.session } : {}) });
    this.log(String(result['data'] ?? ''));
    return result;
  }
}
