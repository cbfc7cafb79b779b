import { Args } from '@oclif/core';
import { ZkCommand, zk_session_flags } from '../../cli/zk.js';

export default class ZkSync extends ZkCommand {
  static override summary = "Bring the session's server up to date with the leader.";
  static override description = 'After it, a read on the same --session sees every write committed before the sync began (reads are otherwise served by the session\'s own server, which may lag).';
  static override examples = ['<%= config.bin %> zk sync', '<%= config.bin %> zk sync /app --session me'];
  static override flags = { ...zk_session_flags };
  static override args = { path: Args.string({ required: false, description: 'znode path (ZooKeeper takes one; the whole tree is synced either way)' }) };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(ZkSync);
    const result = await this.zk(flags.cluster, 'sync', { ...(args.path !== undefined ? { path: args.path } : {}), ...(flags.session ? { session: flags.session } : {}) });
    this.log(result.description);
    return result;
  }
}
