import { checkHistoryFile } from '../../lib/checker/check-file.js';
import type { WorkloadPlugin } from '../../lib/plugin.js';
import { KvClient } from '../../lib/supervisor/kv-client.js';
import { Workload } from '../../lib/workload/load.js';
import { lin_kv_steps } from './steps.js';

/**
 * Maelstrom's lin-kv: read, write and cas on keys, judged linearizable. Its
 * client (sessions, retries, ok/fail/unknown outcomes), load generator and
 * checker still live in src/lib, where the supervisor and grader use them.
 */
export const lin_kv: WorkloadPlugin = {
  name: 'lin-kv',
  description: 'linearizable key-value store: read, write, cas (Maelstrom lin-kv)',
  requests: ['read', 'write', 'cas', 'delete'],
  write_requests: ['write', 'cas', 'delete'],
  checks: ['linearizable'],
  steps: lin_kv_steps,
  code: { client: KvClient, generator: Workload, checker: checkHistoryFile },
};
