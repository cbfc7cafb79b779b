/**
 * lin-kv under `dslab test`: the runner's history lines (the operation's
 * arguments in `value`) as the linearizability checker's operations, every
 * key fresh (each run starts a new cluster), and its result in words.
 */
import type { HistoryFileCheck } from '../../lib/plugin.js';
import { checkHistory } from '../../workloads/lin-kv/checker.js';
import { formatCheckResult } from '../../workloads/lin-kv/check-file.js';
import type { Operation, Value } from '../../workloads/lin-kv/history.js';
import type { RunHistoryEntry } from './result.js';

function isValue(value: unknown): value is Value {
  return typeof value === 'number' || typeof value === 'string';
}

/** The checker's operation for one line; null for a line it cannot judge (an ok read whose value is neither a number, a string nor null is one). */
export function linKvOperation(entry: RunHistoryEntry): Operation | null {
  const args = (entry.value ?? {}) as Record<string, unknown>;
  const fields = { client: entry.client, key: JSON.stringify(args.key), call_ms: entry.call_ms, return_ms: entry.return_ms, outcome: entry.outcome, ...(entry.error !== undefined ? { error: entry.error } : {}) };
  switch (entry.f) {
    case 'read': {
      if (entry.outcome !== 'ok') return { ...fields, f: 'read' };
      const result = entry.result === undefined ? null : entry.result;
      if (result !== null && !isValue(result)) return null;
      return { ...fields, f: 'read', result };
    }
    case 'write':
      return isValue(args.value) ? { ...fields, f: 'write', value: args.value } : null;
    case 'cas':
      return isValue(args.from) && isValue(args.to) ? { ...fields, f: 'cas', from: args.from, to: args.to } : null;
    default:
      return null;
  }
}

export function checkLinKvEntries(entries: readonly RunHistoryEntry[], timeout_ms: number): HistoryFileCheck {
  const ops: Operation[] = [];
  const odd: RunHistoryEntry[] = [];
  for (const entry of entries) {
    const op = linKvOperation(entry);
    if (op) ops.push(op);
    else odd.push(entry);
  }
  if (odd.length > 0) {
    const first = odd[0]!;
    return { result: 'invalid', text: `${odd.length} read_ok replies held a value that is neither a number, a string nor null (first: ${first.node} answered ${JSON.stringify(first.result)})`, details: { malformed: odd.length } };
  }
  const result = checkHistory(ops, { timeout_ms, initial_state: () => 'absent' });
  const text = formatCheckResult({ ...result, declares_keys: true });
  return { result: result.result, text, details: { ...result } };
}
