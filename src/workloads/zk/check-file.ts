import { readFileSync, statSync } from 'node:fs';
import type { HistoryChecker, HistoryFileCheck, HistoryOperation, HistoryVerdict } from '../../lib/plugin.js';
import { UserError } from '../../lib/util/errors.js';
import { checkZkHistory, formatZkCheckResult, type ZkCheckResult } from './checker.js';
import { formatZkOperation, parseZkHistory, type ZkOperation } from './history.js';

/** Largest history file read. */
export const zk_history_file_bytes_max = 512 * 1024 * 1024;

/** Checks a zk history file; times taken relative to time_origin_ms (e.g. a test's start). */
export function checkZkHistoryFile(file: string, timeout_ms: number, time_origin_ms = 0): ZkCheckResult & { ops: ZkOperation[] } {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new UserError(`cannot read history file ${file}: no such file`);
  }
  if (size > zk_history_file_bytes_max) throw new UserError(`history file ${file} is ${size} bytes; at most ${zk_history_file_bytes_max} are read`);
  const history = parseZkHistory(readFileSync(file, 'utf8'));
  if (history.declarations.some((d) => !d.fresh)) throw new UserError(`${file}: the znode checker needs fresh znodes (a znodes line with "fresh": true); this history reuses old ones`);
  const ops = time_origin_ms === 0 ? history.ops : history.ops.map((op) => ({ ...op, call_ms: op.call_ms - time_origin_ms, return_ms: op.return_ms === null ? null : op.return_ms - time_origin_ms }));
  return { ...checkZkHistory(ops, { timeout_ms }), ops };
}

/** A zk operation as the grader's reports show any workload's. */
export function zkHistoryOperation(op: ZkOperation): HistoryOperation {
  const text = formatZkOperation(op);
  const arrow = text.lastIndexOf(' → ');
  return {
    ...(op.line === undefined ? {} : { line: op.line }),
    client: op.client,
    key: op.path,
    action: `${op.f} ${op.path}`,
    result: arrow >= 0 ? text.slice(arrow + 3, text.lastIndexOf(',')) : op.outcome,
    text,
    outcome: op.outcome,
    call_ms: op.call_ms,
    return_ms: op.return_ms,
    end_ms: op.return_ms ?? op.call_ms,
  };
}

/** `zk_linearizable`: writes linearizable per znode, each session's reads sequentially consistent. */
export const zk_linearizable_check: HistoryChecker = {
  check(file: string, timeout_ms: number, time_origin_ms: number): HistoryVerdict {
    const result = checkZkHistoryFile(file, timeout_ms, time_origin_ms);
    if (result.result !== 'invalid') return { result: result.result, ...(result.reason === undefined ? {} : { reason: result.reason }) };
    const v = result.violation!;
    const key_history = v.kind === 'linearizable' ? result.ops.filter((op) => op.path === v.key) : result.ops.filter((op) => op.session === v.key);
    return { result: 'invalid', violation: { key: v.key, explanation: v.explanation, key_ops: v.key_ops, ops: v.ops.map(zkHistoryOperation), key_history: key_history.map(zkHistoryOperation) } };
  },
};

/** What `dslab check FILE` runs on a zk history. */
export function checkZkFile(file: string, timeout_ms: number): HistoryFileCheck {
  const { ops: _ops, ...result } = checkZkHistoryFile(file, timeout_ms);
  return { result: result.result, text: formatZkCheckResult(result), details: result };
}
