import { Flags } from '@oclif/core';
import { DslabCommand } from '../../cli/base.js';
import { dslabHome, findAnyCluster, isRunning } from '../../lib/cluster/paths.js';
import { checkLocks } from '../../systems/locks/checker.js';
import { fetchReport, formatLockCheck, loadReport } from '../../workloads/locks/client.js';
import { stoppedClusterReport } from '../../workloads/locks/record.js';

export default class LockCheck extends DslabCommand {
  static override summary = 'Check a lock run: no two critical sections overlap, no increment was lost, fencing tokens only grew.';
  static override description =
    'Reads what the resource node observed on the running cluster (on a stopped one, what it kept in the cluster folder), or a history `dslab lock run --history FILE` saved (no cluster needed). Each violation is named in words. Exit code 1 when one is found.';
  static override examples = ['<%= config.bin %> lock check', '<%= config.bin %> lock check --history run.json --json'];
  static override flags = {
    history: Flags.string({ description: 'check this saved history instead of the running cluster', helpValue: 'FILE' }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(LockCheck);
    let report;
    if (flags.history) report = loadReport(flags.history);
    else {
      const info = findAnyCluster(dslabHome(), flags.cluster);
      if (isRunning(info)) {
        const client = this.client(info.name);
        report = await fetchReport(client, await client.status());
      } else report = stoppedClusterReport(info);
    }
    const check = checkLocks(report);
    this.log(formatLockCheck(check));
    if (!check.ok) process.exitCode = 1;
    return check;
  }
}
