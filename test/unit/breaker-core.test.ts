// The breaker system's pure core: each rule of the breaker, its windows, the bulkhead and the retry
// policy; each planted bug shown to break the rule it names; and the breaker against a plain
// reference model over thousands of seeded random call sequences.

import { describe, expect, it } from 'vitest';
import {
  type BreakerConfig,
  type BreakerState,
  Bulkhead,
  type BulkheadConfig,
  type CallResult,
  CircuitBreaker,
  CountWindow,
  presets,
  resilience_option_names,
  resolveResilienceConfig,
  type RetryConfig,
  RetryPolicy,
  TimeWindow,
} from '../../src/systems/breaker/core/index.js';
import { InvariantError, UserError } from '../../src/lib/util/errors.js';
import { createRng } from '../../src/lib/util/prng.js';
import { plainWindowCounts, plainWindowTrips } from '../../src/systems/breaker/sim.js';

const base: BreakerConfig = {
  enabled: true,
  window_kind: 'count',
  window_calls: 10,
  window_ms: 10_000,
  window_buckets: 10,
  min_calls: 4,
  failure_rate_pct: 50,
  slow_rate_pct: 100,
  slow_call_ms: 1000,
  open_wait_ms: 5000,
  half_open_calls: 1,
  call_timeout_ms: 2000,
};

function breaker(overrides: Partial<BreakerConfig> = {}, bug: string | null = null): CircuitBreaker {
  return new CircuitBreaker({ ...base, ...overrides }, bug);
}

/** Makes one call at now_ms and records its result (a call the breaker refuses is reported as such). */
function call(b: CircuitBreaker, now_ms: number, result: CallResult, duration_ms = 10): boolean {
  const admission = b.tryAcquire(now_ms);
  if (!admission.admitted) return false;
  b.onResult(now_ms, result, duration_ms, admission.trial);
  return true;
}

/** Opens b at now_ms with failures (b must be closed with a count window of at least min_calls). */
function open(b: CircuitBreaker, now_ms: number): void {
  for (let i = 0; i < b.config.min_calls; i++) call(b, now_ms, 'failure');
  expect(b.state(now_ms)).toBe('open');
}

