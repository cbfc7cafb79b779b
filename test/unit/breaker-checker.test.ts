// The breaker checker on hand-built records: each property once held and once broken, with the words it says.
import { describe, expect, it } from 'vitest';
import { cause_window_starts_max, checkBreaker, type BreakerProperty } from '../../src/systems/breaker/checker.js';
import type { BreakerRecord, CallRecord, RequestRecord, StateRecord } from '../../src/systems/breaker/record.js';
import { recordOf, testConfig } from './breaker-checker-fixtures.js';

function call(sent_ms: number, answered_ms: number | null, result: CallRecord['result'] = 'success', service = 's1'): CallRecord {
  return { service, sent_ms, answered_ms, result: answered_ms === null ? 'unanswered' : result, attempt: 1 };
}
function state(at_ms: number, breaker: StateRecord['breaker'], node = 's1'): StateRecord {
  return { node, at_ms, breaker };
}
function request(sent_ms: number, answered_ms: number | null, outcome: RequestRecord['outcome'], service = 's1'): RequestRecord {
  return { service, client: 'c1', sent_ms, answered_ms, outcome };
}
/** n calls that failed, one every `every_ms` from `from_ms`, each answered 20 ms later. */
function failures(n: number, from_ms: number, every_ms = 100, result: CallRecord['result'] = 'failure'): CallRecord[] {
  return Array.from({ length: n }, (_, i) => call(from_ms + i * every_ms, from_ms + i * every_ms + 20, result));
}
function found(record: BreakerRecord, property: BreakerProperty): string[] {
  return checkBreaker(record).violations.filter((v) => v.property === property).map((v) => v.text);
}

