// The supervisor's CPU cost per request for the breaker system under an open-loop load of 2,000
// requests/s: `dslab up breaker --detach` (3 services, d1 with room to spare, so every request is a
// call to d1 and back), `dslab breaker load --rate 2000`, and the supervisor process's CPU time from
// /proc over the load, divided by the requests it carried. Each request is four routed messages (the
// call, its work call to d1, d1's answer, the reply), each traced; the load's clients run inside the
// supervisor too, so their cost is in the figure. Its idle cost (state reports, rates) over the same
// time is measured first, for scale. Run `npm run build` first; then `node bench/breaker-supervisor.mjs`.
import { pathToFileURL } from 'node:url';
import { cleanup, cpuSeconds, dslab, dslabAsync, scratch, status } from './lib.mjs';

/** d1 serves up to capacity / service time requests a second: far above the load, so no request waits or fails. */
export const sizes_default = { rate_per_s: 2000, duration_s: 20, idle_s: 5, capacity: 200, service_time: '1ms' };
/** Quick mode (bench/run-all.js --quick): every part runs, too briefly to mean anything. */
export const sizes_quick = { rate_per_s: 200, duration_s: 1, idle_s: 0.3, capacity: 200, service_time: '1ms' };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function measureBreakerSupervisor(size = sizes_default) {
  const cwd = scratch();
  try {
    dslab(cwd, 'up', 'breaker', '--services', '3', '--capacity', String(size.capacity), '--service-time', size.service_time, '--detach');
    const pid = status(cwd).supervisor_pid;
    const idleBefore = cpuSeconds(pid);
    const idleStarted = performance.now();
    await sleep(size.idle_s * 1000);
    const idle_cpu_share = (cpuSeconds(pid) - idleBefore) / ((performance.now() - idleStarted) / 1000);
    const before = cpuSeconds(pid);
    const started = performance.now();
    const stats = JSON.parse(await dslabAsync(cwd, 'breaker', 'load', '--rate', String(size.rate_per_s), '--duration', `${size.duration_s}s`, '--json'));
    const cpu_s = cpuSeconds(pid) - before;
    const wall_s = (performance.now() - started) / 1000;
    const requests = stats.completed;
    if (!(requests > 0)) throw new Error(`the load completed no request: ${JSON.stringify(stats)}`);
    return {
      rate_per_s: size.rate_per_s,
      duration_s: size.duration_s,
      requests,
      ok: stats.ok,
      // Every outcome the services answered with (rejected by a bulkhead, failed, timeout …), so a figure of a load that went wrong is not taken for a clean one.
      outcomes: Object.fromEntries(Object.entries(stats.outcomes?.counts ?? {}).filter(([, n]) => n > 0)),
      ok_latency_ms: stats.outcomes?.latency_ms?.ok ?? null,
      supervisor_cpu_s: Math.round(cpu_s * 100) / 100,
      cpu_us_per_request: Math.round((cpu_s / requests) * 1e6 * 10) / 10,
      cpu_share: Math.round((cpu_s / wall_s) * 1000) / 1000,
      idle_cpu_share: Math.round(idle_cpu_share * 1000) / 1000,
      wall_s: Math.round(wall_s * 10) / 10,
    };
  } finally {
    cleanup(cwd);
  }
}

export function describe(r) {
  return (
    `breaker supervisor under an open-loop load of ${r.rate_per_s} requests/s for ${r.duration_s} s (3 services, d1): ` +
    `${r.cpu_us_per_request} µs of supervisor CPU per request (${r.requests} requests: ${Object.entries(r.outcomes).map(([k, n]) => `${k} ${n}`).join(', ')}; ok p50 ${r.ok_latency_ms?.p50} ms, p99 ${r.ok_latency_ms?.p99} ms), ` +
    `${r.cpu_share} of a core over the load's ${r.wall_s} s; idle ${r.idle_cpu_share} of a core`
  );
}

export async function benchmark(quick = false) {
  const figures = await measureBreakerSupervisor(quick ? sizes_quick : sizes_default);
  return { figures, line: describe(figures) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { line } = await benchmark(process.argv.includes('--quick'));
  console.log(line);
}