describe('resolveResilienceConfig', () => {
  it('gives the dslab preset when no option is set, and each option set overrides its field', () => {
    const plain = resolveResilienceConfig({});
    expect(plain.preset).toBe('dslab');
    expect(plain.breaker).toEqual(presets.dslab.breaker);
    const tuned = resolveResilienceConfig({ breaker_min_calls: 3, breaker_bulkhead_kind: 'queue', breaker_retry_budget_pct: null, breaker_fallback: true });
    expect(tuned.breaker.min_calls).toBe(3);
    expect(tuned.breaker.window_ms).toBe(presets.dslab.breaker.window_ms);
    expect(tuned.bulkhead.kind).toBe('queue');
    expect(tuned.retry.budget_pct).toBeNull();
    expect(tuned.fallback).toBe(true);
  });

  it('takes a preset and overrides it', () => {
    const hystrix = resolveResilienceConfig({ breaker_preset: 'hystrix', breaker_open_wait_ms: 1000 });
    expect(hystrix.breaker).toMatchObject({ window_kind: 'time', window_ms: 10_000, window_buckets: 10, min_calls: 20, failure_rate_pct: 50, half_open_calls: 1, open_wait_ms: 1000 });
    expect(hystrix.fallback).toBe(true);
    const r4j = resolveResilienceConfig({ breaker_preset: 'resilience4j' });
    expect(r4j.breaker).toMatchObject({ window_kind: 'count', window_calls: 100, min_calls: 100, slow_call_ms: 60_000, open_wait_ms: 60_000, half_open_calls: 10 });
    expect(r4j.bulkhead).toMatchObject({ kind: 'semaphore', max: 25 });
    expect(r4j.retry).toMatchObject({ retries_max: 2, backoff_ms_base: 500, backoff_ms_max: 500, jitter: 'none', budget_pct: null });
  });

  it("reads every option of the shared spec, each changing its own field", () => {
    // The options issue 23 names (all of DSLAB_OPTIONS' breaker_* but the dependency's), each with a valid value unlike the dslab preset's.
    const changed: Record<string, unknown> = {
      breaker_enabled: false,
      breaker_preset: 'hystrix',
      breaker_window_kind: 'count',
      breaker_window_calls: 50,
      breaker_window_ms: 20_000,
      breaker_window_buckets: 20,
      breaker_min_calls: 5,
      breaker_failure_rate_pct: 25,
      breaker_slow_rate_pct: 80,
      breaker_slow_call_ms: 700,
      breaker_open_wait_ms: 3000,
      breaker_half_open_calls: 3,
      breaker_call_timeout_ms: 1500,
      breaker_bulkhead_kind: 'queue',
      breaker_bulkhead_max: 4,
      breaker_bulkhead_queue_max: 7,
      breaker_bulkhead_queue_wait_ms: 250,
      breaker_retries_max: 5,
      breaker_backoff_ms_base: 20,
      breaker_backoff_ms_max: 400,
      breaker_jitter: 'none',
      breaker_retry_budget_pct: 30,
      breaker_retry_budget_min_per_s: 4,
      breaker_retry_budget_window_ms: 5000,
      breaker_fallback: true,
    };
    expect([...resilience_option_names].sort()).toEqual(Object.keys(changed).sort());
    const plain = JSON.stringify(resolveResilienceConfig({}));
    for (const [name, value] of Object.entries(changed)) expect(JSON.stringify(resolveResilienceConfig({ [name]: value })), name).not.toBe(plain);
    const all = resolveResilienceConfig(changed);
    expect(all).toEqual({
      preset: 'hystrix',
      breaker: { enabled: false, window_kind: 'count', window_calls: 50, window_ms: 20_000, window_buckets: 20, min_calls: 5, failure_rate_pct: 25, slow_rate_pct: 80, slow_call_ms: 700, open_wait_ms: 3000, half_open_calls: 3, call_timeout_ms: 1500 },
      bulkhead: { kind: 'queue', max: 4, queue_max: 7, queue_wait_ms: 250 },
      retry: { retries_max: 5, backoff_ms_base: 20, backoff_ms_max: 400, jitter: 'none', budget_pct: 30, budget_min_per_s: 4, budget_window_ms: 5000 },
      fallback: true,
    });
  });

  it('refuses a bad value or a bad combination with a UserError naming the option', () => {
    const problem = (options: Record<string, unknown>): string => {
      try {
        resolveResilienceConfig(options);
      } catch (error) {
        expect(error).toBeInstanceOf(UserError);
        return (error as Error).message;
      }
      throw new Error(`accepted ${JSON.stringify(options)}`);
    };
    expect(problem({ breaker_preset: 'envoy' })).toMatch(/^breaker_preset must be one of dslab, hystrix, resilience4j/);
    expect(problem({ breaker_failure_rate_pct: 0 })).toMatch(/^breaker_failure_rate_pct must be a percentage/);
    expect(problem({ breaker_min_calls: 2.5 })).toMatch(/^breaker_min_calls must be a whole number/);
    expect(problem({ breaker_enabled: 'yes' })).toMatch(/^breaker_enabled must be true or false/);
    expect(problem({ breaker_window_ms: 10_001 })).toMatch(/^breaker_window_ms \(10001\) must be a whole number of breaker_window_buckets/);
    expect(problem({ breaker_window_kind: 'count', breaker_window_calls: 5, breaker_min_calls: 6 })).toMatch(/could never open/);
    expect(problem({ breaker_backoff_ms_base: 100, breaker_backoff_ms_max: 50 })).toMatch(/^breaker_backoff_ms_max \(50\) is below/);
  });
});

describe('sliding windows', () => {
  it('a count window holds the last N calls: old outcomes leave as new ones come', () => {
    const window = new CountWindow(4);
    for (let i = 0; i < 4; i++) window.record(0, true, false);
    expect(window.snapshot(0)).toMatchObject({ calls: 4, failures: 4, failure_pct: 100 });
    for (let i = 0; i < 3; i++) window.record(0, false, true);
    expect(window.snapshot(0)).toMatchObject({ calls: 4, failures: 1, slow: 3, failure_pct: 25, slow_pct: 75 });
  });

  it("a time window's outcomes leave with their bucket, when the window has moved past it", () => {
    // 1000 ms in 10 buckets of 100 ms: an outcome at 50 ms is in bucket 0, which leaves when bucket 10 begins.
    const window = new TimeWindow(1000, 10);
    window.record(50, true, false);
    window.record(450, false, false);
    expect(window.snapshot(999)).toMatchObject({ calls: 2, failures: 1 });
    expect(window.snapshot(1000)).toMatchObject({ calls: 1, failures: 0 });
    expect(window.snapshot(1399)).toMatchObject({ calls: 1 });
    expect(window.snapshot(1400)).toMatchObject({ calls: 0 });
    // A long quiet spell empties it however many buckets it skipped.
    window.record(5000, true, true);
    expect(window.snapshot(987_654)).toMatchObject({ calls: 0, failures: 0, slow: 0 });
  });
});

