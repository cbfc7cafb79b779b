// Lock recipes side by side: acquire-and-release cycles per second and acquire
// latency (p50, p99) for each backend, with one contender alone and with five
// contending, in one run. A cycle is the whole critical section: acquire, read
// the counter at the resource, write it back, release (--hold 0ms). The
// contenders time themselves (lock_stats); the benchmark talks to them over the
// control API, and starts the contending ones' rounds at once.
import { ControlClient } from '../dist/lib/control/client.js';
import { dslabHome, findRunningCluster } from '../dist/lib/cluster/paths.js';
import { cleanup, dslabAsync, onPath, scratch } from './lib.mjs';

/**
 * Cycles one contender runs alone, and each of `contenders` contending; warmup_rounds first, not counted.
 * backends_at_once: the backends' clusters run side by side rather than one after another.
 */
export const sizes_default = { contenders: 5, rounds_alone: Number(process.env.LOCK_BENCH_ROUNDS_ALONE ?? 300), rounds_each: Number(process.env.LOCK_BENCH_ROUNDS_EACH ?? 100), warmup_rounds: 10, backends_at_once: false };
/**
 * Quick mode (bench/run-all.js --quick): a few cycles per backend, two contending, the backends at once
 * (the figures mean nothing, and starting the clusters' processes is most of the run).
 */
export const sizes_quick = { contenders: 2, rounds_alone: 5, rounds_each: 2, warmup_rounds: 1, backends_at_once: true };
/** Each backend, its `dslab up locks` flags, and the real server it needs on the PATH (zk is dslab's own Zab ensemble). */
const backends = [
  ['redis', ['--backend', 'redis'], 'redis-server'],
  ['etcd', ['--backend', 'etcd'], 'etcd'],
  ['zk', ['--backend', 'zk', '--nodes', '3'], null],
];
/** How long one measurement's rounds may take before the benchmark gives up. */
const rounds_wait_ms = 300_000;

/** How often the benchmark asks whether the contenders' rounds are done (a control API status, cheap): a quick run's rounds end well within 200 ms. */
const rounds_poll_interval_ms = 50;

/** How long one request to a contender waits for its answer. */
const send_timeout_ms = 60_000;

/** Sends a contender a body over the control API (as `dslab send` does, without a CLI start per request) and returns its reply. */
async function send(control, node, body) {
  const { reply } = await control.act({ type: 'send', dest: node, body, timeout_ms: send_timeout_ms });
  if (reply.type === 'error') throw new Error(`${node} answered ${body.type} with ${JSON.stringify(reply)}`);
  return reply;
}

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

async function waitIdle(control, ids) {
  const deadline = Date.now() + rounds_wait_ms;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`the contenders' rounds did not finish within ${rounds_wait_ms} ms`);
    const status = await control.status();
    const rows = status.nodes.filter((n) => ids.includes(n.id));
    if (rows.every((n) => n.state.rounds_left === 0 && n.state.lock_state === 'idle')) return;
    await new Promise((resolve) => setTimeout(resolve, rounds_poll_interval_ms));
  }
}

/** Runs `rounds` cycles on each of `ids` at once; the figures from their own clocks. */
async function measure(control, ids, rounds) {
  await Promise.all(ids.map((id) => send(control, id, { type: 'lock_stats', reset: true })));
  await Promise.all(ids.map((id) => send(control, id, { type: 'lock_run', rounds })));
  await waitIdle(control, ids);
  const stats = await Promise.all(ids.map((id) => send(control, id, { type: 'lock_stats', reset: true })));
  const latencies = stats.flatMap((s) => s.acquire_ms).sort((a, b) => a - b);
  const cycles = stats.reduce((sum, s) => sum + s.cycles, 0);
  const span_ms = Math.max(...stats.map((s) => s.last_end_ms)) - Math.min(...stats.map((s) => s.first_start_ms));
  return { cycles, cycles_per_s: Math.round((cycles / span_ms) * 1000), p50_ms: percentile(latencies, 50), p99_ms: percentile(latencies, 99) };
}

/** The backends whose real server is missing from the PATH, with why: they are skipped. */
export function missingBackends() {
  return backends.filter(([, , server]) => server && !onPath(server)).map(([backend, , server]) => ({ backend, reason: `${server} is not installed` }));
}

/** One backend's figures: its own cluster, one contender alone, then all of them contending, then the lock check. */
async function measureBackend(backend, flags, { contenders, rounds_alone, rounds_each, warmup_rounds }) {
  const cwd = scratch();
  try {
    await dslabAsync(cwd, 'up', 'locks', '--contenders', String(contenders), '--hold', '0ms', '--ttl', '5s', '--detach', ...flags);
    const control = new ControlClient(findRunningCluster(dslabHome(cwd)));
    // A few cycles first: connections open, the zk sessions settle.
    await measure(control, ['k1'], warmup_rounds);
    const alone = await measure(control, ['k1'], rounds_alone);
    const all = await measure(control, Array.from({ length: contenders }, (_, i) => `k${i + 1}`), rounds_each);
    const check = JSON.parse(await dslabAsync(cwd, 'lock', 'check', '--json'));
    return { backend, contenders, alone, contended: all, check_ok: check.ok };
  } finally {
    cleanup(cwd);
  }
}

export async function measureLocks(sizes = sizes_default) {
  const missing = new Set(missingBackends().map((m) => m.backend));
  const present = backends.filter(([backend]) => !missing.has(backend));
  if (sizes.backends_at_once) {
    // Every backend to its end (its cluster taken down) before a failure is reported.
    const settled = await Promise.allSettled(present.map(([backend, flags]) => measureBackend(backend, flags, sizes)));
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((s) => s.value);
  }
  const results = [];
  for (const [backend, flags] of present) results.push(await measureBackend(backend, flags, sizes));
  return results;
}

export function formatLocks(results) {
  const lines = ['backend  contenders  cycles/s  acquire p50  acquire p99  check'];
  for (const r of results) {
    for (const [label, m] of [['1', r.alone], [String(r.contenders), r.contended]]) {
      lines.push(`${r.backend.padEnd(8)} ${label.padStart(10)}  ${String(m.cycles_per_s).padStart(8)}  ${`${m.p50_ms.toFixed(1)} ms`.padStart(11)}  ${`${m.p99_ms.toFixed(1)} ms`.padStart(11)}  ${r.check_ok ? 'ok' : 'VIOLATED'}`);
    }
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(formatLocks(await measureLocks()));
}
