import { readFileSync, statSync } from 'node:fs';
import type { HistoryChecker, HistoryOperation, HistoryVerdict } from '../../lib/plugin.js';
import { UserError } from '../../lib/util/errors.js';
import { checkHistory, type CheckResult } from './checker.js';
import { load_op_timeout_ms } from './generator.js';
import { formatOperation, formatValue, initialStates, type Operation, parseHistory, type ParsedHistory } from './history.js';

/** Largest history file read; a bigger one is refused rather than exhausting memory. */
export const history_file_bytes_max = 1024 * 1024 * 1024;
/** A history larger than this is not re-read for the report's context operations; only the violation's own are shown. */
export const history_context_bytes_max = 256 * 1024 * 1024;

export interface CheckFileResult extends CheckResult {
  /** Whether the history declares its keys (and so whether they were fresh); without, every key is assumed to start absent. */
  declares_keys: boolean;
}

/**
 * Checks a history file. With a time origin (ms since the epoch, e.g. when a
 * test started), every operation's times are taken relative to it, so the
 * explanation and the operations read "1520.3–1524.8 ms", not epoch numbers.
 */
export function checkHistoryFile(file: string, timeout_ms: number, time_origin_ms = 0): CheckFileResult {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new UserError(`cannot read history file ${file}: no such file`);
  }
  if (size > history_file_bytes_max) throw new UserError(`history file ${file} is ${size} bytes; at most ${history_file_bytes_max} are read`);
  let history: ParsedHistory;
  try {
    history = parseHistory(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UserError(`${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  let ops = history.ops;
  if (time_origin_ms !== 0) {
    ops = ops.map((op) => ({ ...op, call_ms: op.call_ms - time_origin_ms, return_ms: op.return_ms === null ? null : op.return_ms - time_origin_ms }));
  }
  const result = checkHistory(ops, { timeout_ms, initial_state: initialStates(history.declarations) });
  return { ...result, declares_keys: history.declarations.length > 0 };
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** How the keys were assumed to start, e.g. "keys started absent (fresh)". */
function describeStart(result: CheckFileResult): string {
  if (!result.declares_keys) return 'every key assumed to start absent: the history declares no keys';
  const { keys_starting_absent: absent, keys_starting_unknown: unknown } = result;
  if (unknown === 0) return 'keys fresh: each started absent';
  if (absent === 0) return 'keys not fresh: each started with an unknown value';
  return `${absent} fresh keys started absent, ${unknown} with an unknown value`;
}

export function formatCheckResult(result: CheckFileResult): string {
  const where = `${plural(result.ops_checked, 'operation', 'operations')} on ${plural(result.keys_checked, 'key', 'keys')} checked in ${Math.round(result.elapsed_ms)} ms`;
  const start = result.keys_checked > 0 ? `; ${describeStart(result)}` : '';
  if (result.result === 'valid') return `valid: linearizable (${where}${start})`;
  if (result.result === 'unknown') return `unknown: ${result.reason ?? 'the check did not finish'} (${where})`;
  const violation = result.violation!;
  const these = violation.ops.length === 1 ? 'this one cannot be linearized' : `these ${violation.ops.length} cannot be ordered`;
  const lines = [
    `invalid: key ${violation.key} is not linearizable (${plural(violation.key_ops, 'operation', 'operations')} on it; ${these})`,
    ...violation.ops.map((op) => `  ${formatOperation(op)}`),
    violation.explanation,
  ];
  if (!result.declares_keys && violation.initial === 'absent') {
    lines.push(
      'The history declares no keys, so each key was assumed to start absent. If the cluster already held data under these keys, ' +
        'add a line {"type":"keys","keys":[],"fresh":false} to check them with unknown initial values (dslab load writes such a line itself).',
    );
  }
  return lines.join('\n');
}

function describeAction(op: Operation): string {
  switch (op.f) {
    case 'read':
      return `read ${op.key}`;
    case 'write':
      return `write ${op.key} ${formatValue(op.value)}`;
    case 'cas':
      return `cas ${op.key} from ${formatValue(op.from)} to ${formatValue(op.to)}`;
    case 'delete':
      return `delete ${op.key}`;
  }
}

function describeResult(op: Operation): string {
  if (op.outcome === 'ok') return op.f === 'read' ? `ok: ${formatValue(op.result)}` : 'ok';
  if (op.outcome === 'fail') return `failed${op.error !== undefined ? ` (error ${op.error})` : ''}`;
  return 'unknown (no answer)';
}

/** A kv operation as the grader's reports show any workload's (an operation with no answer ends when the load generator gave up on it). */
export function historyOperation(op: Operation): HistoryOperation {
  return {
    ...(op.line === undefined ? {} : { line: op.line }),
    client: op.client,
    key: op.key,
    action: describeAction(op),
    result: describeResult(op),
    text: formatOperation(op),
    outcome: op.outcome,
    call_ms: op.call_ms,
    return_ms: op.return_ms,
    end_ms: op.return_ms ?? op.call_ms + load_op_timeout_ms,
  };
}

/** The operations on a key in a history file, times moved to the origin; null if the file is too large or cannot be read. */
export function keyOperations(file: string, key: string, origin_ms: number): Operation[] | null {
  try {
    if (statSync(file).size > history_context_bytes_max) return null;
    const needle = `"key":${JSON.stringify(key)}`;
    const ops: Operation[] = [];
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, index) => {
        if (!line.includes(needle)) return;
        const [op] = parseHistory(line).ops;
        if (op?.key !== key) return;
        ops.push({ ...op, line: index + 1, call_ms: op.call_ms - origin_ms, return_ms: op.return_ms === null ? null : op.return_ms - origin_ms });
      });
    return ops;
  } catch {
    return null;
  }
}

/** lin-kv's `linearizable` check, as the grader runs it over each history a load step wrote. */
export const linearizable_check: HistoryChecker = {
  check(file: string, timeout_ms: number, time_origin_ms: number): HistoryVerdict {
    const result = checkHistoryFile(file, timeout_ms, time_origin_ms);
    if (result.result !== 'invalid') return { result: result.result, ...(result.reason === undefined ? {} : { reason: result.reason }) };
    const violation = result.violation!;
    const key_history = keyOperations(file, violation.key, time_origin_ms);
    return {
      result: 'invalid',
      violation: { key: violation.key, explanation: violation.explanation, key_ops: violation.key_ops, ops: violation.ops.map(historyOperation), key_history: key_history?.map(historyOperation) ?? null },
    };
  },
};