describe('CircuitBreaker: closed', () => {
  it('does not open below the minimum number of calls, however many failed', () => {
    const b = breaker({ min_calls: 10 });
    for (let i = 0; i < 9; i++) call(b, 0, 'failure');
    expect(b.state(0)).toBe('closed');
    call(b, 0, 'failure');
    expect(b.state(0)).toBe('open');
  });

  it('opens when the failure rate reaches the threshold exactly, not below it', () => {
    const b = breaker({ min_calls: 10, failure_rate_pct: 30 });
    for (let i = 0; i < 7; i++) call(b, 0, 'success');
    call(b, 0, 'failure');
    call(b, 0, 'failure');
    call(b, 0, 'success'); // 10 calls, 2 failed: 20%
    expect(b.state(0)).toBe('closed');
    call(b, 0, 'failure'); // the first success leaves: 10 calls, 3 failed: 30%
    expect(b.state(0)).toBe('open');
    const [opened] = b.drainTransitions();
    expect(opened).toMatchObject({ from: 'closed', to: 'open', window: { calls: 10, failures: 3 }, text: 'opened: 3 of the last 10 calls failed (30% ≥ 30%)' });
  });

  it('opens on the slow-call rate, counting calls at the slow-call duration as slow', () => {
    const b = breaker({ slow_rate_pct: 50, slow_call_ms: 300, window_kind: 'time' });
    call(b, 0, 'success', 299);
    call(b, 0, 'success', 10);
    call(b, 0, 'success', 300);
    expect(b.state(0)).toBe('closed');
    call(b, 0, 'success', 5000);
    expect(b.state(0)).toBe('open');
    expect(b.drainTransitions()[0]!.text).toBe('opened: 2 of 4 calls took 300 ms or more in the last 10 s (50% ≥ 50%)');
  });

  it('counts a timeout as a failure and an ignored result as nothing', () => {
    const b = breaker({ min_calls: 2 });
    for (let i = 0; i < 50; i++) call(b, 0, 'ignored');
    expect(b.snapshot(0)).toMatchObject({ calls: 0, failures: 0 });
    expect(b.state(0)).toBe('closed');
    call(b, 0, 'timeout', 2000);
    call(b, 0, 'success');
    expect(b.state(0)).toBe('open');
  });

  it('forgets old failures: a time window that has moved past them does not open', () => {
    const b = breaker({ window_kind: 'time', window_ms: 10_000, window_buckets: 10, min_calls: 6 });
    for (let i = 0; i < 3; i++) call(b, 0, 'failure');
    for (let i = 0; i < 3; i++) call(b, 10_000, 'failure');
    expect(b.state(10_000)).toBe('closed');
    expect(b.snapshot(10_000)).toMatchObject({ calls: 3 });
  });

  it('a disabled breaker admits everything and never opens, but keeps its window for the figures', () => {
    const b = breaker({ enabled: false });
    for (let i = 0; i < 20; i++) expect(call(b, 0, 'failure')).toBe(true);
    expect(b.state(0)).toBe('closed');
    expect(b.snapshot(0)).toMatchObject({ calls: 10, failures: 10 });
  });
});

