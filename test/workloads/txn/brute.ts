// A brute-force judge of small transaction histories, for cross-checking the checker: tries every
// order of the committed transactions (and every choice of which indeterminate ones committed)
// and replays it on lists or registers; a history is serializable when some order reproduces every
// ok transaction's reads, strict-serializable when some order that also respects real time does.
import type { Txn, TxnWorkload } from '../../../src/workloads/txn/history.js';

const id = (v: unknown) => JSON.stringify(v);

function replays(order: readonly Txn[], workload: TxnWorkload): boolean {
  const state = new Map<string, unknown>();
  for (const txn of order) {
    for (const [f, key, value] of txn.ops) {
      const k = id(key);
      if (f === 'r') {
        if (txn.outcome !== 'ok') continue;
        // A list never appended to reads as nil, which is the empty list.
        const norm = (v: unknown) => (workload === 'list-append' ? (v ?? []) : (v ?? null));
        if (id(norm(value)) !== id(norm(state.get(k)))) return false;
      } else if (f === 'append') state.set(k, [...((state.get(k) as unknown[] | undefined) ?? []), value]);
      else state.set(k, value);
    }
  }
  return true;
}

function permutations<T>(items: readonly T[], admissible: (prefix: readonly T[], next: T) => boolean, visit: (order: readonly T[]) => boolean): boolean {
  const used = new Array(items.length).fill(false);
  const prefix: T[] = [];
  const step = (): boolean => {
    if (prefix.length === items.length) return visit(prefix);
    for (let i = 0; i < items.length; i++) {
      if (used[i] || !admissible(prefix, items[i]!)) continue;
      used[i] = true;
      prefix.push(items[i]!);
      if (step()) return true;
      prefix.pop();
      used[i] = false;
    }
    return false;
  };
  return step();
}

export function bruteForce(txns: readonly Txn[], workload: TxnWorkload, strict: boolean): boolean {
  const ok = txns.filter((t) => t.outcome === 'ok');
  const maybe = txns.filter((t) => t.outcome === 'unknown');
  for (let mask = 0; mask < 1 << maybe.length; mask++) {
    const committed = [...ok, ...maybe.filter((_, i) => mask & (1 << i))];
    // Real time: a transaction may not come after one that began only after it finished.
    const admissible = (prefix: readonly Txn[], next: Txn) =>
      !strict || !committed.some((other) => other !== next && !prefix.includes(other) && other.outcome === 'ok' && other.return_ms !== null && other.return_ms < next.call_ms);
    if (permutations(committed, admissible, (order) => replays(order, workload))) return true;
  }
  return false;
}
