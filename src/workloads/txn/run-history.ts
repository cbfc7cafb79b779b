/**
 * Transaction histories as `dslab test` writes them (one JSON line per
 * completed transaction, after a header naming the workload):
 *   {"client":"c3001","node":"n0","f":"txn","value":[["r",1,null],["append",1,6]],"result":[["r",1,[3]],["append",1,6]],"call_ms":4.2,"return_ms":6,"outcome":"ok"}
 * `value` is the transaction as sent; `result` the txn_ok's completed one.
 * Read into the checker's transactions.
 */
import { fileLines, forEachHistoryRecord } from '../../lib/history-lines.js';
import { parseMicroOp, type MicroOp, type Txn } from './history.js';

/** Longest history line accepted, in characters (a transaction of reads holds whole lists). */
export const txn_line_chars_max = 64 * 1024 * 1024;
/** Most transactions one history may hold. */
export const txn_history_lines_max = 5_000_000;

export interface TxnLine {
  client: string;
  node?: string;
  value?: unknown;
  result?: unknown;
  call_ms: number;
  return_ms: number | null;
  outcome: 'ok' | 'fail' | 'unknown';
}

function microOps(raw: unknown): MicroOp[] | null {
  if (!Array.isArray(raw)) return null;
  const ops = raw.map(parseMicroOp);
  return ops.every((op): op is MicroOp => op !== null) ? ops : null;
}

/**
 * The transactions of a history's lines. An ok line's completed transaction must match what was
 * sent (same operations, keys and written values); a reply that does not is reported in `malformed`
 * and left out.
 */
export function txnsFromLines(lines: readonly TxnLine[]): { txns: Txn[]; malformed: string[] } {
  const txns: Txn[] = [];
  const malformed: string[] = [];
  for (const [position, line] of lines.entries()) {
    const sent = microOps(line.value);
    if (!sent) {
      malformed.push(`a line whose value is not a transaction: ${JSON.stringify(line.value)}`);
      continue;
    }
    let ops = sent;
    if (line.outcome === 'ok') {
      const done = microOps(line.result);
      const matches = done !== null && done.length === sent.length && done.every((op, i) => op[0] === sent[i]![0] && JSON.stringify(op[1]) === JSON.stringify(sent[i]![1]) && (op[0] === 'r' || JSON.stringify(op[2]) === JSON.stringify(sent[i]![2])));
      if (!matches) {
        malformed.push(`${line.node ?? 'a node'} answered ${JSON.stringify(sent)} with txn_ok ${JSON.stringify(line.result) ?? 'without a txn'}, which is not the same transaction completed`);
        continue;
      }
      ops = done;
    }
    txns.push({ index: txns.length, line: position, client: line.client, ...(line.node ? { node: line.node } : {}), outcome: line.outcome, ops, call_ms: line.call_ms, return_ms: line.return_ms });
  }
  return { txns, malformed };
}

/** A history file's lines (the header skipped); a line that is not a transaction is a UserError naming it. */
export function readTxnLines(file: string): TxnLine[] {
  const lines: TxnLine[] = [];
  forEachHistoryRecord(fileLines(file), { line_chars_max: txn_line_chars_max, records_max: txn_history_lines_max }, (record) => {
    const r = (typeof record === 'object' && record !== null ? record : {}) as Record<string, unknown>;
    if (typeof r.client !== 'string' || typeof r.call_ms !== 'number' || !['ok', 'fail', 'unknown'].includes(r.outcome as string)) throw new Error('not a transaction line (client, call_ms and outcome are needed)');
    lines.push(r as unknown as TxnLine);
  });
  return lines;
}
