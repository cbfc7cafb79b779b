/**
 * History lines of the add/read workloads (broadcast, g-set, g-counter, pn-counter), shared by the
 * set checker and the counter checker. A history is JSONL, one completed client operation per line:
 *   {"type":"workload","workload":"broadcast"}                         (header: names the checker)
 *   {"client":"c3","node":"n2","f":"add","value":17,"call_ms":12,"return_ms":15,"outcome":"ok"}
 *   {"client":"c1","node":"n1","f":"read","result":[1,2,17],"call_ms":13,"return_ms":14,"outcome":"ok"}
 *   {"client":"c1","node":"n1","f":"read","result":[1,2,17],"call_ms":90,"return_ms":91,"outcome":"ok","final":true}
 * Broadcast records its `broadcast` request as f "add" (the message is `value`) and a read's `messages` as `result`.
 * Counters use the same lines with an integer `value` (the delta) and an integer `result`.
 * Outcomes mean what lin-kv's do: ok took effect once, fail definitely did not, unknown may have
 * (its return_ms is null, or ignored). Reads with "final": true ran after the faults healed.
 * Blank lines are skipped and fields not named here (node, error, …) are ignored.
 */
import { forEachHistoryRecord } from '../../lib/history-lines.js';

export type Outcome = 'ok' | 'fail' | 'unknown';

/** Fields every operation line has. */
export interface AddReadFields {
  client: string;
  call_ms: number;
  /** null when the outcome is unknown. */
  return_ms: number | null;
  outcome: Outcome;
  /** 1-based line in the history file; set by the parser. */
  line?: number;
}

/**
 * Longest history line accepted, in characters. A broadcast read lists every message the node
 * holds, so lines are long (lin-kv's 64 KiB limit would refuse a read of 10,000 messages).
 */
export const add_read_line_chars_max = 64 * 1024 * 1024;
/** Most operations one history may hold. */
export const add_read_ops_max = 5_000_000;

const outcomes: readonly string[] = ['ok', 'fail', 'unknown'];

/**
 * Checks the fields common to every operation line and returns them with the record, or throws an
 * Error saying what is wrong (without the line number; the caller adds it).
 */
export function commonFields(record: unknown): { fields: AddReadFields; f: 'add' | 'read'; record: Record<string, unknown>; final: boolean } {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new Error('expected a JSON object');
  const r = record as Record<string, unknown>;
  const { client, f, call_ms, return_ms, outcome, final } = r;
  if (typeof client !== 'string' || client === '') throw new Error('"client" must be a non-empty string');
  if (f !== 'add' && f !== 'read') throw new Error(`"f" must be add or read (got ${JSON.stringify(f)})`);
  if (typeof call_ms !== 'number' || !Number.isFinite(call_ms)) throw new Error('"call_ms" must be a finite number');
  if (typeof outcome !== 'string' || !outcomes.includes(outcome)) throw new Error(`"outcome" must be one of ok, fail, unknown (got ${JSON.stringify(outcome)})`);
  if (outcome === 'unknown') {
    // An indefinite operation has no meaningful return; a number (when the client gave up) is tolerated and ignored.
    if (return_ms !== null && return_ms !== undefined && (typeof return_ms !== 'number' || !Number.isFinite(return_ms))) {
      throw new Error('"return_ms" must be null or a finite number for outcome unknown');
    }
  } else {
    if (typeof return_ms !== 'number' || !Number.isFinite(return_ms)) throw new Error(`"return_ms" must be a finite number for outcome ${outcome}`);
    if (return_ms < call_ms) throw new Error(`"return_ms" (${return_ms}) is before "call_ms" (${call_ms})`);
  }
  if (final !== undefined && typeof final !== 'boolean') throw new Error('"final" must be true or false');
  return {
    fields: { client, call_ms, return_ms: outcome === 'unknown' ? null : (return_ms as number), outcome: outcome as Outcome },
    f,
    record: r,
    final: final === true,
  };
}

/**
 * Parses history lines into operations with `toOperation` (which throws an Error saying what is
 * wrong with a record). Skips blank lines and the workload header line. Throws a UserError naming
 * the 1-based line of the first bad line.
 */
export function parseAddReadLines<T extends AddReadFields>(lines: Iterable<string>, toOperation: (record: unknown) => T): T[] {
  const ops: T[] = [];
  forEachHistoryRecord(lines, { line_chars_max: add_read_line_chars_max, records_max: add_read_ops_max }, (record, line) => {
    const op = toOperation(record);
    op.line = line;
    ops.push(op);
  });
  return ops;
}