describe('CircuitBreaker: open and half-open', () => {
  it('refuses while open and turns half-open once the wait has passed', () => {
    const b = breaker({ open_wait_ms: 5000 });
    open(b, 1000);
    expect(b.tryAcquire(5999)).toEqual({ admitted: false, reason: 'open' });
    expect(b.state(5999)).toBe('open');
    expect(b.state(6000)).toBe('half_open');
    expect(b.since_ms()).toBe(6000);
    expect(b.drainTransitions().map((t) => t.text)).toEqual(['opened: 4 of the last 4 calls failed (100% ≥ 50%)', 'half-open after 5 s open']);
  });

  it('admits exactly the configured trial calls however many ask', () => {
    const b = breaker({ half_open_calls: 3 });
    open(b, 0);
    const admissions = Array.from({ length: 20 }, () => b.tryAcquire(5000));
    expect(admissions.filter((a) => a.admitted)).toEqual([{ admitted: true, trial: true }, { admitted: true, trial: true }, { admitted: true, trial: true }]);
    expect(admissions.filter((a) => !a.admitted).every((a) => !a.admitted && a.reason === 'half_open_full')).toBe(true);
  });

  it('a failed trial reopens at once and restarts the wait', () => {
    const b = breaker({ half_open_calls: 2 });
    open(b, 0);
    const first = b.tryAcquire(5000);
    const second = b.tryAcquire(5000);
    expect(first.admitted && second.admitted).toBe(true);
    b.onResult(5100, 'failure', 100, true);
    expect(b.state(5100)).toBe('open');
    expect(b.drainTransitions().at(-1)!.text).toBe('reopened: a trial call failed');
    // The other trial's late success counts for nothing.
    b.onResult(5200, 'success', 200, true);
    expect(b.state(10_099)).toBe('open');
    expect(b.state(10_100)).toBe('half_open');
  });

  it('a timed-out or slow trial reopens it too', () => {
    for (const [result, duration_ms, words] of [
      ['timeout', 2000, 'timed out'],
      ['success', 1500, 'was slow (1.5 s ≥ 1 s)'],
    ] as const) {
      const b = breaker();
      open(b, 0);
      expect(b.tryAcquire(5000).admitted).toBe(true);
      b.onResult(5000 + duration_ms, result, duration_ms, true);
      expect(b.state(5000 + duration_ms)).toBe('open');
      expect(b.drainTransitions().at(-1)!.text).toBe(`reopened: a trial call ${words}`);
    }
  });

  it('closes when all trials succeeded, with an empty window', () => {
    const b = breaker({ half_open_calls: 3 });
    open(b, 0);
    for (let i = 0; i < 3; i++) expect(b.tryAcquire(5000)).toEqual({ admitted: true, trial: true });
    b.onResult(5010, 'success', 10, true);
    b.onResult(5010, 'success', 10, true);
    expect(b.state(5010)).toBe('half_open');
    b.onResult(5020, 'success', 20, true);
    expect(b.state(5020)).toBe('closed');
    expect(b.snapshot(5020).calls).toBe(0);
    expect(b.drainTransitions().at(-1)).toMatchObject({ from: 'half_open', to: 'closed', at_ms: 5020, text: 'closed: 3 of 3 trial calls succeeded' });
    expect(b.tryAcquire(5020)).toEqual({ admitted: true, trial: false });
  });

  it('cancel gives a trial permit back (the bulkhead refused the call); a non-trial cancel changes nothing', () => {
    const b = breaker({ half_open_calls: 1 });
    open(b, 0);
    expect(b.tryAcquire(5000)).toEqual({ admitted: true, trial: true });
    expect(b.tryAcquire(5000)).toEqual({ admitted: false, reason: 'half_open_full' });
    b.cancel(true);
    expect(b.tryAcquire(5000)).toEqual({ admitted: true, trial: true });
    b.cancel(false);
    expect(b.tryAcquire(5000)).toEqual({ admitted: false, reason: 'half_open_full' });
  });

  it('results of calls admitted before it opened count for nothing while open', () => {
    const b = breaker({ min_calls: 4 });
    const early = b.tryAcquire(0);
    expect(early.admitted).toBe(true);
    open(b, 0);
    b.onResult(100, 'failure', 100, false);
    expect(b.snapshot(100).calls).toBe(4);
    expect(b.state(5000)).toBe('half_open');
  });
});