describe('opened_without_cause and window_kept_old_outcomes (dslab window: 10 s in 10 buckets, min 10 calls, 50%)', () => {
  it('passes an open on 10 failures within the window', () => {
    const record = recordOf({ calls: failures(10, 1000), states: [state(1950, 'open')] });
    expect(found(record, 'opened_without_cause')).toEqual([]);
    expect(checkBreaker(record).ok).toBe(true);
  });

  it('names an open on fewer calls than the minimum, with the window it held', () => {
    const record = recordOf({ calls: failures(5, 1000), states: [state(1950, 'open')] });
    expect(found(record, 'opened_without_cause')).toEqual(['s1 opened at 1.9 s without cause: its window (the last 10 s) held 5 calls, 5 failed (100%), 0 slow; it needs at least 10 calls and 50% failed or 100% slow']);
  });

  it('counts only outcomes already known: an unanswered call fails at sent + call timeout', () => {
    const hung = Array.from({ length: 10 }, (_, i) => call(i * 50, null));
    // The tenth timeout is known at 450 + 1000 ms.
    expect(found(recordOf({ calls: hung, states: [state(1500, 'open')] }), 'opened_without_cause')).toEqual([]);
    expect(found(recordOf({ calls: hung, states: [state(1100, 'open')] }), 'opened_without_cause')).toHaveLength(1);
  });

  it('allows clock_ms between the last outcome and the report', () => {
    // The tenth failure is known at 1920; a report 200 ms before it is within the 250 ms tolerance.
    expect(found(recordOf({ calls: failures(10, 1000), states: [state(1720, 'open')] }), 'opened_without_cause')).toEqual([]);
    expect(found(recordOf({ calls: failures(10, 1000), states: [state(1620, 'open')] }), 'opened_without_cause')).toHaveLength(1);
  });

  it('does not count ignored calls (bad requests)', () => {
    const calls = [...failures(5, 1000), ...failures(5, 1050, 100, 'ignored')];
    expect(found(recordOf({ calls, states: [state(2000, 'open')] }), 'opened_without_cause')).toHaveLength(1);
  });

  it('opens on the slow-call rate', () => {
    const config = testConfig({ breaker: { slow_rate_pct: 50, slow_call_ms: 300 } });
    const slow = Array.from({ length: 10 }, (_, i) => call(1000 + i * 100, 1000 + i * 100 + 400));
    expect(found(recordOf({ config, calls: slow, states: [state(2500, 'open')] }), 'opened_without_cause')).toEqual([]);
    const quick = Array.from({ length: 10 }, (_, i) => call(1000 + i * 100, 1000 + i * 100 + 20));
    expect(found(recordOf({ config, calls: quick, states: [state(2500, 'open')] }), 'opened_without_cause')).toHaveLength(1);
  });

  it('tells an open on outcomes that left the time window apart from one without cause', () => {
    // Ten failures at 1–2 s; by 30 s they are 28 s old, far out of a 10 s window.
    const record = recordOf({ calls: failures(10, 1000), states: [state(30_000, 'open')] });
    expect(found(record, 'opened_without_cause')).toEqual([]);
    expect(found(record, 'window_kept_old_outcomes')).toEqual([
      's1 opened at 30.0 s on outcomes that had left its window: the last 10 s held 0 calls, 0 failed (0%), 0 slow, but counting every outcome since 0.0 s gives 10 calls, 10 failed (100%), 0 slow; it needs at least 10 calls and 50% failed or 100% slow',
    ]);
  });

  it('keeps an outcome a bucket past window_ms less one bucket (bucketed windows drop a bucket at a time)', () => {
    // The first failure is known at 1020; at 11 000 it is 9.98 s old: inside a 10 s window.
    expect(found(recordOf({ calls: failures(10, 1000, 1000), states: [state(11_000, 'open')] }), 'window_kept_old_outcomes')).toEqual([]);
    // At 11 300 the first has left however the buckets fall (the 250 ms tolerance included).
    expect(found(recordOf({ calls: failures(10, 1000, 1000), states: [state(11_300, 'open')] }), 'window_kept_old_outcomes')).toHaveLength(1);
  });

  it('a count window keeps only its last calls', () => {
    const config = testConfig({ breaker: { window_kind: 'count', window_calls: 10, min_calls: 10 } });
    const calls = [...failures(10, 1000), ...failures(10, 2000, 100, 'success')];
    expect(found(recordOf({ config, calls, states: [state(3000, 'open')] }), 'window_kept_old_outcomes')).toHaveLength(1);
    expect(found(recordOf({ config, calls: failures(10, 1000), states: [state(2000, 'open')] }), 'window_kept_old_outcomes')).toEqual([]);
  });

  it('takes outcomes within clock_ms of the report in or out of the window each on its own, not only in the router\'s order', () => {
    // 4 of 9 failed well before the report at 5 s; near it, an answer at 4.9 s and a timeout at 5.1 s
    // (the call sent at 4.1 s). The service may have timed out before the answer reached it:
    // the timeout in and the answer not yet gives 5 of 10. Every window in the router's order
    // (none, the answer, both) falls short.
    const early = [...failures(4, 1000), ...failures(5, 2000, 100, 'success')];
    const racing = recordOf({ calls: [...early, call(4880, 4900), call(4100, null)], states: [state(5000, 'open')] });
    expect(checkBreaker(racing).violations).toEqual([]);
    // An answer 300 ms before the report was surely in the window: 5 of 11 failed at best.
    const answered_before = recordOf({ calls: [...early, call(4680, 4700), call(4100, null)], states: [state(5000, 'open')] });
    expect(found(answered_before, 'opened_without_cause')).toHaveLength(1);
  });

  it('lets a count window\'s oldest outcomes come in either order when they are within twice clock_ms of each other', () => {
    // A count window of 10 at 4 s: a failure at 1.02 s, a success at 1.12 s, then 4 failures and 5
    // successes. In the router's order the last 10 hold 4 failures; had the service learned the
    // success first, they would hold 5 (each outcome may reach it up to clock_ms either way).
    const config = testConfig({ breaker: { window_kind: 'count', window_calls: 10, min_calls: 10 } });
    const later = [...failures(4, 2000), ...failures(5, 2400, 100, 'success')];
    const close = recordOf({ config, calls: [call(1000, 1020, 'failure'), call(1100, 1120), ...later], states: [state(4000, 'open')] });
    expect(checkBreaker(close).violations).toEqual([]);
    // 600 ms apart, more than twice clock_ms: the success surely came after the failure (and all 11 hold 5 failures: no cause either).
    const apart = recordOf({ config, calls: [call(1000, 1020, 'failure'), call(1600, 1620), ...later], states: [state(4000, 'open')] });
    expect(found(apart, 'opened_without_cause')).toHaveLength(1);
  });

  it(`says when the search for a window with a cause stopped at ${cause_window_starts_max} window starts`, () => {
    // 15,000 successes over 10 s and a one-bucket 10 s window: a window start per outcome time ± clock_ms, more than the bound.
    const config = testConfig({ breaker: { window_buckets: 1 } });
    const calls = Array.from({ length: 15_000 }, (_, i) => call(1000 + i * (2 / 3), 1000 + i * (2 / 3) + 1));
    const texts = found(recordOf({ config, calls, states: [state(11_500, 'open')] }), 'opened_without_cause');
    expect(texts).toHaveLength(1);
    expect(texts[0]).toContain(`(the search for a window with a cause stopped after ${cause_window_starts_max} window starts: this may be a window it did not try)`);
    // A record within the bound says nothing of it.
    expect(found(recordOf({ config, calls: calls.slice(0, 100), states: [state(11_500, 'open')] }), 'opened_without_cause')[0]).not.toContain('search');
  });

  it('a close from half-open clears the window: an open counting outcomes from before it kept old outcomes', () => {
    const calls = [...failures(10, 1000), call(7000, 7020), ...failures(4, 8000)];
    const states = [state(1950, 'open'), state(7000, 'half_open'), state(7030, 'closed'), state(8400, 'open')];
    expect(checkBreaker(recordOf({ calls, states })).violations.map((v) => v.text)).toEqual([
      's1 opened at 8.4 s on outcomes that had left its window: the last 10 s since it closed at 7.0 s held 4 calls, 4 failed (100%), 0 slow, but counting every outcome since 0.0 s gives 15 calls, 14 failed (93%), 0 slow; it needs at least 10 calls and 50% failed or 100% slow',
    ]);
  });

  it('a service that turns closed straight from open (restarted) starts a new window too', () => {
    const calls = [...failures(10, 1000), ...failures(4, 8000)];
    const states = [state(1950, 'open'), state(5000, 'closed'), state(8400, 'open')];
    expect(found(recordOf({ calls, states }), 'window_kept_old_outcomes')).toHaveLength(1);
    const later = [state(1950, 'open'), state(5000, 'closed'), state(9000, 'open')];
    expect(checkBreaker(recordOf({ calls: [...failures(10, 1000), ...failures(10, 8000)], states: later })).ok).toBe(true);
  });

  it('a disabled breaker never opens', () => {
    const config = testConfig({ breaker: { enabled: false } });
    expect(found(recordOf({ config, calls: failures(10, 1000), states: [state(1950, 'open')] }), 'opened_without_cause')).toEqual(['s1 opened at 1.9 s although its breaker is disabled']);
  });
});

