// The breaker checker on runs of the core: a small discrete-event model of services calling a
// dependency through the core's CircuitBreaker, Bulkhead and RetryPolicy (the path the reference
// service takes), with message trips between the router's clock and the services'. Runs of the
// correct core pass every property; each planted bug fails the property it breaks.
import { describe, expect, it } from 'vitest';
import { createRng, type Rng } from '../../src/lib/util/prng.js';
import { Bulkhead, CircuitBreaker, RetryPolicy, type CallResult, type ResilienceConfig } from '../../src/systems/breaker/core/index.js';
import { checkBreaker, type BreakerTolerances } from '../../src/systems/breaker/checker.js';
import type { BreakerRecord, CallRecord, FaultRecord, RequestRecord } from '../../src/systems/breaker/record.js';
import { testConfig } from './breaker-checker-fixtures.js';

/** The scale of these runs: trips of at most 2 ms each way, so the checker's clock tolerance can be small. */
const trip_ms_max = 2;
const tolerances: Partial<BreakerTolerances> = { clock_ms: 10, recovery_ms: 200, outage_min_ms: 300 };
const dep_service_ms = 20;
const state_report_every_ms = 1000;

interface Scenario {
  config: ResilienceConfig;
  /** The dependency's application fault from each time on (the last should clear it). */
  faults: FaultRecord[];
  duration_ms: number;
  /** A client request to each service every this many ms (± a third, at random). */
  request_every_ms: number;
  bad_pct?: number;
  bug?: string | null;
}

type Event = { at: number; seq: number; run: () => void };

/** Runs a scenario and returns what the router would have recorded. */
function simulate(scenario: Scenario, rng: Rng): BreakerRecord {
  const { config } = scenario;
  const bug = scenario.bug ?? null;
  const queue: Event[] = [];
  let seq = 0;
  let now = 0;
  const at = (t: number, run: () => void) => {
    queue.push({ at: t, seq: seq++, run });
  };
  const trip = () => rng.int(trip_ms_max + 1);
  const services = ['s1', 's2'];
  const requests: RequestRecord[] = [];
  const calls: CallRecord[] = [];
  const states: BreakerRecord['states'] = [];
  const faultAt = (t: number) => [...scenario.faults].filter((f) => f.at_ms <= t).at(-1) ?? { errors_pct: 0, latency_ms: 0, hang: false };

  for (const service of services) {
    // A service's messages share one pipe: the router sees them in the order they were sent.
    let outbound_ms = 0;
    const toRouter = () => (outbound_ms = Math.max(outbound_ms, now + trip()));
    const breaker = new CircuitBreaker(config.breaker, bug);
    const bulkhead = new Bulkhead(config.bulkhead);
    const retry = new RetryPolicy(config.retry, () => rng.next(), bug);
    const report = () => {
      if (breaker.drainTransitions().length === 0) return;
      states.push({ node: service, at_ms: toRouter(), breaker: breaker.state(now) });
    };
    const everySecond = () => {
      breaker.state(now);
      report();
      states.push({ node: service, at_ms: toRouter(), breaker: breaker.state(now) });
      if (now + state_report_every_ms < scenario.duration_ms) at(now + state_report_every_ms, everySecond);
    };
    at(0, everySecond);

    const serve = (request: RequestRecord, bad: boolean, attempt: number) => {
      const answer = (outcome: RequestRecord['outcome']) => {
        request.outcome = outcome;
        request.answered_ms = toRouter();
        request.attempts = outcome === 'short_circuited' || outcome === 'rejected' ? attempt - 1 : attempt;
      };
      const admission = breaker.tryAcquire(now);
      report();
      if (!admission.admitted) return answer('short_circuited');
      if (bulkhead.enter(now).kind !== 'entered') {
        breaker.cancel(admission.trial);
        return answer('rejected');
      }
      const sent = now;
      const call: CallRecord = { service, sent_ms: toRouter(), answered_ms: null, result: 'unanswered', attempt };
      calls.push(call);
      const fault = faultAt(call.sent_ms);
      let reply: { at: number; result: CallRecord['result'] } | null = null;
      if (bad) reply = { at: call.sent_ms + dep_service_ms, result: 'ignored' };
      else if (!fault.hang) reply = { at: call.sent_ms + dep_service_ms + fault.latency_ms + rng.int(10), result: rng.int(100) < fault.errors_pct ? 'failure' : 'success' };
      if (reply !== null) {
        call.answered_ms = reply.at;
        call.result = reply.result;
      }
      const received = reply === null ? Infinity : reply.at + trip();
      const timeout_at = sent + config.breaker.call_timeout_ms;
      const done = Math.min(received, timeout_at);
      at(done, () => {
        const result: CallResult = received <= timeout_at ? (reply!.result as CallResult) : 'timeout';
        breaker.onResult(now, result, now - sent, admission.trial);
        if (!(bug === 'bulkhead_leaks_on_timeout' && result === 'timeout')) bulkhead.leave(now);
        report();
        if (result === 'success') return answer('ok');
        if (result === 'ignored') return answer('bad_request');
        const decision = retry.next(now, attempt);
        if (!decision.retry) return answer('failed');
        at(now + decision.delay_ms, () => serve(request, bad, attempt + 1));
      });
    };

    for (let t = rng.int(scenario.request_every_ms); t < scenario.duration_ms; t += Math.max(1, Math.round(scenario.request_every_ms * (2 / 3 + rng.next() * (2 / 3))))) {
      const sent_ms = t;
      at(sent_ms + trip(), () => {
        const request: RequestRecord = { service, client: 'c1', sent_ms, answered_ms: null, outcome: 'timeout' };
        requests.push(request);
        retry.onRequest(now);
        serve(request, rng.int(100) < (scenario.bad_pct ?? 0), 1);
      });
    }
  }

  const end = scenario.duration_ms + 2 * scenario.config.breaker.call_timeout_ms;
  while (queue.length > 0) {
    queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const next = queue.shift()!;
    if (next.at > end) break;
    now = next.at;
    next.run();
  }
  return { config, services, dependency: 'd1', requests, calls, states, faults: scenario.faults, start_ms: 0, end_ms: end };
}

