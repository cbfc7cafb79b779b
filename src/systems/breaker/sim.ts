// The breaker system's core under a seeded simulation: one service's breaker, bulkhead and retry
// policy calling a dependency whose health changes, on virtual time. No real I/O, clock or randomness.

/**
 * A seeded run of one service: requests arrive at random (Poisson) on virtual
 * time and go through the core as the reference service does (retry budget,
 * breaker, bulkhead, the dependency, retries with backoff), while the
 * dependency goes through phases: healthy, erroring, slow, hanging. After every
 * event the run checks the core's safety rules from the outside, with a window
 * of its own kept plainly (a list of outcomes): the breaker opens exactly when
 * the window holds min_calls and a rate reaches its threshold; no call is let
 * through while open; it half-opens when the wait is over; half-open admits at
 * most half_open_calls trials, reopens on a failed one and closes only after
 * all succeeded; the bulkhead never holds more than max nor rejects with a
 * permit free; retries stay within the budget. A broken rule throws
 * BreakerSimFailure naming the seed, the rule and the numbers.
 */
import type { SystemSimulator } from '../../lib/plugin.js';
import { Scheduler } from '../../lib/sim/scheduler.js';
import { createRng, draws, type Draws } from '../../lib/util/prng.js';
import { type BreakerConfig, type BreakerState, Bulkhead, type CallResult, CircuitBreaker, preset_configs, preset_names, type ResilienceConfig, retry_budget_buckets, RetryPolicy } from './core/index.js';

export interface BreakerSimConfig {
  seed: number;
  config: ResilienceConfig;
  /** Virtual time the run lasts, and the mean request rate. */
  duration_ms: number;
  rate_per_s: number;
  /** A share of requests that are bad (the dependency refuses them: ignored by the breaker). */
  bad_pct: number;
  planted_bug: string | null;
}

export interface BreakerSimStats {
  requests: number;
  ok: number;
  failed: number;
  short_circuited: number;
  rejected: number;
  bad_request: number;
  dependency_calls: number;
  retries: number;
  opened: number;
  closed: number;
}

export class BreakerSimFailure extends Error {
  constructor(
    readonly seed: number,
    readonly rule: string,
    problem: string,
  ) {
    super(`seed ${seed}: ${rule}: ${problem}`);
  }
}

/** One recorded outcome, as the breaker's window should hold it. */
export interface PlainOutcome {
  at_ms: number;
  failed: boolean;
  slow: boolean;
}

/**
 * What a breaker's window holds at now_ms, worked out plainly from every
 * outcome recorded since it last closed: the last window_calls of them, or
 * those whose bucket (floor(at / bucket_ms)) is one of the last window_buckets.
 */
export function plainWindowCounts(outcomes: readonly PlainOutcome[], config: BreakerConfig, now_ms: number): { calls: number; failures: number; slow: number } {
  let kept = outcomes;
  if (config.window_kind === 'count') kept = kept.slice(-config.window_calls);
  else {
    const bucket_ms = config.window_ms / config.window_buckets;
    const now_bucket = Math.floor(now_ms / bucket_ms);
    kept = kept.filter((o) => Math.floor(o.at_ms / bucket_ms) > now_bucket - config.window_buckets);
  }
  return { calls: kept.length, failures: kept.filter((o) => o.failed).length, slow: kept.filter((o) => o.slow).length };
}

/** Whether a window of these counts opens a breaker of this config. */
export function plainWindowTrips(counts: { calls: number; failures: number; slow: number }, config: BreakerConfig): boolean {
  return counts.calls >= config.min_calls && (counts.failures / counts.calls >= config.failure_rate_pct / 100 || counts.slow / counts.calls >= config.slow_rate_pct / 100);
}

/** A dependency phase lasts this long at most. */
const phase_ms_max = 8000;

type Phase = { kind: 'healthy' | 'erroring' | 'slow' | 'hanging'; error_pct: number; latency_ms: number };

function drawPhase(draw: Draws): Phase {
  const kind = draw.pick(['healthy', 'healthy', 'erroring', 'slow', 'hanging'] as const);
  if (kind === 'healthy') return { kind, error_pct: draw.int(0, 5), latency_ms: draw.int(5, 50) };
  if (kind === 'erroring') return { kind, error_pct: draw.int(30, 100), latency_ms: draw.int(5, 50) };
  if (kind === 'slow') return { kind, error_pct: 0, latency_ms: draw.int(200, 3000) };
  return { kind, error_pct: 0, latency_ms: Number.POSITIVE_INFINITY };
}

