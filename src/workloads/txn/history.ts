/**
 * Transactions as Maelstrom's txn-list-append and txn-rw-register send them
 * and as the transactional checker reads them. A transaction is a list of
 * micro-operations `[f, key, value]`:
 *   ["r", 5, [1, 2]]      a read of key 5 (list-append: the list; rw-register: the value; null: absent)
 *   ["append", 5, 3]      list-append: add 3 to the end of key 5's list
 *   ["w", 5, 3]           rw-register: set key 5 to 3
 * An ok transaction's reads carry what they saw; a failed or indeterminate
 * one's reads carry nothing (what it read is unknown). Appended and written
 * values are unique per key (the generator makes them so).
 */

export type TxnKey = number | string;
export type MicroOp = ['r', TxnKey, unknown] | ['append', TxnKey, unknown] | ['w', TxnKey, unknown];

export type TxnOutcome = 'ok' | 'fail' | 'unknown';

/** One completed transaction of a history. */
export interface Txn {
  /** Its position among the history's transactions, from 0: the checker names it T<index>. */
  index: number;
  /** Its position among the history file's operation lines (from 0), when it came from one. */
  line?: number;
  client: string;
  node?: string;
  outcome: TxnOutcome;
  ops: MicroOp[];
  /** ms since the run began; return_ms null when no answer came. */
  call_ms: number;
  return_ms: number | null;
}

export type TxnWorkload = 'list-append' | 'rw-register';

/** A key as one string for maps: 5 and "5" stay apart. */
export function keyId(key: TxnKey): string {
  return typeof key === 'number' ? `#${key}` : `"${key}`;
}

export function formatKey(key: TxnKey): string {
  return typeof key === 'number' ? String(key) : JSON.stringify(key);
}

export function formatValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(formatValue).join(' ')}]`;
  if (value === null || value === undefined) return 'nil';
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

export function formatMicroOp(op: MicroOp): string {
  return `${op[0]} ${formatKey(op[1])} ${formatValue(op[2])}`;
}

/** "T12 (c3, ok: append 7 4, r 8 [1 2])". */
export function describeTxn(txn: Txn): string {
  return `T${txn.index} (${txn.client}${txn.outcome === 'ok' ? '' : `, ${txn.outcome === 'fail' ? 'failed' : 'indeterminate'}`}: ${txn.ops.map(formatMicroOp).join(', ')})`;
}

/** A micro-op read from JSON, or null when it is not one of the three shapes. */
export function parseMicroOp(raw: unknown): MicroOp | null {
  if (!Array.isArray(raw) || raw.length !== 3) return null;
  const [f, key, value] = raw as [unknown, unknown, unknown];
  if (typeof key !== 'number' && typeof key !== 'string') return null;
  if (f === 'r' || f === 'append' || f === 'w') return [f, key, value] as MicroOp;
  return null;
}