/** A small, quick configuration: a 2 s window in 4 buckets (or the last 20 calls), 5 calls, 50%, 500 ms open, 200 ms timeout. */
function quickConfig(rng: Rng, changes: Parameters<typeof testConfig>[0] = {}): ResilienceConfig {
  const base = testConfig({
    breaker: {
      window_kind: rng.pick(['time', 'count'] as const),
      window_ms: 2000,
      window_buckets: 4,
      window_calls: 20,
      min_calls: 5,
      slow_rate_pct: rng.pick([50, 100]),
      slow_call_ms: 150,
      open_wait_ms: 500,
      half_open_calls: 1 + rng.int(3),
      call_timeout_ms: 200,
    },
    bulkhead: { kind: 'semaphore', max: 4 },
    retry: { retries_max: rng.int(3), backoff_ms_base: 10, backoff_ms_max: 100, jitter: 'full', budget_pct: 20, budget_min_per_s: 1, budget_window_ms: 1000 },
  });
  return { ...base, breaker: { ...base.breaker, ...changes.breaker }, bulkhead: { ...base.bulkhead, ...changes.bulkhead }, retry: { ...base.retry, ...changes.retry } };
}

const clear = (at_ms: number): FaultRecord => ({ at_ms, errors_pct: 0, latency_ms: 0, hang: false });
const fail = (at_ms: number, errors_pct: number, latency_ms = 0, hang = false): FaultRecord => ({ at_ms, errors_pct, latency_ms, hang });

function randomFaults(rng: Rng): FaultRecord[] {
  const faults: FaultRecord[] = [];
  let t = 500 + rng.int(1000);
  for (let i = 1 + rng.int(3); i > 0; i--) {
    faults.push(fail(t, rng.pick([30, 60, 100]), rng.pick([0, 0, 180]), rng.next() < 0.2));
    t += 500 + rng.int(1500);
  }
  faults.push(clear(t));
  return faults;
}

describe('runs of the correct core pass every property', () => {
  it('200 runs with random faults, configurations and outcomes', () => {
    const failures: { seed: number; texts: string[] }[] = [];
    let opened = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const rng = createRng(seed);
      const faults = randomFaults(rng);
      const record = simulate({ config: quickConfig(rng), faults, duration_ms: faults.at(-1)!.at_ms + 2000, request_every_ms: 10 + rng.int(30), bad_pct: 5 }, rng);
      // Half the records do not say how many calls each request made (a reply need not carry it).
      if (seed % 2 === 0) for (const request of record.requests) delete request.attempts;
      const check = checkBreaker(record, tolerances);
      opened += Object.values(check.figures.services).reduce((n, s) => n + s.opens, 0);
      if (!check.ok) failures.push({ seed, texts: check.violations.map((v) => v.text) });
    }
    expect(failures.slice(0, 3)).toEqual([]);
    // The runs did exercise the breaker.
    expect(opened).toBeGreaterThan(200);
  });
});