describe('called_while_open (open wait 5 s)', () => {
  const opened = [...failures(10, 1000), ...[]];
  it('passes calls before the open, within clock_ms of it, and after half-open', () => {
    const calls = [...opened, call(2050, 2070), call(7010, 7030)];
    const states = [state(1950, 'open'), state(7000, 'half_open'), state(7040, 'closed')];
    expect(found(recordOf({ calls, states }), 'called_while_open')).toEqual([]);
  });
  it('names the calls sent while open', () => {
    const calls = [...opened, call(3000, 3020), call(3500, 3520), call(4000, 4020)];
    expect(found(recordOf({ calls, states: [state(1950, 'open')] }), 'called_while_open')).toEqual(['s1 sent 3 calls to d1 between 3.0 s and 4.0 s while its breaker was open (opened at 1.9 s)']);
  });
});

describe('short_circuit_slow (call timeout 1 s: p99 within 500 ms)', () => {
  it('passes fast short circuits and names slow ones with their p99', () => {
    const fast = Array.from({ length: 50 }, (_, i) => request(2000 + i * 10, 2000 + i * 10 + 3, 'short_circuited'));
    expect(found(recordOf({ requests: fast }), 'short_circuit_slow')).toEqual([]);
    expect(checkBreaker(recordOf({ requests: fast })).figures.services.s1!.short_circuit_p99_ms).toBe(3);
    const slow = fast.map((r, i) => (i % 10 === 0 ? { ...r, answered_ms: r.sent_ms + 700 } : r));
    // Refused on a retry, after a first attempt that took its time: not a short circuit's own latency.
    const retried = fast.map((r, i) => (i % 10 === 0 ? { ...r, answered_ms: r.sent_ms + 700, attempts: 1 } : { ...r, attempts: 0 }));
    expect(found(recordOf({ requests: retried }), 'short_circuit_slow')).toEqual([]);
    // Attempts unknown: a slow refusal while the service was calling may have been a retry's; one while it sent nothing was not.
    const calling = fast.filter((_, i) => i % 10 === 0).map((r) => call(r.sent_ms + 1, r.sent_ms + 300, 'failure'));
    expect(found(recordOf({ requests: slow, calls: calling }), 'short_circuit_slow')).toEqual([]);
    expect(found(recordOf({ requests: slow, calls: [call(5000, 5020)] }), 'short_circuit_slow')).toHaveLength(1);
    expect(found(recordOf({ requests: slow }), 'short_circuit_slow')).toEqual([
      "s1's short-circuited requests took 700 ms at p99 (50 of them, the first this slow at 2.0 s); a short circuit must answer within 0.5 of the 1000 ms call timeout (500 ms)",
    ]);
  });
});