/** A run's configuration from its seed: a preset with its times scaled down, so a minute of virtual time sees many transitions. */
export function randomBreakerSimConfig(seed: number, planted_bug: string | null = null): BreakerSimConfig {
  const draw = draws(createRng(seed));
  const preset = preset_configs[draw.pick(preset_names)];
  const window_kind = draw.pick(['count', 'time'] as const);
  const window_buckets = draw.int(1, 10);
  const window_calls = draw.int(5, 40);
  const call_timeout_ms = draw.int(100, 1000);
  const breaker: BreakerConfig = {
    ...preset.breaker,
    enabled: true,
    window_kind,
    window_calls,
    window_buckets,
    window_ms: window_buckets * draw.int(50, 500),
    min_calls: draw.int(1, window_kind === 'count' ? window_calls : 20),
    failure_rate_pct: draw.pick([20, 50, 75, 100]),
    slow_rate_pct: draw.pick([50, 100]),
    slow_call_ms: draw.int(50, call_timeout_ms),
    open_wait_ms: draw.int(50, 2000),
    half_open_calls: draw.int(1, 5),
    call_timeout_ms,
  };
  const retry = {
    ...preset.retry,
    retries_max: draw.int(0, 3),
    backoff_ms_base: draw.int(0, 50),
    backoff_ms_max: 200,
    jitter: draw.pick(['full', 'none'] as const),
    budget_pct: draw.pick([null, 5, 10, 20]),
    budget_min_per_s: draw.int(0, 3),
    budget_window_ms: 10 * draw.int(10, 200),
  };
  const bulkhead = { kind: draw.pick(['none', 'semaphore', 'queue'] as const), max: draw.int(1, 20), queue_max: draw.int(0, 20), queue_wait_ms: draw.int(0, 300) };
  return {
    seed,
    config: { preset: 'dslab', breaker, bulkhead, retry, fallback: false },
    duration_ms: 20_000,
    rate_per_s: draw.int(5, 200),
    bad_pct: draw.pick([0, 0, 5, 20]),
    planted_bug,
  };
}

