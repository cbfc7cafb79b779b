import type { WorkloadPlugin } from '../../lib/plugin.js';
import { checkLocks } from '../../systems/locks/checker.js';
import { answerOf, fetchReportWith, formatLockCheck, isLocksCluster, lock_request_timeout_ms } from './client.js';
import { locks_checks, locks_steps } from './steps.js';

/** The lock workload: contenders' critical sections over a shared counter, judged from what the resource observed (checker.ts). */
export const locks_workload: WorkloadPlugin = {
  name: 'locks',
  description: 'contenders increment a shared counter under a lock; the resource records every read and write',
  requests: ['lock_run', 'lock_stop', 'lock_info', 'lock_counter', 'lock_stats', 'lock_report'],
  write_requests: [],
  // `dslab lock check` runs checker.ts on the resource's report; a lab's lock steps save that report for these checks.
  checks: locks_checks,
  steps: locks_steps,
  // At `down`: the lock check of everything r1 observed, as `dslab lock check` says it.
  async closingCheck(host, status) {
    // A node of another program run under the locks label (--bin) has no resource to ask.
    if (!isLocksCluster(status)) return null;
    const client = host.takeClientId();
    try {
      const report = await fetchReportWith(async (dest, body) => answerOf(dest, body.type, await host.transport.request(client, dest, body, lock_request_timeout_ms)), status);
      if (report.observations.length === 0 && report.dropped === 0) return null;
      const check = checkLocks(report);
      return { result: check.ok ? 'valid' : 'invalid', text: `lock check: ${formatLockCheck(check)}`, details: { ...check } };
    } finally {
      host.releaseClientId(client);
    }
  },
};