describe('half_open_overadmitted and half_open_failed_not_reopened (one trial)', () => {
  const before = failures(10, 1000);
  const open = state(1950, 'open');
  it('passes one trial that closes, then calls after the close', () => {
    const calls = [...before, call(7001, 7021), call(7025, 7045), call(7030, 7050)];
    expect(checkBreaker(recordOf({ calls, states: [open, state(7000, 'half_open'), state(7022, 'closed')] })).ok).toBe(true);
  });
  it('passes calls sent after the trial answered but before the close report arrived', () => {
    const calls = [...before, call(7001, 7021), call(7022, 7042)];
    expect(found(recordOf({ calls, states: [open, state(7000, 'half_open'), state(7023, 'closed')] }), 'half_open_overadmitted')).toEqual([]);
  });
  it('names trials beyond half_open_calls sent while the first was out', () => {
    const calls = [...before, call(7001, 8001), call(7100, 8100), call(7200, 8200)];
    expect(found(recordOf({ calls, states: [open, state(7000, 'half_open'), state(8002, 'closed')] }), 'half_open_overadmitted')).toEqual([
      's1 let 3 trial calls through to d1 between 7.0 s and 7.2 s in half-open (from 7.0 s); it may let 1',
    ]);
  });
  it('passes a failed trial that reopens', () => {
    const calls = [...before, call(7001, 7021, 'failure')];
    expect(checkBreaker(recordOf({ calls, states: [open, state(7000, 'half_open'), state(7022, 'open')] })).ok).toBe(true);
  });
  it('names a failed trial followed by a close', () => {
    const calls = [...before, call(7001, 7021, 'failure')];
    expect(found(recordOf({ calls, states: [open, state(7000, 'half_open'), state(7022, 'closed')] }), 'half_open_failed_not_reopened')).toEqual([
      's1 closed at 7.0 s although a trial call failed at 7.0 s (half-open from 7.0 s)',
    ]);
  });
  it('a timed-out trial is a failed trial', () => {
    const calls = [...before, call(7001, null)];
    expect(found(recordOf({ calls, states: [open, state(7000, 'half_open'), state(8001, 'closed')] }), 'half_open_failed_not_reopened')).toHaveLength(1);
    expect(found(recordOf({ calls, states: [open, state(7000, 'half_open'), state(8005, 'open')] }), 'half_open_failed_not_reopened')).toEqual([]);
  });
  it('names a service that stays half-open and keeps calling after a failed trial', () => {
    const calls = [...before, call(7001, 7021, 'failure'), call(7500, 7520), call(7600, 7620)];
    expect(found(recordOf({ calls, states: [open, state(7000, 'half_open'), state(9000, 'open')] }), 'half_open_failed_not_reopened')).toEqual([
      's1 did not report open until 9.0 s and sent 2 more calls to d1 after a trial call failed at 7.0 s (half-open from 7.0 s)',
    ]);
  });
});

