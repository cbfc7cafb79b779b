import { ZkCommand } from '../../cli/zk.js';
import type { ZkSessionRow } from '../../workloads/zk/control.js';
import { formatSessionTable } from '../../workloads/zk/format.js';

export default class ZkSessions extends ZkCommand {
  static override summary = 'List the open sessions the leader tracks: each one\'s server, timeout and time since its last ping.';
  static override description = 'Asked of the leader (list_sessions). NAME is the --session name for the sessions this cluster\'s supervisor holds open.';
  static override examples = ['<%= config.bin %> zk sessions'];
  // No --session: the list is the ensemble's, whatever session asks (baseFlags give --cluster).

  async run(): Promise<unknown> {
    const { flags } = await this.parse(ZkSessions);
    const result = await this.zk(flags.cluster, 'sessions', {});
    for (const line of formatSessionTable((result['sessions'] as ZkSessionRow[] | undefined) ?? [])) this.log(line);
    return result;
  }
}
