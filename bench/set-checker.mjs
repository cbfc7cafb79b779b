// Benchmark of the set checker of broadcast and g-set (src/workloads/set/checker.ts) on a
// simulated broadcast run of 100,000 operations. Run `npm run build` first; then
// `node bench/set-checker.mjs`.
//
// What a set history costs is the number of elements its reads hold, not its operations: every
// read lists the whole set. Maelstrom's own 50/50 mix of adds and reads over 100,000 operations
// would put about 1.25 billion elements in the reads (a history file of gigabytes), so the
// simulated run keeps Maelstrom's shape (clients issuing operations back to back, each add
// reaching every node after a delay, reads listing what their node holds, a final read per
// client) with a read share that puts about 20 million elements in the reads.
import { pathToFileURL } from 'node:url';
import { checkSet } from '../dist/workloads/set/checker.js';
import { createRng } from '../dist/lib/util/prng.js';

export const bench_ops = 100_000;
export const bench_clients = 25;
export const bench_nodes = 25;
/** Share of operations that are reads (the rest are adds). */
export const bench_read_share = 0.004;
/** How long an add takes to reach every other node, at most. */
export const bench_spread_ms_max = 300;
export const bench_runs = 3;
export const bench_goal_ms = 1_000;
/** Quick mode (bench/run-all.js --quick): a small history, one run. */
export const sizes_quick = { ops: 5_000, runs: 1 };

/**
 * Clients issue operations back to back on their own node. An add is acknowledged after 1-5 ms and
 * reaches each other node a random delay (up to bench_spread_ms_max) after its acknowledgement; a
 * read lists the elements its node holds when it is called, in the order they were added. After
 * the run, each client reads once more (final), once everything has arrived.
 */
export function simulateBroadcastRun(seed, { ops = bench_ops, clients = bench_clients, nodes = bench_nodes, read_share = bench_read_share } = {}) {
  const rng = createRng(seed);
  const history = [];
  const free_ms = new Array(clients).fill(0);
  // Elements in order of their add, with the time each reaches each node.
  const arrivals = [];
  const values = [];
  let next_value = 0;
  const listAt = (node, t) => {
    const result = [];
    for (let i = 0; i < values.length; i++) if (arrivals[i][node] <= t) result.push(values[i]);
    return result;
  };
  const reads = [];
  for (let i = 0; i < ops; i++) {
    const client = rng.int(clients);
    const node = client % nodes;
    const call_ms = free_ms[client] + rng.next() * 2;
    const duration_ms = 1 + rng.next() * 4;
    free_ms[client] = call_ms + duration_ms;
    if (rng.next() < read_share) {
      // Filled in once every add is known: a read may see adds made after it began by other clients.
      const op = { client: `c${client}`, node: `n${node}`, f: 'read', call_ms, return_ms: call_ms + duration_ms, outcome: 'ok', final: false };
      reads.push({ op, node });
      history.push(op);
    } else {
      const value = next_value++;
      const return_ms = call_ms + duration_ms;
      const arrival = new Float64Array(nodes);
      for (let n = 0; n < nodes; n++) arrival[n] = n === node ? call_ms + duration_ms / 2 : return_ms + rng.next() * bench_spread_ms_max;
      values.push(value);
      arrivals.push(arrival);
      history.push({ client: `c${client}`, node: `n${node}`, f: 'add', value, call_ms, return_ms, outcome: 'ok' });
    }
  }
  for (const { op, node } of reads) op.result = listAt(node, op.call_ms);
  const end_ms = Math.max(...free_ms) + bench_spread_ms_max + 1;
  for (let client = 0; client < clients; client++) {
    const node = client % nodes;
    history.push({ client: `c${client}`, node: `n${node}`, f: 'read', result: listAt(node, end_ms), call_ms: end_ms, return_ms: end_ms + 1, outcome: 'ok', final: true });
  }
  return history;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export function measureSetChecker({ ops = bench_ops, runs = bench_runs } = {}) {
  const times_ms = [];
  // CPU time too: on a loaded machine wall time says more about the load than about the checker.
  const cpu_ms = [];
  let last;
  let history;
  for (let run = 0; run < runs; run++) {
    history = simulateBroadcastRun(run + 1, { ops });
    const started_ms = performance.now();
    const started_cpu = process.cpuUsage();
    last = checkSet(history, { noun: 'broadcast' });
    times_ms.push(performance.now() - started_ms);
    const cpu = process.cpuUsage(started_cpu);
    cpu_ms.push((cpu.user + cpu.system) / 1000);
    if (last.result !== 'valid') throw new Error(`benchmark history ${run + 1} checked ${last.result}: ${last.text}`);
  }
  const elements_read = history.reduce((sum, op) => sum + (op.f === 'read' ? op.result.length : 0), 0);
  return {
    ops: history.length,
    adds: last.attempt_count,
    reads: last.reads.ok,
    elements_read,
    stale: last.stale_count,
    median_ms: Math.round(median(times_ms)),
    max_ms: Math.round(Math.max(...times_ms)),
    median_cpu_ms: Math.round(median(cpu_ms)),
    runs,
  };
}

/** For bench/run-all.js: the figures and the line that says them. */
export async function benchmark(quick) {
  const figures = measureSetChecker(quick ? sizes_quick : {});
  return { figures, line: describe(figures) };
}

function describe(f) {
  return (
    `set checker, ${f.ops} ops (${f.adds} adds, ${f.reads} reads holding ${f.elements_read} elements, ${f.stale} stale): ` +
    `median ${f.median_ms} ms (max ${f.max_ms}, ${f.runs} runs; median CPU ${f.median_cpu_ms} ms); goal < ${bench_goal_ms} ms`
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log(describe(measureSetChecker()));