describe('recovery_late (open wait 5 s + call timeout 1 s + 2 s)', () => {
  const faults = [
    { at_ms: 1000, errors_pct: 100, latency_ms: 0, hang: false },
    { at_ms: 10_000, errors_pct: 0, latency_ms: 0, hang: false },
  ];
  it('passes a service closed again before the deadline', () => {
    const states = [state(2000, 'open'), state(7000, 'half_open'), state(7010, 'open'), state(12_000, 'half_open'), state(12_030, 'closed')];
    expect(found(recordOf({ faults, calls: failures(10, 1000), states }), 'recovery_late')).toEqual([]);
  });
  it('names a service still open at the deadline', () => {
    expect(found(recordOf({ faults, calls: failures(10, 1000), states: [state(2000, 'open')] }), 'recovery_late')).toEqual([
      's1 was still open at 18.0 s, 8 s after the faults were cleared at 10.0 s; allowed: 5 s open wait + 1 s call timeout + 2 s',
    ]);
  });
  it('allows an open after the clearing (the window still held the fault) its own wait, from that open', () => {
    const calls = [...failures(10, 9500)];
    const reopened = [state(10_500, 'open'), state(15_500, 'half_open'), state(15_530, 'closed')];
    expect(found(recordOf({ faults, calls, states: reopened }), 'recovery_late')).toEqual([]);
    expect(found(recordOf({ faults, calls, states: [state(10_500, 'open'), state(19_000, 'half_open'), state(19_030, 'closed')] }), 'recovery_late')).toEqual([
      's1 was still open at 18.5 s, 8 s after it opened at 10.5 s, after the faults were cleared at 10.0 s; allowed: 5 s open wait + 1 s call timeout + 2 s',
    ]);
  });
  it('excuses short circuits within an allowed stretch, not after it', () => {
    const states = [state(17_000, 'open'), state(22_000, 'half_open'), state(22_030, 'closed')];
    const calls = failures(10, 16_000);
    expect(found(recordOf({ faults, calls, states, requests: [request(19_000, 19_002, 'short_circuited')] }), 'recovery_late')).toEqual([]);
    expect(found(recordOf({ faults, calls, states, requests: [request(23_000, 23_002, 'short_circuited')] }), 'recovery_late')).toHaveLength(1);
  });
  it('names short circuits after the deadline', () => {
    const requests = [request(19_000, 19_002, 'short_circuited'), request(19_100, 19_102, 'short_circuited')];
    expect(found(recordOf({ faults, requests }), 'recovery_late')).toEqual(['s1 short-circuited 2 requests from 19.0 s, 9 s after the faults were cleared at 10.0 s; allowed: 5 s open wait + 1 s call timeout + 2 s']);
  });
  it('does not judge a record that ends before the deadline', () => {
    expect(found(recordOf({ faults, end_ms: 15_000, states: [state(2000, 'open')] }), 'recovery_late')).toEqual([]);
  });
});

