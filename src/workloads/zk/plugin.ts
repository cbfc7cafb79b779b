import type { WorkloadPlugin } from '../../lib/plugin.js';
import { checkZkFile, zk_linearizable_check } from './check-file.js';
import { zkRuntime } from './control.js';
import { zk_workload_steps } from './steps.js';

/**
 * ZooKeeper's client protocol as the Zab coordinator speaks it (README "Zab"): sessions, znodes,
 * watches. Its client is client.ts (the supervisor's `dslab zk`, snowflake workers and lock contenders
 * all use it); its control operations (control.ts) are what `dslab zk` runs in the supervisor; its
 * history check (zk_linearizable) judges the histories of `dslab zk load` and the grader's zk_load step.
 */
export const zk_workload: WorkloadPlugin = {
  name: 'zk',
  description: 'ZooKeeper-style coordination: sessions, znodes (ephemeral, sequential), versions and watches',
  requests: ['connect', 'ping', 'close_session', 'create', 'delete', 'exists', 'get_data', 'set_data', 'get_children', 'sync', 'list_sessions'],
  // What goes through the leader as a txn (a new session's connect too, but a reconnect does not).
  write_requests: ['create', 'delete', 'set_data', 'close_session'],
  checks: { zk_linearizable: zk_linearizable_check },
  checkFile: checkZkFile,
  steps: zk_workload_steps,
  runtime: zkRuntime,
};