describe('Bulkhead', () => {
  const bulkhead = (overrides: Partial<BulkheadConfig>): Bulkhead => new Bulkhead({ kind: 'semaphore', max: 2, queue_max: 0, queue_wait_ms: 0, ...overrides });

  it('a semaphore admits max calls at once and rejects the rest, counting them', () => {
    const b = bulkhead({ kind: 'semaphore', max: 2 });
    expect([b.enter(0), b.enter(0), b.enter(0)].map((e) => e.kind)).toEqual(['entered', 'entered', 'rejected']);
    expect(b.rejected).toBe(1);
    expect(b.leave(1)).toEqual([]);
    expect(b.enter(1).kind).toBe('entered');
    expect(b.in_use).toBe(2);
  });

  it('a queue holds up to queue_max waiting calls, admits them in order as permits free, and rejects the rest', () => {
    const b = bulkhead({ kind: 'queue', max: 1, queue_max: 2, queue_wait_ms: 100 });
    expect(b.enter(0).kind).toBe('entered');
    const first = b.enter(0);
    const second = b.enter(10);
    expect(first.kind === 'queued' && second.kind === 'queued').toBe(true);
    expect(b.enter(10).kind).toBe('rejected');
    expect(b.queued).toBe(2);
    expect(b.leave(50)).toEqual([first.kind === 'queued' ? first.ticket : -1]);
    expect(b.in_use).toBe(1);
    expect(b.queued).toBe(1);
  });

  it('a queued call whose wait runs out is rejected, and never admitted after', () => {
    const b = bulkhead({ kind: 'queue', max: 1, queue_max: 5, queue_wait_ms: 100 });
    b.enter(0);
    const waiting = b.enter(0);
    expect(waiting.kind).toBe('queued');
    expect(b.expire(99)).toEqual([]);
    expect(b.expire(100)).toEqual([waiting.kind === 'queued' ? waiting.ticket : -1]);
    expect(b.rejected).toBe(1);
    expect(b.leave(150)).toEqual([]);
    expect(b.in_use).toBe(0);
  });

  it('a permit freed after a wait ran out is not given to the expired call: leave hands it to expire', () => {
    const b = bulkhead({ kind: 'queue', max: 1, queue_max: 5, queue_wait_ms: 100 });
    b.enter(0);
    const late = b.enter(0);
    const fresh = b.enter(90);
    expect(b.leave(150)).toEqual([fresh.kind === 'queued' ? fresh.ticket : -1]);
    expect(b.expire(150)).toEqual([late.kind === 'queued' ? late.ticket : -1]);
  });

  it('none admits everything; leaving more often than entering is a bug', () => {
    const b = bulkhead({ kind: 'none' });
    for (let i = 0; i < 1000; i++) expect(b.enter(0).kind).toBe('entered');
    expect(b.in_use).toBe(1000);
    const s = bulkhead({ kind: 'semaphore' });
    expect(() => s.leave(0)).toThrow(InvariantError);
  });
});