describe('bulkhead_exceeded and bulkhead_leaked (semaphore of 2)', () => {
  it('passes two calls at once and names three', () => {
    expect(found(recordOf({ calls: [call(100, 200), call(150, 250), call(200, 300)] }), 'bulkhead_exceeded')).toEqual([]);
    expect(found(recordOf({ calls: [call(100, 200), call(150, 250), call(160, 300)] }), 'bulkhead_exceeded')).toEqual(['s1 had 3 calls to d1 in flight at once from 0.2 s to 0.2 s; its bulkhead allows 2']);
    expect(checkBreaker(recordOf({ calls: [call(100, 200), call(150, 250), call(160, 300)] })).figures.services.s1!.max_in_flight).toBe(3);
  });
  it('a timed-out call gives its permit back at the timeout', () => {
    expect(found(recordOf({ calls: [call(0, null), call(10, 20), call(1000, 1100), call(1050, 1150)] }), 'bulkhead_exceeded')).toEqual([]);
    expect(found(recordOf({ calls: [call(0, null), call(10, 20), call(600, 700), call(650, 750)] }), 'bulkhead_exceeded')).toHaveLength(1);
  });
  it('passes a rejection while both permits are in use', () => {
    const calls = [call(100, 1100), call(150, 1150)];
    expect(found(recordOf({ calls, requests: [request(500, 501, 'rejected')] }), 'bulkhead_leaked')).toEqual([]);
  });
  it('names rejections while permits were free (a permit kept after a timeout)', () => {
    const calls = [call(0, null), call(10, null), call(3000, 3020)];
    const requests = [request(2000, 2001, 'rejected'), request(2500, 2501, 'rejected')];
    expect(found(recordOf({ calls, requests }), 'bulkhead_leaked')).toEqual(['s1 rejected 2 requests between 2.0 s and 2.5 s while at most 0 of its 2 bulkhead permits were in use']);
  });
});

describe('retry_amplification (an outage of 10 s; 2 retries)', () => {
  const requests = Array.from({ length: 100 }, (_, i) => request(1000 + i * 100, 1000 + i * 100 + 50, 'failed'));
  const calls = (per_request: number) => requests.flatMap((r) => Array.from({ length: per_request }, (_, k) => call(r.sent_ms + k * 10, r.sent_ms + k * 10 + 5, 'failure')));
  const budget = (pct: number | null) => testConfig({ retry: { retries_max: 2, budget_pct: pct, budget_min_per_s: 0 } });
  it('passes calls within 1 + the budget per request', () => {
    expect(found(recordOf({ config: budget(20), requests, calls: calls(1) }), 'retry_amplification')).toEqual([]);
  });
  it('names naive retries over a budget, with the ratio', () => {
    expect(found(recordOf({ config: budget(20), requests, calls: calls(3) }), 'retry_amplification')).toEqual([
      's1 sent 300 calls to d1 for 100 client requests between 1.0 s and 10.9 s while every call failed: 3.00 per request, above the 1.35 its 20% retry budget allows (tolerance included)',
    ]);
  });
  it('with no budget reports the ratio as a figure only', () => {
    const check = checkBreaker(recordOf({ config: budget(null), requests, calls: calls(3) }));
    expect(check.violations).toEqual([]);
    expect(check.figures.outages).toEqual([{ service: 's1', from_ms: 1000, to_ms: 10_920, requests: 100, calls: 300, calls_per_request: 3, allowed_calls: null }]);
  });
});

describe('figures', () => {
  it('counts requests per outcome, calls per result, time in each state and opens', () => {
    const check = checkBreaker(
      recordOf({
        calls: [...failures(10, 1000), call(7001, 7021)],
        states: [state(1950, 'open'), state(7000, 'half_open'), state(7022, 'closed')],
        requests: [request(100, 120, 'ok'), request(3000, 3001, 'short_circuited'), request(3100, 3101, 'short_circuited')],
        end_ms: 10_000,
      }),
    );
    const s1 = check.figures.services.s1!;
    expect(s1.requests).toMatchObject({ ok: 1, short_circuited: 2, failed: 0 });
    expect(s1.calls_by_result).toMatchObject({ success: 1, failure: 10 });
    expect(s1.state_ms).toEqual({ closed: 1950 + 2978, open: 5050, half_open: 22 });
    expect(s1.opens).toBe(1);
  });
});