interface Request {
  attempt: number;
  bad: boolean;
}
interface Call {
  request: Request;
  trial: boolean;
  /** The half-open period a trial was admitted in (0: not a trial). */
  period: number;
  started_ms: number;
}
export function runBreakerSimulation(sim: BreakerSimConfig): BreakerSimStats {
  const scheduler = new Scheduler(sim.seed);
  const rng = scheduler.rng;
  const draw = draws(rng);
  const { breaker: bc, bulkhead: hc, retry: rc } = sim.config;
  const breaker = new CircuitBreaker(bc, sim.planted_bug);
  const bulkhead = new Bulkhead(hc);
  const retry = new RetryPolicy(rc, () => rng.next(), sim.planted_bug);
  const stats: BreakerSimStats = { requests: 0, ok: 0, failed: 0, short_circuited: 0, rejected: 0, bad_request: 0, dependency_calls: 0, retries: 0, opened: 0, closed: 0 };
  const fail = (rule: string, problem: string, at_ms: number): never => {
    throw new BreakerSimFailure(sim.seed, rule, `at ${at_ms} ms: ${problem}`);
  };

  // The run's own record, kept plainly, to judge the core from outside.
  let plain: PlainOutcome[] = [];
  let state: BreakerState = 'closed';
  let opened_at_ms = 0;
  let period = 0;
  let period_trials = 0;
  let period_successes = 0;
  const request_times: number[] = [];
  const retry_times: number[] = [];

  let phase = drawPhase(draw);
  const waiting = new Map<number, Call>();

  const dispatch = (call: Call, now_ms: number): void => {
    stats.dependency_calls += 1;
    call.started_ms = now_ms;
    if (bulkhead.in_use > hc.max && hc.kind !== 'none') fail('bulkhead_exceeded', `${bulkhead.in_use} calls in a bulkhead of ${hc.max}`, now_ms);
    if (call.request.bad) return scheduler.after(draw.int(1, 10), () => finish(call, 'ignored'));
    const latency_ms = phase.latency_ms === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : draw.int(Math.floor(phase.latency_ms / 2), phase.latency_ms);
    if (latency_ms >= bc.call_timeout_ms) return scheduler.after(bc.call_timeout_ms, () => finish(call, 'timeout'));
    const result = draw.int(1, 100) <= phase.error_pct ? 'failure' : 'success';
    scheduler.after(latency_ms, () => finish(call, result));
  };

  const attempt = (request: Request): void => {
    const now_ms = scheduler.now_ms;
    // The state as of now (open may have just turned half-open), and its transitions taken into the record first.
    const before = breaker.state(now_ms);
    checkTransitions(now_ms);
    const admission = breaker.tryAcquire(now_ms);
    if (!admission.admitted) {
      stats.short_circuited += 1;
      return;
    }
    if (before === 'open') fail('called_while_open', 'a call was admitted while the breaker was open', now_ms);
    const call: Call = { request, trial: admission.trial, period: admission.trial ? period : 0, started_ms: now_ms };
    if (admission.trial) {
      period_trials += 1;
      if (period_trials > bc.half_open_calls) fail('half_open_overadmitted', `${period_trials} trial calls admitted in one half-open period of ${bc.half_open_calls}`, now_ms);
    }
    const entry = bulkhead.enter(now_ms);
    if (entry.kind === 'entered') return dispatch(call, now_ms);
    if (entry.kind === 'queued') {
      waiting.set(entry.ticket, call);
      return scheduler.after(hc.queue_wait_ms, expire);
    }
    if (hc.kind === 'none' || bulkhead.in_use < hc.max) fail('bulkhead_leaked', `rejected with ${bulkhead.in_use} of ${hc.max} permits in use`, now_ms);
    refuse(call);
  };

  const refuse = (call: Call): void => {
    stats.rejected += 1;
    breaker.cancel(call.trial);
    if (call.trial && call.period === period) period_trials -= 1;
  };

  const finish = (call: Call, result: CallResult): void => {
    const now_ms = scheduler.now_ms;
    const before = breaker.state(now_ms);
    checkTransitions(now_ms);
    const duration_ms = now_ms - call.started_ms;
    const failed = result === 'failure' || result === 'timeout';
    const slow = duration_ms >= bc.slow_call_ms;
    breaker.onResult(now_ms, result, duration_ms, call.trial);
    const current_trial = before === 'half_open' && call.trial && call.period === period;
    if (current_trial && !failed && !slow) period_successes += 1;
    if (before === 'closed' && !call.trial && result !== 'ignored') {
      plain.push({ at_ms: now_ms, failed, slow });
      // Outcomes that can be in no later window are dropped, so the plain record stays small.
      const oldest_kept = bc.window_kind === 'count' ? plain.length - bc.window_calls : plain.findIndex((o) => o.at_ms > now_ms - bc.window_ms);
      if (oldest_kept > 0) plain = plain.slice(oldest_kept);
    }
    checkTransitions(now_ms);
    if (before === 'closed' && !call.trial && result !== 'ignored') {
      const counts = plainWindowCounts(plain, bc, now_ms);
      if (plainWindowTrips(counts, bc) && breaker.state(now_ms) !== 'open') {
        fail('not_opened_at_threshold', `still closed with ${counts.failures} failed and ${counts.slow} slow of ${counts.calls} calls in the window`, now_ms);
      }
    }
    if (current_trial && (failed || slow) && breaker.state(now_ms) !== 'open') {
      fail('half_open_failed_not_reopened', `a trial call's ${result} after ${duration_ms} ms left it ${breaker.state(now_ms)}`, now_ms);
    }
    for (const ticket of bulkhead.leave(now_ms)) {
      const next = waiting.get(ticket)!;
      waiting.delete(ticket);
      dispatch(next, now_ms);
    }
    if (result === 'success') stats.ok += 1;
    else if (result === 'ignored') stats.bad_request += 1;
    else {
      const decision = retry.next(now_ms, call.request.attempt);
      if (!decision.retry) {
        stats.failed += 1;
        return;
      }
      stats.retries += 1;
      retry_times.push(now_ms);
      checkBudget(now_ms);
      const again = { ...call.request, attempt: call.request.attempt + 1 };
      scheduler.after(decision.delay_ms, () => attempt(again));
    }
  };

  const checkBudget = (now_ms: number): void => {
    if (rc.budget_pct === null) return;
    // The policy counts in buckets: its window covers at least the last window - bucket for retries and at most the last window for requests.
    const bucket_ms = rc.budget_window_ms / retry_budget_buckets;
    while (request_times.length > 0 && request_times[0]! <= now_ms - rc.budget_window_ms) request_times.shift();
    while (retry_times.length > 0 && retry_times[0]! <= now_ms - rc.budget_window_ms) retry_times.shift();
    const retries = retry_times.filter((t) => t > now_ms - rc.budget_window_ms + bucket_ms).length;
    const requests = request_times.length;
    const allowed = (rc.budget_pct * requests) / 100 + (rc.budget_min_per_s * rc.budget_window_ms) / 1000;
    if (retries > allowed) fail('retry_amplification', `${retries} retries in the budget window against ${requests} requests (${rc.budget_pct}% + ${rc.budget_min_per_s}/s allows ${allowed})`, now_ms);
  };

  const checkTransitions = (now_ms: number): void => {
    for (const t of breaker.drainTransitions()) {
      if (t.from !== state) fail('transition', `a transition from ${t.from} while it was ${state}`, t.at_ms);
      if (t.to === 'open' && t.from === 'closed') {
        stats.opened += 1;
        const counts = plainWindowCounts(plain, bc, t.at_ms);
        if (!plainWindowTrips(counts, bc)) fail('opened_without_cause', `opened with ${counts.failures} failed and ${counts.slow} slow of ${counts.calls} calls in the window`, t.at_ms);
      }
      if (t.to === 'open') opened_at_ms = t.at_ms;
      if (t.to === 'half_open') {
        if (t.at_ms !== opened_at_ms + bc.open_wait_ms) fail('half_open_timing', `half-open at ${t.at_ms} ms, opened at ${opened_at_ms} ms with a wait of ${bc.open_wait_ms} ms`, t.at_ms);
        period += 1;
        period_trials = 0;
        period_successes = 0;
      }
      if (t.to === 'closed') {
        stats.closed += 1;
        if (period_successes < bc.half_open_calls) fail('closed_without_trials', `closed after ${period_successes} of ${bc.half_open_calls} trial calls succeeded`, t.at_ms);
        plain = [];
      }
      state = t.to;
    }
    if (state === 'open' && now_ms > opened_at_ms + bc.open_wait_ms && breaker.state(now_ms) === 'open') {
      fail('stayed_open_past_wait', `open since ${opened_at_ms} ms with a wait of ${bc.open_wait_ms} ms`, now_ms);
    }
  };

  const expire = (): void => {
    for (const ticket of bulkhead.expire(scheduler.now_ms)) {
      refuse(waiting.get(ticket)!);
      waiting.delete(ticket);
    }
  };
  const arrive = (): void => {
    const now_ms = scheduler.now_ms;
    if (now_ms < sim.duration_ms) scheduler.after(Math.max(1, Math.round((-Math.log(1 - rng.next()) * 1000) / sim.rate_per_s)), arrive);
    stats.requests += 1;
    request_times.push(now_ms);
    retry.onRequest(now_ms);
    attempt({ attempt: 1, bad: draw.int(1, 100) <= sim.bad_pct });
  };
  const changePhase = (): void => {
    if (scheduler.now_ms >= sim.duration_ms) return;
    phase = drawPhase(draw);
    scheduler.after(draw.int(500, phase_ms_max), changePhase);
  };
  scheduler.at(0, arrive);
  scheduler.at(draw.int(500, phase_ms_max), changePhase);
  while (scheduler.step()) checkTransitions(scheduler.now_ms);
  if (bulkhead.in_use !== 0 || waiting.size !== 0) fail('bulkhead_leaked', `${bulkhead.in_use} permits still in use and ${waiting.size} calls waiting after every call ended`, sim.duration_ms);
  return stats;
}

/** The system's simulator, as the registry takes it (src/lib/plugin.ts). */
export const breaker_simulator: SystemSimulator = {
  async run(seed) {
    const stats = runBreakerSimulation(randomBreakerSimConfig(seed));
    return { seed, stats: { ...stats } };
  },
};
