import type { WorkloadPlugin } from '../../lib/plugin.js';
import { checkHistoryFile, formatCheckResult, linearizable_check } from './check-file.js';
import { linKvRuntime } from './runtime.js';
import { lin_kv_steps } from './steps.js';

/**
 * Maelstrom's lin-kv: read, write and cas on keys, judged linearizable. Its
 * client (client.ts: one send per operation, as Maelstrom's; ok/fail/unknown outcomes), load
 * generator (generator.ts), history format and checker (history.ts,
 * checker.ts, check-file.ts), supervisor operations (runtime.ts), grader steps
 * (steps.ts) and CLI helpers (cli.ts) are all here.
 */
export const lin_kv: WorkloadPlugin = {
  name: 'lin-kv',
  description: 'linearizable key-value store: read, write, cas (Maelstrom lin-kv)',
  requests: ['read', 'write', 'cas', 'delete'],
  write_requests: ['write', 'cas', 'delete'],
  checks: { linearizable: linearizable_check },
  steps: lin_kv_steps,
  runtime: linKvRuntime,
  checkFile(file, timeout_ms) {
    const result = checkHistoryFile(file, timeout_ms);
    return { result: result.result, text: formatCheckResult(result), details: { ...result } };
  },
};
