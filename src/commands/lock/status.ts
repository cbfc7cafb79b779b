import { DslabCommand } from '../../cli/base.js';
import { formatLockStatus, lockStatus } from '../../workloads/locks/client.js';

export default class LockStatus extends DslabCommand {
  static override workloads = ['locks'];
  static override summary = 'Show the lock (holder, token, time left, waiters), each contender, and the check of what the resource observed.';
  static override description = 'Exit code 1 when the check finds a violation (overlapping critical sections, lost increments, a fencing token that went backwards).';
  static override examples = ['<%= config.bin %> lock status', '<%= config.bin %> lock status --json'];

  async run(): Promise<unknown> {
    const { flags } = await this.parse(LockStatus);
    const status = await lockStatus(this.client(flags.cluster));
    this.log(formatLockStatus(status));
    if (!status.check.ok) process.exitCode = 1;
    return status;
  }
}
