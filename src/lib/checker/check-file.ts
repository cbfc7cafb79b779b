import { readFileSync, statSync } from 'node:fs';
import { UserError } from '../util/errors.js';
import { formatOperation, parseHistory } from './history.js';
import { checkHistory, type CheckResult } from './linearizability.js';

/** Largest history file read; a bigger one is refused rather than exhausting memory. */
export const history_file_bytes_max = 1024 * 1024 * 1024;

/**
 * Checks a history file. With a time origin (ms since the epoch, e.g. when a
 * test started), every operation's times are taken relative to it, so the
 * explanation and the operations read "1520.3–1524.8 ms", not epoch numbers.
 */
export function checkHistoryFile(file: string, timeout_ms: number, time_origin_ms = 0): CheckResult {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new UserError(`cannot read history file ${file}: no such file`);
  }
  if (size > history_file_bytes_max) throw new UserError(`history file ${file} is ${size} bytes; at most ${history_file_bytes_max} are read`);
  let ops;
  try {
    ops = parseHistory(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UserError(`${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (time_origin_ms !== 0) {
    ops = ops.map((op) => ({ ...op, call_ms: op.call_ms - time_origin_ms, return_ms: op.return_ms === null ? null : op.return_ms - time_origin_ms }));
  }
  return checkHistory(ops, { timeout_ms });
}

export function formatCheckResult(result: CheckResult): string {
  const where = `${result.ops_checked} operations on ${result.keys_checked} keys checked in ${Math.round(result.elapsed_ms)} ms`;
  if (result.result === 'valid') return `valid: linearizable (${where})`;
  if (result.result === 'unknown') return `unknown: ${result.reason ?? 'the check did not finish'} (${where})`;
  const violation = result.violation!;
  return [
    `invalid: key ${violation.key} is not linearizable (${violation.key_ops} operations on it; these ${violation.ops.length} cannot be ordered)`,
    ...violation.ops.map((op) => `  ${formatOperation(op)}`),
    violation.explanation,
  ].join('\n');
}
