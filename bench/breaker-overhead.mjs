// What dslab's reference circuit breaker costs per call, against two npm libraries, opossum and
// cockatiel, on the same in-process loop: one call at a time to an async function that resolves at
// once, so nearly all that is measured is the breaker's own work (and the await it wraps).
// Run `npm run build` first; then `node bench/breaker-overhead.mjs`.
//
// The variants, each on a success path (the dependency never fails, so every breaker stays closed):
//   bare            await call()                                    the loop and the await alone
//   dslab           tryAcquire, await call(), onResult              the core as the reference service drives it, two clock reads a call
//   dslab-full      + retry budget (onRequest) and bulkhead (enter/leave): the service's whole success path
//   opossum         breaker.fire() with opossum's defaults (a 10 s timeout: a timer per call)
//   opossum-notimer the same with timeout: false (no timer), the fairer match for dslab's core, which sets no timer
//   cockatiel       circuitBreaker(handleAll, SamplingBreaker 50% over 10 s).execute(call)
//   cockatiel-full  wrap(bulkhead(10), retry(2 attempts, exponential backoff), breaker).execute(call)
// CPU time per call (process.cpuUsage), the median of interleaved rounds, so a loaded machine
// slows every variant alike.
import { pathToFileURL } from 'node:url';
import { median } from './lib.mjs';

const dist = new URL('../dist/', import.meta.url);
const core = await import(new URL('systems/breaker/core/index.js', dist).href);

export const sizes_default = { calls: 200_000, rounds: 7, warmup_calls: 50_000 };
/** Quick mode (bench/run-all.js --quick): every variant runs, too briefly to mean anything. */
export const sizes_quick = { calls: 2_000, rounds: 1, warmup_calls: 500 };

const call = async () => 1;

/** Each variant: a function that makes n calls through it, one after the other, and the teardown of anything it started. */
async function makeVariants() {
  const { default: Opossum } = await import('opossum');
  const cockatiel = await import('cockatiel');
  const config = core.resolveResilienceConfig({});
  const dslabBreaker = new core.CircuitBreaker(config.breaker);
  const full = { breaker: new core.CircuitBreaker(config.breaker), bulkhead: new core.Bulkhead(config.bulkhead), retry: new core.RetryPolicy(config.retry, Math.random) };
  const opossum = new Opossum(call);
  const opossumNoTimer = new Opossum(call, { timeout: false });
  const sampling = () => new cockatiel.SamplingBreaker({ threshold: 0.5, duration: 10_000 });
  const cockatielBreaker = cockatiel.circuitBreaker(cockatiel.handleAll, { halfOpenAfter: 5000, breaker: sampling() });
  const cockatielFull = cockatiel.wrap(
    cockatiel.bulkhead(10),
    cockatiel.retry(cockatiel.handleAll, { maxAttempts: 2, backoff: new cockatiel.ExponentialBackoff() }),
    cockatiel.circuitBreaker(cockatiel.handleAll, { halfOpenAfter: 5000, breaker: sampling() }),
  );
  const variants = {
    bare: async (n) => {
      for (let i = 0; i < n; i++) await call();
    },
    dslab: async (n) => {
      for (let i = 0; i < n; i++) {
        const started = Date.now();
        const admission = dslabBreaker.tryAcquire(started);
        if (!admission.admitted) throw new Error('dslab breaker refused a call on a success path');
        await call();
        const ended = Date.now();
        dslabBreaker.onResult(ended, 'success', ended - started, admission.trial);
      }
    },
    'dslab-full': async (n) => {
      for (let i = 0; i < n; i++) {
        const started = Date.now();
        full.retry.onRequest(started);
        const admission = full.breaker.tryAcquire(started);
        if (!admission.admitted) throw new Error('dslab breaker refused a call on a success path');
        if (full.bulkhead.enter(started).kind !== 'entered') throw new Error('dslab bulkhead refused a call made one at a time');
        await call();
        const ended = Date.now();
        full.breaker.onResult(ended, 'success', ended - started, admission.trial);
        full.bulkhead.leave(ended);
      }
    },
    opossum: async (n) => {
      for (let i = 0; i < n; i++) await opossum.fire();
    },
    'opossum-notimer': async (n) => {
      for (let i = 0; i < n; i++) await opossumNoTimer.fire();
    },
    cockatiel: async (n) => {
      for (let i = 0; i < n; i++) await cockatielBreaker.execute(call);
    },
    'cockatiel-full': async (n) => {
      for (let i = 0; i < n; i++) await cockatielFull.execute(call);
    },
  };
  const teardown = () => {
    // opossum keeps a rolling-window timer per breaker.
    opossum.shutdown();
    opossumNoTimer.shutdown();
  };
  return { variants, teardown, check: () => dslabBreaker.snapshot(Date.now()).failures === 0 && full.breaker.state(Date.now()) === 'closed' };
}

export async function measureBreakerOverhead({ calls, rounds, warmup_calls } = sizes_default) {
  const { variants, teardown, check } = await makeVariants();
  try {
    for (const run of Object.values(variants)) await run(warmup_calls);
    const samples = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const [name, run] of Object.entries(variants)) {
        const before = process.cpuUsage();
        await run(calls);
        const used = process.cpuUsage(before);
        samples[name].push(((used.user + used.system) * 1000) / calls);
      }
    }
    if (!check()) throw new Error("dslab's breaker saw a failure on a loop that never fails");
    const ns = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, Math.round(median(values))]));
    const over = (name) => ns[name] - ns.bare;
    return {
      calls,
      rounds,
      ns_per_call: ns,
      /** The breaker's own cost: the variant's time per call less the bare loop's. */
      overhead_ns: Object.fromEntries(Object.keys(ns).filter((name) => name !== 'bare').map((name) => [name, over(name)])),
      ratio_dslab_to_opossum: +(ns.dslab / ns.opossum).toFixed(2),
      ratio_dslab_to_opossum_notimer: +(ns.dslab / ns['opossum-notimer']).toFixed(2),
      ratio_dslab_to_cockatiel: +(ns.dslab / ns.cockatiel).toFixed(2),
      ratio_full_to_cockatiel_full: +(ns['dslab-full'] / ns['cockatiel-full']).toFixed(2),
    };
  } finally {
    teardown();
  }
}

export function describe(f) {
  const ns = f.ns_per_call;
  return (
    `breaker overhead, ${f.calls} resolved async calls a round, median of ${f.rounds}: ns/call bare ${ns.bare}, dslab ${ns.dslab}, dslab+bulkhead+retry ${ns['dslab-full']}, ` +
    `opossum ${ns.opossum} (no timer ${ns['opossum-notimer']}), cockatiel ${ns.cockatiel}, cockatiel wrap(bulkhead, retry, breaker) ${ns['cockatiel-full']}; ` +
    `dslab/opossum ${f.ratio_dslab_to_opossum} (${f.ratio_dslab_to_opossum_notimer} without its timer), dslab/cockatiel ${f.ratio_dslab_to_cockatiel}, full/cockatiel full ${f.ratio_full_to_cockatiel_full}`
  );
}

export async function benchmark(quick) {
  const figures = await measureBreakerOverhead(quick ? sizes_quick : sizes_default);
  return { figures, line: describe(figures) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const figures = await measureBreakerOverhead();
  console.log(describe(figures));
  console.log(JSON.stringify(figures));
}
