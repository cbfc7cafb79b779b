import { Args } from '@oclif/core';
import { ZkCommand, zk_session_flags } from '../../cli/zk.js';
import type { Stat } from '../../lib/zk/client.js';
import { formatStat } from '../../workloads/zk/format.js';

export default class ZkStat extends ZkCommand {
  static override summary = "Print a znode's stat, field names as ZooKeeper's CLI prints them.";
  static override description = 'cZxid, mZxid and pZxid are the zxids (epoch:counter) of the create, the last data change and the last change to its children; dataVersion counts data changes, cversion child changes, aclVersion ACL changes; ephemeralOwner is the owning session (0x0 for a persistent znode).';
  static override examples = ['<%= config.bin %> zk stat /app'];
  static override flags = { ...zk_session_flags };
  static override args = { path: Args.string({ required: true, description: 'znode path' }) };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(ZkStat);
    const result = await this.zk(flags.cluster, 'stat', { path: args.path, ...(flags.session ? { session: flags.session } : {}) });
    for (const line of formatStat(result['stat'] as Stat)) this.log(line);
    return result;
  }
}
