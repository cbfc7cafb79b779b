import { readFileSync } from 'node:fs';
import type { HistoryChecker, WorkloadPlugin } from '../../lib/plugin.js';
import { errorMessage } from '../../lib/util/errors.js';
import { checkIdHistory } from './checker.js';
import { parseHistory } from './history.js';
import { ids_steps } from './steps.js';

/** The name a lab's `checks` gives the id history check. */
export const ids_check_name = 'snowflake_ids';

/** The grader's side of checker.ts: one history file of an id_load step, judged as `dslab id check` judges it. */
export const ids_history_check: HistoryChecker = {
  check(file) {
    let records;
    try {
      records = parseHistory(readFileSync(file, 'utf8'));
    } catch (error) {
      return { result: 'unknown', reason: `the history cannot be read: ${errorMessage(error)}` };
    }
    const result = checkIdHistory(records);
    if (result.valid) return { result: 'valid' };
    const ops = result.ops.ok + result.ops.fail + result.ops.unknown;
    return { result: 'invalid', violation: { key: 'ids', explanation: result.violations.join('; '), key_ops: ops, ops: [], key_history: null } };
  },
  describe: (violation, file) => `the ids break the snowflake rules (${file}): ${violation.explanation}`,
};

/**
 * Snowflake ids (src/workloads/ids): loads of generate requests whose history
 * records the workers' numbers and the faults beside the replies, and the
 * check of those histories (unique, increasing per worker, the worker's own
 * number, the right time, k-sorted). `dslab id` drives it from the command
 * line; the grader through its steps and check.
 */
export const ids_workload: WorkloadPlugin = {
  name: 'ids',
  description: 'snowflake ids: generate loads whose history is checked for unique, increasing, well-formed ids',
  requests: ['generate'],
  write_requests: [],
  checks: { [ids_check_name]: ids_history_check },
  steps: ids_steps,
};
