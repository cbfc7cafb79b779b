// Benchmark of the linearizability checker: a 10,000-operation history from 10
// clients over 20 keys, produced by a simulated concurrent register with about 10%
// unknown outcomes. Run `npm run build` first; then `node bench/checker.mjs`.
import { pathToFileURL } from 'node:url';
import { checkHistory } from '../dist/workloads/lin-kv/checker.js';
import { createRng } from '../dist/lib/util/prng.js';

export const bench_ops = 10_000;
export const bench_clients = 10;
export const bench_keys = 20;
export const bench_unknown_share = 0.1;
export const bench_runs = 5;
export const bench_goal_ms = 1_000;
export const hot_key_ops_default = 2_000;
/** Quick mode (bench/run-all.js --quick): small histories, one run. */
export const sizes_quick = { ops: 500, runs: 1, hot_key_ops: 200 };

/**
 * Clients issue operations back to back; each takes effect at a random instant inside
 * its interval (an unknown one: at a random instant up to four times its length after
 * its call, or never). Applying them to a register per key in that order gives each
 * read its result and each cas its outcome, so the history is linearizable.
 */
export function simulateHistory(seed, { ops = bench_ops, clients = bench_clients, keys = bench_keys, unknown_share = bench_unknown_share } = {}) {
  const rng = createRng(seed);
  const planned = [];
  const clientFree_ms = new Array(clients).fill(0);
  const recentValues = new Map();
  let nextValue = 1;
  for (let index = 0; index < ops; index++) {
    const client = rng.int(clients);
    const key = `k${rng.int(keys)}`;
    const call_ms = clientFree_ms[client] + rng.next() * 2;
    // Mostly quick operations, with a slow tail (an election, a retry).
    const duration_ms = 0.3 + rng.next() * (rng.next() < 0.1 ? 40 : 6);
    const unknown = rng.next() < unknown_share;
    clientFree_ms[client] = call_ms + duration_ms;
    const effect_ms = unknown ? (rng.next() < 0.5 ? call_ms + rng.next() * duration_ms * 4 : null) : call_ms + rng.next() * duration_ms;
    const op = { client: `c${client + 1}`, key, call_ms, return_ms: unknown ? null : call_ms + duration_ms, outcome: unknown ? 'unknown' : 'ok' };
    const recent = recentValues.get(key) ?? [];
    const roll = rng.next();
    if (roll < 0.5) op.f = 'read';
    else if (roll < 0.75) {
      Object.assign(op, { f: 'write', value: nextValue });
      recentValues.set(key, [...recent.slice(-3), nextValue++]);
    } else if (roll < 0.95) {
      // cas from a recently written value: sometimes current, often not.
      Object.assign(op, { f: 'cas', from: recent.length > 0 ? rng.pick(recent) : 0, to: nextValue });
      recentValues.set(key, [...recent.slice(-3), nextValue++]);
    } else op.f = 'delete';
    planned.push({ op, effect_ms });
  }
  const registers = new Map();
  const applied = planned.filter((p) => p.effect_ms !== null).sort((x, y) => x.effect_ms - y.effect_ms);
  for (const { op } of applied) {
    const current = registers.get(op.key);
    if (op.f === 'read') op.result = current ?? null;
    else if (op.f === 'write') registers.set(op.key, op.value);
    else if (op.f === 'delete') registers.delete(op.key);
    else if (current === op.from) registers.set(op.key, op.to);
    else if (op.outcome === 'ok') Object.assign(op, { outcome: 'fail', error: current === undefined ? 20 : 22 });
  }
  return planned.map((p) => p.op).sort((x, y) => x.call_ms - y.call_ms);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export function measureChecker({ ops = bench_ops, runs = bench_runs } = {}) {
  const times_ms = [];
  let last;
  for (let run = 0; run < runs; run++) {
    const history = simulateHistory(run + 1, { ops });
    const started_ms = performance.now();
    last = checkHistory(history);
    times_ms.push(performance.now() - started_ms);
    if (last.result !== 'valid') throw new Error(`benchmark history ${run + 1} checked ${last.result}: ${last.reason ?? last.violation?.explanation}`);
  }
  const unknownOps = simulateHistory(1, { ops }).filter((op) => op.outcome === 'unknown').length;
  return {
    ops,
    clients: bench_clients,
    keys: bench_keys,
    unknown_ops: unknownOps,
    median_ms: Math.round(median(times_ms)),
    max_ms: Math.round(Math.max(...times_ms)),
    runs,
  };
}

/** A harder shape for reference: every client on one key. */
export function measureHotKey(ops = hot_key_ops_default) {
  const history = simulateHistory(1, { ops, keys: 1 });
  const started_ms = performance.now();
  const result = checkHistory(history, { timeout_ms: 20_000 });
  return { ops, result: result.result, ms: Math.round(performance.now() - started_ms) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const figure = measureChecker();
  console.log(
    `checker, ${figure.ops} ops / ${figure.clients} clients / ${figure.keys} keys (${figure.unknown_ops} unknown outcomes): ` +
      `median ${figure.median_ms} ms (max ${figure.max_ms}, ${figure.runs} runs); goal < ${bench_goal_ms} ms`,
  );
  const hot = measureHotKey();
  console.log(`checker, ${hot.ops} ops / ${bench_clients} clients / 1 key: ${hot.result} in ${hot.ms} ms (for reference)`);
}
