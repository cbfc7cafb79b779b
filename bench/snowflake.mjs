// Snowflake ids: (1) one worker's core in process, as fast as it goes against the layout's limit of
// 4,096 ids per ms; (2) one worker through the router, batches of 1,000 ids asked over the control
// API by several concurrent requests; (3) the latency of a single `generate` through the same path.
// Every run checks that no id came back twice.
import { cleanup, cpuSeconds, dslab, median, scratch, status } from './lib.mjs';

const dist = new URL('../dist/', import.meta.url);
const { IdGenerator } = await import(new URL('systems/snowflake/core/generator.js', dist).href);
const { epoch_ms_default } = await import(new URL('systems/snowflake/core/ids.js', dist).href);
const { default_layout } = await import(new URL('systems/snowflake/core/layout.js', dist).href);
const { ControlClient } = await import(new URL('lib/control/client.js', dist).href);
const { dslabHome, findRunningCluster } = await import(new URL('lib/cluster/paths.js', dist).href);

export const router_batch = 1000;
export const router_concurrency = 16;
/** warmup_batches are asked before the router window and not counted. */
export const sizes_default = { core_window_ms: 2000, router_window_ms: 5000, latency_requests: 300, warmup_batches: 20 };
/** Quick mode (bench/run-all.js --quick): every path runs once or twice, too briefly to mean anything. */
export const sizes_quick = { core_window_ms: 100, router_window_ms: 300, latency_requests: 10, warmup_batches: 2 };
const ids_per_ms_limit = 2 ** default_layout.sequence_bits;

/** One generator asked for ids in a tight loop on the real clock; waits for the next ms spin, as the worker's would. */
export function measureCore(window_ms = sizes_default.core_window_ms) {
  const generator = new IdGenerator({ layout: default_layout, epoch_ms: epoch_ms_default, datacenter: 1, worker: 1, max_backward_ms: 5 });
  const start = Date.now();
  const end = start + window_ms;
  let last = -1n;
  let count = 0;
  let duplicates = 0;
  for (let now = start; now < end; now = Date.now()) {
    // A run of calls per clock read: the clock read costs as much as an id.
    for (let i = 0; i < 256; i++) {
      const step = generator.next(now);
      if (step.kind !== 'id') break;
      if (step.id <= last) duplicates++;
      last = step.id;
      count++;
    }
  }
  const elapsed_ms = Date.now() - start;
  const ids_per_s = Math.round((count * 1000) / elapsed_ms);
  return { ids_per_s, share_of_limit: ids_per_s / (ids_per_ms_limit * 1000), duplicates };
}

/** Orders two ids given as decimal strings without leading zeros (as the worker writes them): by length, then by digits. */
function compareIds(a, b) {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

export async function measureRouter({ router_window_ms, latency_requests, warmup_batches } = sizes_default) {
  const cwd = scratch();
  try {
    dslab(cwd, 'up', 'snowflake', '--workers', '1', '--coordinator', '1', '--worker-numbers', 'static', '--detach');
    const control = new ControlClient(findRunningCluster(dslabHome(cwd)));
    const ask = async (count) => {
      const body = count === undefined ? { type: 'generate' } : { type: 'generate', count };
      const result = await control.act({ type: 'send', dest: 'w1', body, timeout_ms: 10_000 });
      if (result.reply.type !== 'generate_ok') throw new Error(`w1 answered ${JSON.stringify(result.reply)}`);
      return count === undefined ? [result.reply.id] : result.reply.ids;
    };
    // Warm-up.
    for (let i = 0; i < warmup_batches; i++) await ask(router_batch);
    // CPU per batch, from /proc: what each process spends is steadier than ids/s on a machine shared with other work.
    const supervisor_pid = findRunningCluster(dslabHome(cwd)).supervisor_pid;
    const worker_pid = status(cwd).nodes.find((n) => n.id === 'w1').pid;
    const cpuBefore = { supervisor: cpuSeconds(supervisor_pid), worker: cpuSeconds(worker_pid), client: process.cpuUsage() };
    // Duplicates: each batch is checked to increase as it arrives and only its first and last id are kept;
    // batches that each increase and whose ranges do not overlap hold no id twice. Keeping every id
    // (16 million strings) would make the benchmark's own garbage collection the figure.
    const ranges = [];
    let duplicates = 0;
    const start = Date.now();
    const end = start + router_window_ms;
    await Promise.all(
      Array.from({ length: router_concurrency }, async () => {
        while (Date.now() < end) {
          const ids = await ask(router_batch);
          if (ids.length !== router_batch) throw new Error(`w1 answered ${ids.length} ids, asked for ${router_batch}`);
          for (let i = 1; i < ids.length; i++) if (compareIds(ids[i - 1], ids[i]) >= 0) duplicates++;
          ranges.push([ids[0], ids[ids.length - 1]]);
        }
      }),
    );
    const elapsed_ms = Date.now() - start;
    const client = process.cpuUsage(cpuBefore.client);
    const per_batch_us = (seconds) => Math.round((seconds * 1e6) / ranges.length);
    const cpu_us_per_batch = {
      supervisor: per_batch_us(cpuSeconds(supervisor_pid) - cpuBefore.supervisor),
      worker: per_batch_us(cpuSeconds(worker_pid) - cpuBefore.worker),
      client: per_batch_us((client.user + client.system) / 1e6),
    };
    ranges.sort((a, b) => compareIds(a[0], b[0]));
    for (let i = 1; i < ranges.length; i++) if (compareIds(ranges[i - 1][1], ranges[i][0]) >= 0) duplicates++;
    const ids = ranges.length * router_batch;
    // Latency: one request at a time.
    const latencies = [];
    const seen = new Set();
    for (let i = 0; i < latency_requests; i++) {
      const t0 = process.hrtime.bigint();
      const [id] = await ask(undefined);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (seen.has(id)) duplicates++;
      seen.add(id);
    }
    latencies.sort((a, b) => a - b);
    return {
      ids_per_s: Math.round((ids * 1000) / elapsed_ms),
      batches: ranges.length,
      cpu_us_per_batch,
      duplicates,
      latency_ms: { median: median(latencies), p99: latencies[Math.floor(latencies.length * 0.99)] },
    };
  } finally {
    cleanup(cwd);
  }
}

export async function measureSnowflake(sizes = sizes_default) {
  return { core: measureCore(sizes.core_window_ms), router: await measureRouter(sizes) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await measureSnowflake(), null, 2));
}
