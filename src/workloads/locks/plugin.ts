import type { WorkloadPlugin } from '../../lib/plugin.js';
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
};
