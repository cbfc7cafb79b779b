// Benchmark of the transactional checker (src/workloads/txn/checker.ts) on a simulated run of
// 100,000 transactions of up to 4 operations on 10 active keys (Maelstrom's generator), executed
// one at a time by a correct store while 10 clients overlap in time; checked against
// strict-serializable (every edge kind and cycle search on). Goal: under 10 s. Run
// `npm run build` first; then `node bench/txn-checker.mjs`.
import { pathToFileURL } from 'node:url';
import { checkTxns } from '../dist/workloads/txn/checker.js';
import { TxnGenerator } from '../dist/workloads/txn/generator.js';
import { createRng } from '../dist/lib/util/prng.js';

export const sizes_default = { txns: 100_000, runs: 3 };
export const sizes_quick = { txns: 2_000, runs: 1 };
export const bench_clients = 10;
export const goal_ms = 10_000;

/** A correct store running transactions whole, at their calls (10 clients overlapping in time). */
export function simulate(workload, count, seed = 1) {
  const rng = createRng(seed);
  const generator = new TxnGenerator(rng, { write: workload === 'list-append' ? 'append' : 'w', key_count: 10, max_txn_length: 4, max_writes_per_key: 16 });
  const store = new Map();
  const txns = [];
  const free = new Array(bench_clients).fill(0);
  // Times first: each client's transactions back to back, with gaps.
  for (let index = 0; index < count; index++) {
    const client = index % bench_clients;
    const call_ms = free[client];
    const return_ms = call_ms + 1 + rng.int(5);
    free[client] = return_ms + rng.int(3);
    txns.push({ index, client: `c${client}`, outcome: 'ok', ops: generator.next(), call_ms, return_ms });
  }
  // The store runs each transaction whole at its call: one that finished before another began ran first.
  const byCall = [...txns].sort((a, b) => a.call_ms - b.call_ms || a.index - b.index);
  for (const txn of byCall) {
    txn.ops = txn.ops.map(([f, k, v]) => {
      if (f === 'r') {
        const value = store.get(k);
        return ['r', k, value === undefined ? null : Array.isArray(value) ? [...value] : value];
      }
      store.set(k, f === 'append' ? [...(store.get(k) ?? []), v] : v);
      return [f, k, v];
    });
  }
  return txns;
}

export async function benchmark(quick = false) {
  const size = quick ? sizes_quick : sizes_default;
  const figures = {};
  for (const workload of ['list-append', 'rw-register']) {
    const txns = simulate(workload, size.txns);
    const walls = [];
    let result;
    for (let run = 0; run < size.runs; run++) {
      const started = performance.now();
      result = checkTxns(txns, workload, { models: ['strict-serializable'], timeout_ms: 120_000 });
      walls.push(Math.round(performance.now() - started));
    }
    walls.sort((a, b) => a - b);
    figures[workload] = { txns: size.txns, verdict: result.result, median_ms: walls[Math.floor(walls.length / 2)], max_ms: walls.at(-1), heap_mb: Math.round(process.memoryUsage().heapUsed / 1e6) };
  }
  const line = Object.entries(figures)
    .map(([workload, f]) => `${workload}: ${f.txns} transactions checked (strict-serializable) in median ${f.median_ms} ms, max ${f.max_ms} ms, ${f.verdict}, heap ${f.heap_mb} MB`)
    .join('; ') + `; goal < ${goal_ms} ms`;
  return { figures, line };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { line } = await benchmark(process.argv.includes('--quick'));
  console.log(line);
}
