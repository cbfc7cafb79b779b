// Router throughput: 5 nodes flood each other through the supervisor; we count
// messages the router delivered per second over a steady window.
import { cleanup, cpuSeconds, dslab, scratch, status } from './lib.mjs';

export const sizes_default = { warmup_ms: 2000, window_ms: 10_000 };
/** Quick mode (bench/run-all.js --quick): long enough to see messages delivered, too short to mean anything. */
export const sizes_quick = { warmup_ms: 200, window_ms: 500 };

const delivered = (s) => s.links.reduce((sum, l) => sum + l.delivered, 0);

export async function measureRouterThroughput({ warmup_ms, window_ms } = sizes_default) {
  const cwd = scratch();
  const flood = new URL('./flood-node.mjs', import.meta.url).pathname;
  try {
    dslab(cwd, 'up', 'flood', '--bin', `node ${flood}`, '--nodes', '5', '--detach');
    await new Promise((r) => setTimeout(r, warmup_ms));
    const a = status(cwd);
    const cpuA = cpuSeconds(a.supervisor_pid);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, window_ms));
    const b = status(cwd);
    const seconds = (Date.now() - t0) / 1000;
    const cpuB = cpuSeconds(b.supervisor_pid);
    const dropped = b.nodes.reduce((sum, n) => sum + n.backpressure_drops, 0);
    return {
      messages_per_s: Math.round((delivered(b) - delivered(a)) / seconds),
      supervisor_cpu_share: (cpuB - cpuA) / seconds,
      backpressure_drops: dropped,
      trace_truncated: b.trace.truncated,
      trace_mb: Math.round(b.trace.bytes / 1e6),
    };
  } finally {
    cleanup(cwd);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await measureRouterThroughput());
}
