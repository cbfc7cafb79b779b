import { Flags } from '@oclif/core';
import { DslabCommand } from '../../cli/base.js';
import { checkLocks } from '../../workloads/locks/checker.js';
import { fetchReport, formatLockCheck, loadReport } from '../../workloads/locks/client.js';

export default class LockCheck extends DslabCommand {
  static override summary = 'Check a lock run: no two critical sections overlap, no increment was lost, fencing tokens only grew.';
  static override description =
    'Reads what the resource node observed on the running cluster, or a history `dslab lock run --history FILE` saved (no cluster needed). Each violation is named in words. Exit code 1 when one is found.';
  static override examples = ['<%= config.bin %> lock check', '<%= config.bin %> lock check --history run.json --json'];
  static override flags = {
    history: Flags.string({ description: 'check this saved history instead of the running cluster', helpValue: 'FILE' }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(LockCheck);
    let report;
    if (flags.history) report = loadReport(flags.history);
    else {
      const client = this.client(flags.cluster);
      report = await fetchReport(client, await client.status());
    }
    const check = checkLocks(report);
    this.log(formatLockCheck(check));
    if (!check.ok) process.exitCode = 1;
    return check;
  }
}