describe('naive retries in a full outage, shown as a figure', () => {
  it('with 2 retries, no budget and no breaker, every request makes 3 calls', () => {
    const rng = createRng(5);
    const config = quickConfig(rng, { breaker: { enabled: false }, bulkhead: { kind: 'none' }, retry: { retries_max: 2, budget_pct: null } });
    const check = checkBreaker(simulate({ config, faults: [fail(500, 100), clear(3500)], duration_ms: 4000, request_every_ms: 20 }, rng), tolerances);
    expect(check.violations).toEqual([]);
    const outages = check.figures.outages;
    expect(outages.map((o) => o.service)).toEqual(['s1', 's2']);
    // Requests sent near the outage's ends have only some of their attempts inside it.
    for (const o of outages) expect(o.calls_per_request).toBeGreaterThan(2.8);
    for (const o of outages) expect(o.calls_per_request).toBeLessThan(3.2);
  });
});

describe('each planted bug fails the property it breaks (and the correct core passes the same run)', () => {
  const cases: { bug: string; property: string; scenario: (rng: Rng) => Omit<Scenario, 'bug'> }[] = [
    {
      bug: 'never_half_opens',
      property: 'recovery_late',
      scenario: (rng) => ({ config: quickConfig(rng), faults: [fail(500, 100), clear(1500)], duration_ms: 3500, request_every_ms: 20 }),
    },
    {
      bug: 'half_open_admits_all',
      property: 'half_open_overadmitted',
      // Trials hang until the timeout, while requests keep arriving.
      scenario: (rng) => ({ config: quickConfig(rng), faults: [fail(500, 0, 0, true), clear(2500)], duration_ms: 4000, request_every_ms: 10 }),
    },
    {
      bug: 'window_never_forgets',
      property: 'window_kept_old_outcomes',
      // A request every 500 ms: a 1 s window never holds the 5 calls it needs; a window keeping everything does.
      scenario: (rng) => ({
        config: quickConfig(rng, { breaker: { window_kind: 'time', window_ms: 1000, window_buckets: 4 }, retry: { retries_max: 0 } }),
        faults: [fail(0, 100), clear(5000)],
        duration_ms: 6000,
        request_every_ms: 500,
      }),
    },
    {
      bug: 'timeout_counts_as_success',
      property: 'half_open_failed_not_reopened',
      // Errors open it; then the dependency hangs, and the trial's timeout must reopen it.
      scenario: (rng) => ({ config: quickConfig(rng), faults: [fail(300, 100), fail(1000, 0, 0, true), clear(3000)], duration_ms: 4500, request_every_ms: 20 }),
    },
    {
      bug: 'retry_without_budget',
      property: 'retry_amplification',
      // No breaker to stop the calls: only the budget holds the retries back.
      scenario: (rng) => ({
        config: quickConfig(rng, { breaker: { enabled: false }, retry: { retries_max: 3, budget_pct: 10, budget_min_per_s: 0 } }),
        faults: [fail(500, 100), clear(3500)],
        duration_ms: 4000,
        request_every_ms: 20,
      }),
    },
    {
      bug: 'bulkhead_leaks_on_timeout',
      property: 'bulkhead_leaked',
      scenario: (rng) => ({ config: quickConfig(rng), faults: [fail(500, 0, 0, true), clear(1000)], duration_ms: 3000, request_every_ms: 20 }),
    },
  ];
  for (const { bug, property, scenario } of cases) {
    it(`${bug}: ${property}`, () => {
      for (let seed = 1; seed <= 10; seed++) {
        const planted = checkBreaker(simulate({ ...scenario(createRng(seed)), bug }, createRng(seed + 1000)), tolerances);
        expect({ seed, found: planted.violations.some((v) => v.property === property) }).toEqual({ seed, found: true });
        const correct = checkBreaker(simulate(scenario(createRng(seed)), createRng(seed + 1000)), tolerances);
        expect({ seed, violations: correct.violations.map((v) => v.text) }).toEqual({ seed, violations: [] });
      }
    });
  }
});