describe('RetryPolicy', () => {
  const retry = (overrides: Partial<RetryConfig>, rng: () => number = () => 0.5, bug: string | null = null): RetryPolicy =>
    new RetryPolicy({ retries_max: 3, backoff_ms_base: 100, backoff_ms_max: 1000, jitter: 'none', budget_pct: null, budget_min_per_s: 0, budget_window_ms: 1000, ...overrides }, rng, bug);

  it('retries at most retries_max times', () => {
    const r = retry({ retries_max: 2 });
    expect(r.next(0, 1).retry).toBe(true);
    expect(r.next(0, 2).retry).toBe(true);
    expect(r.next(0, 3)).toEqual({ retry: false, reason: 'attempts' });
    expect(retry({ retries_max: 0 }).next(0, 1)).toEqual({ retry: false, reason: 'attempts' });
  });

  it('backs off exponentially up to the cap', () => {
    const r = retry({ retries_max: 10 });
    expect([1, 2, 3, 4, 5, 6, 60].map((n) => r.backoff(n))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('full jitter draws each delay from 0 to the backoff, spread over the whole range', () => {
    expect(retry({ jitter: 'full' }, () => 0).backoff(3)).toBe(0);
    expect(retry({ jitter: 'full' }, () => 0.999_999).backoff(3)).toBe(400);
    const rng = createRng(7);
    const r = retry({ jitter: 'full' }, () => rng.next());
    const delays = Array.from({ length: 4000 }, () => r.backoff(3));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThanOrEqual(400);
    expect(delays.filter((d) => d < 100).length).toBeGreaterThan(800);
    expect(delays.filter((d) => d > 300).length).toBeGreaterThan(800);
  });

  it('the budget refuses retries past its share of recent requests', () => {
    const r = retry({ budget_pct: 10, budget_min_per_s: 0, budget_window_ms: 1000 });
    for (let i = 0; i < 100; i++) r.onRequest(0);
    const granted = Array.from({ length: 30 }, () => r.next(0, 1)).filter((d) => d.retry).length;
    expect(granted).toBe(10);
    expect(r.next(0, 1)).toEqual({ retry: false, reason: 'budget' });
    // The requests and the retries leave the window together: with no new requests, none.
    expect(r.next(1000, 1)).toEqual({ retry: false, reason: 'budget' });
    for (let i = 0; i < 10; i++) r.onRequest(1000);
    expect(r.next(1000, 1).retry).toBe(true);
    expect(r.next(1000, 1)).toEqual({ retry: false, reason: 'budget' });
  });

  it('the floor allows budget_min_per_s retries per second of the window with no requests', () => {
    const r = retry({ budget_pct: 10, budget_min_per_s: 3, budget_window_ms: 2000 });
    const granted = Array.from({ length: 20 }, () => r.next(0, 1)).filter((d) => d.retry).length;
    expect(granted).toBe(6);
  });

  it('no budget (null) leaves retries bounded by attempts only', () => {
    const r = retry({ budget_pct: null });
    expect(Array.from({ length: 1000 }, () => r.next(0, 1)).every((d) => d.retry)).toBe(true);
  });
});

describe('planted bugs break the rule they name', () => {
  it('never_half_opens: it stays open past the wait', () => {
    for (const [bug, expected] of [[null, 'half_open'], ['never_half_opens', 'open']] as const) {
      const b = breaker({}, bug);
      open(b, 0);
      expect(b.state(1_000_000), String(bug)).toBe(expected);
    }
  });

  it('half_open_admits_all: every request in half-open is let through', () => {
    for (const [bug, expected] of [[null, 1], ['half_open_admits_all', 10]] as const) {
      const b = breaker({ half_open_calls: 1 }, bug);
      open(b, 0);
      expect(Array.from({ length: 10 }, () => b.tryAcquire(5000)).filter((a) => a.admitted).length, String(bug)).toBe(expected);
    }
  });

  it('window_never_forgets: old failures still count after they left the window', () => {
    for (const kind of ['count', 'time'] as const) {
      for (const [bug, expected] of [[null, 0], ['window_never_forgets', 1]] as const) {
        const b = breaker({ window_kind: kind, window_calls: 4, min_calls: 4 }, bug);
        // A failure, then (a window later) four successes: the failure has left either window.
        call(b, 0, 'failure');
        for (let i = 0; i < 4; i++) call(b, 20_000, 'success');
        expect(b.snapshot(20_000).failures, `${kind} ${bug}`).toBe(expected);
      }
    }
    // And it opens on them: two failures, then a window later one failure in four calls (25%) opens it at 3 of 6 (50%).
    for (const [bug, expected] of [[null, 'closed'], ['window_never_forgets', 'open']] as const) {
      const b = breaker({ window_kind: 'time', min_calls: 4 }, bug);
      call(b, 0, 'failure');
      call(b, 0, 'failure');
      for (const result of ['success', 'success', 'success', 'failure'] as const) call(b, 20_000, result);
      expect(b.state(20_000), String(bug)).toBe(expected);
    }
  });

  it('timeout_counts_as_success: timeouts do not open it', () => {
    for (const [bug, expected] of [[null, 'open'], ['timeout_counts_as_success', 'closed']] as const) {
      const b = breaker({ min_calls: 4 }, bug);
      for (let i = 0; i < 4; i++) call(b, 0, 'timeout', 2000);
      expect(b.state(0), String(bug)).toBe(expected);
    }
  });

  it('retry_without_budget: retries go past the budget', () => {
    for (const [bug, expected] of [[null, 1], ['retry_without_budget', 50]] as const) {
      const r = new RetryPolicy({ ...presets.dslab.retry, budget_pct: 10, budget_min_per_s: 0 }, () => 0.5, bug);
      for (let i = 0; i < 10; i++) r.onRequest(0);
      expect(Array.from({ length: 50 }, () => r.next(0, 1)).filter((d) => d.retry).length, String(bug)).toBe(expected);
    }
  });
});

/**
 * The breaker's rules written as plainly as possible, with the window a list
 * of every outcome filtered on each question (plainWindowCounts, which the
 * simulation's checks use too): the reference the real breaker
 * (ring buffers, buckets, running totals) is compared with step by step.
 */
class ReferenceBreaker {
  state: BreakerState = 'closed';
  since = 0;
  outcomes: { at_ms: number; failed: boolean; slow: boolean }[] = [];
  admitted = 0;
  outstanding = 0;
  succeeded = 0;

  constructor(readonly c: BreakerConfig) {}

  windowed(now_ms: number): { calls: number; failures: number; slow: number } {
    return plainWindowCounts(this.outcomes, this.c, now_ms);
  }

  at(now_ms: number): BreakerState {
    if (this.state === 'open' && now_ms >= this.since + this.c.open_wait_ms) {
      this.state = 'half_open';
      this.since += this.c.open_wait_ms;
      this.admitted = 0;
      this.outstanding = 0;
      this.succeeded = 0;
    }
    return this.state;
  }

  acquire(now_ms: number): string {
    const state = this.at(now_ms);
    if (state === 'closed') return 'admitted';
    if (state === 'open') return 'open';
    if (this.admitted === this.c.half_open_calls) return 'half_open_full';
    this.admitted += 1;
    this.outstanding += 1;
    return 'trial';
  }

  result(now_ms: number, result: CallResult, duration_ms: number, trial: boolean): void {
    const failed = result === 'failure' || result === 'timeout';
    const slow = duration_ms >= this.c.slow_call_ms;
    const state = this.at(now_ms);
    // A trial counts only if it began in this half-open spell (one of an earlier spell is stale).
    if (state === 'half_open' && trial && this.outstanding > 0 && now_ms - duration_ms >= this.since) {
      this.outstanding -= 1;
      if (failed || slow) {
        this.state = 'open';
        this.since = now_ms;
      } else if (++this.succeeded === this.c.half_open_calls) {
        this.state = 'closed';
        this.since = now_ms;
        this.outcomes = [];
      }
    } else if (state === 'closed' && !trial && result !== 'ignored') {
      this.outcomes.push({ at_ms: now_ms, failed, slow });
      if (plainWindowTrips(this.windowed(now_ms), this.c)) {
        this.state = 'open';
        this.since = now_ms;
      }
    }
  }

  cancel(trial: boolean): void {
    if (trial && this.state === 'half_open' && this.outstanding > 0) {
      this.outstanding -= 1;
      this.admitted -= 1;
    }
  }
}

/** Runs one seeded random sequence through both and returns the first difference, or null; counts the real breaker's transitions by kind into seen. */
function compareWithReference(seed: number, steps: number, seen: Map<string, number>): string | null {
  const rng = createRng(seed);
  const config: BreakerConfig = {
    enabled: true,
    window_kind: rng.pick(['count', 'time'] as const),
    window_calls: 1 + rng.int(12),
    window_ms: 0,
    window_buckets: 1 + rng.int(6),
    min_calls: 1,
    failure_rate_pct: rng.pick([10, 25, 50, 60, 100]),
    slow_rate_pct: rng.pick([34, 50, 100]),
    slow_call_ms: 50 + rng.int(100),
    open_wait_ms: rng.int(400),
    half_open_calls: 1 + rng.int(4),
    call_timeout_ms: 300,
  };
  config.window_ms = config.window_buckets * (20 + rng.int(100));
  config.min_calls = 1 + rng.int(config.window_kind === 'count' ? config.window_calls : 15);
  const real = new CircuitBreaker(config);
  const model = new ReferenceBreaker(config);
  const pending: { trial: boolean; started_ms: number }[] = [];
  let now_ms = rng.int(1000);
  for (let step = 0; step < steps; step++) {
    const where = `seed ${seed} step ${step} at ${now_ms} ms (${JSON.stringify(config)})`;
    const roll = rng.next();
    if (roll < 0.25) now_ms += rng.next() < 0.9 ? rng.int(30) : rng.int(1000);
    else if (roll < 0.6) {
      const admission = real.tryAcquire(now_ms);
      const got = admission.admitted ? (admission.trial ? 'trial' : 'admitted') : admission.reason;
      const expected = model.acquire(now_ms);
      if (got !== expected) return `${where}: admission ${got}, the reference says ${expected}`;
      if (admission.admitted) {
        if (pending.length < 50) pending.push({ trial: admission.trial, started_ms: now_ms });
        else {
          real.cancel(admission.trial);
          model.cancel(admission.trial);
        }
      }
    } else if (pending.length > 0) {
      const [made] = pending.splice(rng.int(pending.length), 1);
      if (rng.next() < 0.1) {
        real.cancel(made!.trial);
        model.cancel(made!.trial);
      } else {
        const result = rng.pick(['success', 'success', 'failure', 'timeout', 'ignored'] as const);
        // A call's duration runs from its admission, so it is never longer than the time since (the core tells a stale trial by it).
        const elapsed_ms = now_ms - made!.started_ms;
        const duration_ms = result === 'timeout' ? Math.min(elapsed_ms, config.call_timeout_ms) : elapsed_ms;
        real.onResult(now_ms, result, duration_ms, made!.trial);
        model.result(now_ms, result, duration_ms, made!.trial);
      }
    }
    const state = real.state(now_ms);
    for (const t of real.drainTransitions()) seen.set(`${t.from}>${t.to}`, (seen.get(`${t.from}>${t.to}`) ?? 0) + 1);
    if (state !== model.at(now_ms)) return `${where}: state ${state}, the reference says ${model.state}`;
    if (real.since_ms() !== model.since && step > 0 && state !== 'closed') return `${where}: in ${state} since ${real.since_ms()}, the reference says ${model.since}`;
    const window = real.snapshot(now_ms);
    const expected = model.windowed(now_ms);
    if (window.calls !== expected.calls || window.failures !== expected.failures || window.slow !== expected.slow) {
      return `${where}: window ${JSON.stringify(window)}, the reference says ${JSON.stringify(expected)}`;
    }
  }
  return null;
}

describe('CircuitBreaker against a plain reference model', () => {
  it('agrees on state, admissions and window over 2000 seeded random call sequences', () => {
    const problems: string[] = [];
    const seen = new Map<string, number>();
    for (let seed = 1; seed <= 2000 && problems.length < 3; seed++) {
      const problem = compareWithReference(seed, 200, seen);
      if (problem !== null) problems.push(problem);
    }
    expect(problems).toEqual([]);
    // The sequences went through every transition many times, so the agreement covers each rule.
    for (const kind of ['closed>open', 'open>half_open', 'half_open>open', 'half_open>closed']) expect(seen.get(kind) ?? 0, kind).toBeGreaterThan(500);
  });

  it('the comparison catches a breaker that breaks a rule (a planted bug makes it disagree)', () => {
    // The model has no bugs: run the bugged breaker through the same comparison and expect a difference.
    const bugged = (bug: string): boolean => {
      for (let seed = 1; seed <= 300; seed++) {
        const rng = createRng(seed);
        const config = { ...base, window_kind: 'count' as const, window_calls: 5, min_calls: 3, open_wait_ms: 100, half_open_calls: 2 };
        const real = new CircuitBreaker(config, bug);
        const model = new ReferenceBreaker(config);
        let now_ms = 0;
        for (let step = 0; step < 200; step++) {
          now_ms += rng.int(50);
          // A few requests at once, then their results: half-open is asked more often than it admits.
          const made: boolean[] = [];
          for (let ask = 1 + rng.int(3); ask > 0; ask--) {
            const a = real.tryAcquire(now_ms);
            if ((a.admitted ? (a.trial ? 'trial' : 'admitted') : a.reason) !== model.acquire(now_ms)) return true;
            if (a.admitted) made.push(a.trial);
          }
          for (const trial of made) {
            const result = rng.pick(['success', 'failure', 'timeout'] as const);
            real.onResult(now_ms, result, result === 'timeout' ? 2000 : 10, trial);
            model.result(now_ms, result, result === 'timeout' ? 2000 : 10, trial);
          }
          if (real.state(now_ms) !== model.at(now_ms)) return true;
        }
      }
      return false;
    };
    for (const bug of ['never_half_opens', 'half_open_admits_all', 'window_never_forgets', 'timeout_counts_as_success']) expect(bugged(bug), bug).toBe(true);
  });
});
