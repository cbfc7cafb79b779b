// The breaker checker (dslab breaker check, the closing check at down, the grader): pure, no I/O.
/**
 * Judges a run from what the router saw (record.ts): the clients' requests, the services'
 * calls to the dependency with their answers, and the breaker states the services reported.
 * It recomputes each service's window from the calls themselves rather than trusting what the
 * service says of it. Times are the router's; a service's own clock and its view of a message
 * differ from the router's by the message's trip, so every comparison across the two allows
 * `clock_ms` and leans toward passing a correct service (a violation is certain, not likely).
 * Every violation is said in words, with times relative to the record's start.
 */
import type { BreakerState, ResilienceConfig } from './core/index.js';
import type { BreakerRecord, CallRecord, CallRecordResult, RequestOutcome } from './record.js';
import { countAtMost, countBelow } from '../../lib/util/sorted.js';

export const breaker_properties = [
  'opened_without_cause',
  'window_kept_old_outcomes',
  'called_while_open',
  'short_circuit_slow',
  'half_open_overadmitted',
  'half_open_failed_not_reopened',
  'recovery_late',
  'bulkhead_exceeded',
  'bulkhead_leaked',
  'retry_amplification',
] as const;
export type BreakerProperty = (typeof breaker_properties)[number];

export interface BreakerTolerances {
  /** How far the router's time of an event may be from the service's own (message trips, timers, report order). */
  clock_ms: number;
  /** A short-circuited request's p99 latency must stay below this share of the call timeout. */
  short_circuit_timeout_fraction: number;
  /** Beyond open wait + call timeout, how long after the last fault clears a service may take to carry full traffic again. */
  recovery_ms: number;
  /** Calls per request in an outage may exceed what the budget allows by this share of the requests… */
  retry_fraction: number;
  /** …plus this many calls (retries of requests sent just before the outage began). */
  retry_calls: number;
  /** A run of failed calls shorter than this is not an outage (retry_amplification needs a steady state). */
  outage_min_ms: number;
}

export const default_breaker_tolerances: BreakerTolerances = {
  clock_ms: 250,
  // Half the call timeout: far below waiting a call out, and above what a loaded 2-core machine adds to a fast refusal.
  short_circuit_timeout_fraction: 0.5,
  recovery_ms: 2000,
  retry_fraction: 0.1,
  retry_calls: 5,
  outage_min_ms: 1000,
};

export interface BreakerViolation {
  property: BreakerProperty;
  service?: string;
  at_ms: number;
  text: string;
}

export interface ServiceFigures {
  requests: Record<RequestOutcome, number>;
  calls: number;
  calls_by_result: Record<CallRecordResult, number>;
  /** Time in each reported state over the record (closed from the start until a report says otherwise). */
  state_ms: Record<BreakerState, number>;
  opens: number;
  short_circuit_p99_ms: number | null;
  max_in_flight: number;
}

/** One service during one outage (a run of calls that all failed). */
export interface OutageFigures {
  service: string;
  from_ms: number;
  to_ms: number;
  requests: number;
  calls: number;
  calls_per_request: number;
  /** The calls the retry budget allows (tolerance included); null when there is no budget. */
  allowed_calls: number | null;
}

export interface BreakerFigures {
  services: Record<string, ServiceFigures>;
  outages: OutageFigures[];
}

export interface BreakerCheck {
  ok: boolean;
  violations: BreakerViolation[];
  figures: BreakerFigures;
}

// ---------------------------------------------------------------------------------------------
// What each call meant to the service that made it.

/** A call as its service's breaker and bulkhead saw it. */
export interface CallOutcome {
  service: string;
  sent_ms: number;
  /** When its outcome was known: the answer, or the timeout at sent + call timeout. */
  known_ms: number;
  /** Answered in time as a bad request: not counted in the window. */
  ignored: boolean;
  /** Certainly a failure: an error answer, no answer, or an answer after the timeout. */
  failed: boolean;
  /** Possibly a failure to the service (its time runs longer than the router's by the trips): for the window only. */
  failed_maybe: boolean;
  /** Possibly slow to the service: for the window only. */
  slow_maybe: boolean;
  /** When the service gave its permit back (answer or timeout). */
  released_ms: number;
}

export function callOutcome(call: CallRecord, config: ResilienceConfig, clock_ms: number): CallOutcome {
  const timeout = config.breaker.call_timeout_ms;
  const answered_in_time = call.answered_ms !== null && call.answered_ms - call.sent_ms < timeout;
  const known_ms = answered_in_time ? call.answered_ms! : call.sent_ms + timeout;
  const duration = known_ms - call.sent_ms;
  const failed = !answered_in_time || call.result === 'failure' || call.result === 'unanswered';
  return {
    service: call.service,
    sent_ms: call.sent_ms,
    known_ms,
    ignored: answered_in_time && call.result === 'ignored',
    failed,
    failed_maybe: failed || duration >= timeout - clock_ms,
    slow_maybe: duration >= config.breaker.slow_call_ms - clock_ms,
    released_ms: known_ms,
  };
}

// ---------------------------------------------------------------------------------------------
// The states each service reported, as changes.

export interface StateChange {
  at_ms: number;
  from: BreakerState;
  to: BreakerState;
}

/** A service's reports reduced to its changes of state (it starts closed). */
export function stateChanges(record: BreakerRecord, service: string): StateChange[] {
  const reports = record.states.filter((s) => s.node === service).sort((a, b) => a.at_ms - b.at_ms);
  const changes: StateChange[] = [];
  let current: BreakerState = 'closed';
  for (const report of reports) {
    if (report.breaker === current) continue;
    changes.push({ at_ms: report.at_ms, from: current, to: report.breaker });
    current = report.breaker;
  }
  return changes;
}

// ---------------------------------------------------------------------------------------------
// Windows: did some window the service may have held when it opened show a cause?

/**
 * The most window starts the search for a cause tries for one decision. Each is two binary
 * searches; a window start is needed per outcome time near the window's edges, so only a dense
 * record with a wide clock tolerance comes near it, and a finding then says the search was cut.
 */
export const cause_window_starts_max = 20_000;

interface WindowCount {
  calls: number;
  failed: number;
  slow: number;
}

function hasCause(w: WindowCount, config: ResilienceConfig): boolean {
  const b = config.breaker;
  return w.calls >= b.min_calls && w.calls > 0 && (w.failed * 100 >= b.failure_rate_pct * w.calls || w.slow * 100 >= b.slow_rate_pct * w.calls);
}

/** Prefix sums over outcomes sorted by known_ms, so the outcomes known in any stretch are counted at once. */
class Counted {
  readonly known: number[];
  private readonly failed: number[] = [0];
  private readonly slow: number[] = [0];
  constructor(outcomes: readonly CallOutcome[]) {
    this.known = outcomes.map((o) => o.known_ms);
    for (const o of outcomes) {
      this.failed.push(this.failed.at(-1)! + (o.failed_maybe ? 1 : 0));
      this.slow.push(this.slow.at(-1)! + (o.slow_maybe ? 1 : 0));
    }
  }
  /** Outcomes known in (from, to]. */
  between(from: number, to: number): WindowCount {
    if (!(from < to)) return { calls: 0, failed: 0, slow: 0 };
    const i = countAtMost(this.known, from);
    const j = countAtMost(this.known, to);
    return { calls: j - i, failed: this.failed[j]! - this.failed[i]!, slow: this.slow[j]! - this.slow[i]! };
  }
}

/**
 * Could a window holding the outcomes the service learned in (lo, hi] of its own time show a cause?
 * The service learned each outcome within clock_ms of the router's time for it, each independently:
 * one whose time is more than clock_ms inside the stretch is in, one whose time is within clock_ms
 * of an end may be in or out. `size` bounds how many the window holds (a count window).
 */
function mayHaveCause(counted: Counted, lo: number, hi: number, clock_ms: number, size: { min: number; max: number }, config: ResilienceConfig): boolean {
  const sure = counted.between(lo + clock_ms, hi - clock_ms);
  const maybe = counted.between(lo - clock_ms, hi + clock_ms);
  const least = Math.max(sure.calls, size.min, config.breaker.min_calls, 1);
  const most = Math.min(maybe.calls, size.max);
  if (least > most) return false;
  // Taking the uncertain outcomes that count against the service first, then the others only as
  // needed to reach `least`: the share flagged rises, then falls, with the window's size, so the
  // best size is one of these three.
  const reaches = (flagged_sure: number, flagged_maybe: number, rate_pct: number) =>
    [least, most, Math.min(most, Math.max(least, sure.calls + flagged_maybe - flagged_sure))].some(
      (calls) => (flagged_sure + Math.min(flagged_maybe - flagged_sure, calls - sure.calls)) * 100 >= rate_pct * calls,
    );
  return reaches(sure.failed, maybe.failed, config.breaker.failure_rate_pct) || reaches(sure.slow, maybe.slow, config.breaker.slow_rate_pct);
}

/**
 * Points standing for every distinct content of a window starting in [from, to]: the breakpoints in
 * it, and a point inside each stretch between them (where the content is constant).
 */
function representatives(sorted_breaks: readonly number[], from: number, to: number): number[] {
  const inside = sorted_breaks.filter((x) => x > from && x < to);
  const points = [...new Set([from, ...inside, to])];
  return points.flatMap((p, i) => (i + 1 < points.length ? [p, (p + points[i + 1]!) / 2] : [p]));
}

/** Where the window's content can change as its start moves through [from, to]: each outcome's time ± clock_ms. */
function startBreaks(counted: Counted, from: number, to: number, clock_ms: number): number[] {
  const near = counted.known.slice(countBelow(counted.known, from - clock_ms), countAtMost(counted.known, to + clock_ms));
  return near.flatMap((k) => [k - clock_ms, k + clock_ms]).sort((x, y) => x - y);
}

export interface CauseSearch {
  cause: boolean;
  /** The search stopped at cause_window_starts_max window starts without finding a cause. */
  cut: boolean;
}

/**
 * Could some window the service may have held when it decided at `at_ms` (router time) have shown
 * a cause? The service learned each outcome within clock_ms of the router's time for it, so an
 * outcome within clock_ms of an edge of the window may be in or out of it, and outcomes within
 * clock_ms of each other may have come in either order. The window starts after `since_ms` (a close
 * report, which empties it); a time window with buckets holds outcomes up to window_ms old and at
 * least those younger than window_ms less one bucket; a count window the last window_calls
 * outcomes; `forgetting` false asks the same of a window that never drops anything.
 */
export function windowMayHaveCause(outcomes: readonly CallOutcome[], at_ms: number, config: ResilienceConfig, clock_ms: number, forgetting: boolean, since_ms = -Infinity): CauseSearch {
  const counted = new Counted(outcomes);
  const b = config.breaker;
  const unbounded = { min: 0, max: Infinity };
  if (!forgetting) return { cause: mayHaveCause(counted, since_ms, at_ms, clock_ms, unbounded, config), cut: false };
  let starts: number[];
  let size = unbounded;
  if (b.window_kind === 'time') {
    // The window's start (exclusive) lies within [at - window_ms, at - window_ms + one bucket].
    const from = at_ms - b.window_ms;
    const to = from + b.window_ms / b.window_buckets;
    // A start before the close is the close (its window is emptied there).
    starts = [...new Set(representatives(startBreaks(counted, from, to, clock_ms), from, to).map((s) => Math.max(s, since_ms)))];
  } else {
    // All the outcomes since the close, when there are at most window_calls of them…
    if (mayHaveCause(counted, since_ms, at_ms, clock_ms, { min: 0, max: b.window_calls }, config)) return { cause: true, cut: false };
    // …or exactly the last window_calls, from a start after the close. Only starts between the
    // window_calls-th last outcome that may be in and the one after the window_calls-th last that
    // is surely in can give that many.
    const known = counted.known;
    const may_in = countAtMost(known, at_ms + clock_ms);
    const sure_in = countAtMost(known, at_ms - clock_ms);
    if (may_in < b.window_calls) return { cause: false, cut: false };
    const to = known[may_in - b.window_calls]! + clock_ms;
    const from = Math.max(since_ms, sure_in > b.window_calls ? known[sure_in - b.window_calls - 1]! - clock_ms : known[0]! - clock_ms);
    if (!(from < to)) return { cause: false, cut: false };
    starts = representatives(startBreaks(counted, from, to, clock_ms), from, to).filter((s) => s > since_ms);
    size = { min: b.window_calls, max: b.window_calls };
  }
  for (let i = 0; i < starts.length; i++) {
    if (i === cause_window_starts_max) return { cause: false, cut: true };
    if (mayHaveCause(counted, starts[i]!, at_ms, clock_ms, size, config)) return { cause: true, cut: false };
  }
  return { cause: false, cut: false };
}

function windowText(w: WindowCount): string {
  const pct = w.calls ? Math.round((w.failed * 100) / w.calls) : 0;
  return `${w.calls} call${w.calls === 1 ? '' : 's'}, ${w.failed} failed (${pct}%), ${w.slow} slow`;
}

/** The service's exact window at t (full window length), for the words. */
function windowAt(outcomes: readonly CallOutcome[], t: number, config: ResilienceConfig, forgetting: boolean): WindowCount {
  const b = config.breaker;
  const known = outcomes.filter((o) => o.known_ms <= t);
  const kept = !forgetting ? known : b.window_kind === 'count' ? known.slice(-b.window_calls) : known.filter((o) => o.known_ms > t - b.window_ms);
  return { calls: kept.length, failed: kept.filter((o) => o.failed_maybe).length, slow: kept.filter((o) => o.slow_maybe).length };
}

// ---------------------------------------------------------------------------------------------

const request_outcomes: RequestOutcome[] = ['ok', 'fallback', 'failed', 'short_circuited', 'rejected', 'bad_request', 'timeout'];
const call_results: CallRecordResult[] = ['success', 'failure', 'ignored', 'unanswered'];

/** The q quantile (nearest rank) of values, sorted ascending. */
function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Calls of one service in flight over time: the most at once, and each stretch at each count. */
interface InFlightStep {
  at_ms: number;
  count: number;
}

/** The number of calls in flight from each change on ([sent, released) each). */
function inFlightSteps(calls: readonly CallOutcome[], held: (c: CallOutcome) => [number, number]): InFlightStep[] {
  const events: [number, number][] = [];
  for (const c of calls) {
    const [start, end] = held(c);
    if (end <= start) continue;
    events.push([start, 1], [end, -1]);
  }
  // At equal times releases go first: a permit given back at t is free for a call sent at t.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const steps: InFlightStep[] = [{ at_ms: -Infinity, count: 0 }];
  let count = 0;
  for (const [at, delta] of events) {
    count += delta;
    if (steps.at(-1)!.at_ms === at) steps.at(-1)!.count = count;
    else steps.push({ at_ms: at, count });
  }
  return steps;
}

/** The most calls in flight at any instant of [from, to]. */
function mostInFlight(steps: readonly InFlightStep[], from: number, to: number): number {
  // The step in force at `from` is the last one that began at or before it (the first always has).
  let lo = 0;
  let hi = steps.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (steps[mid]!.at_ms <= from) lo = mid;
    else hi = mid - 1;
  }
  let most = 0;
  for (let i = lo; i < steps.length && steps[i]!.at_ms <= to; i++) most = Math.max(most, steps[i]!.count);
  return most;
}

export function checkBreaker(record: BreakerRecord, tolerances: Partial<BreakerTolerances> = {}): BreakerCheck {
  const tol: BreakerTolerances = { ...default_breaker_tolerances, ...tolerances };
  const { config } = record;
  const b = config.breaker;
  const dep = record.dependency;
  const rel = (ms: number) => `${((ms - record.start_ms) / 1000).toFixed(1)} s`;
  const secs = (ms: number) => `${Number((ms / 1000).toFixed(1))} s`;
  const violations: BreakerViolation[] = [];
  const add = (property: BreakerProperty, service: string | undefined, at_ms: number, text: string) => violations.push({ property, ...(service === undefined ? {} : { service }), at_ms, text });
  const figures: BreakerFigures = { services: {}, outages: [] };

  const all_outcomes = record.calls.map((c) => callOutcome(c, config, tol.clock_ms));
  const services = [...new Set([...record.services, ...record.calls.map((c) => c.service), ...record.requests.map((r) => r.service)])];

  // The last fault's clearing, when there was a fault.
  const faults = [...record.faults].sort((x, y) => x.at_ms - y.at_ms);
  const isClear = (f: (typeof faults)[number]) => f.errors_pct === 0 && f.latency_ms === 0 && !f.hang;
  const last_fault = faults.at(-1);
  const cleared_ms = last_fault !== undefined && isClear(last_fault) && faults.some((f) => !isClear(f)) ? last_fault.at_ms : null;

  for (const service of services) {
    const outcomes = all_outcomes.filter((o) => o.service === service).sort((x, y) => x.sent_ms - y.sent_ms);
    const windowed = outcomes.filter((o) => !o.ignored).sort((x, y) => x.known_ms - y.known_ms || x.sent_ms - y.sent_ms);
    const requests = record.requests.filter((r) => r.service === service).sort((x, y) => x.sent_ms - y.sent_ms);
    const changes = stateChanges(record, service);

    // Figures.
    const fig: ServiceFigures = {
      requests: Object.fromEntries(request_outcomes.map((k) => [k, 0])) as Record<RequestOutcome, number>,
      calls: outcomes.length,
      calls_by_result: Object.fromEntries(call_results.map((k) => [k, 0])) as Record<CallRecordResult, number>,
      state_ms: { closed: 0, open: 0, half_open: 0 },
      opens: changes.filter((c) => c.to === 'open').length,
      short_circuit_p99_ms: null,
      max_in_flight: 0,
    };
    for (const r of requests) fig.requests[r.outcome]++;
    for (const c of record.calls) if (c.service === service) fig.calls_by_result[c.result]++;
    let state_from = record.start_ms;
    let state: BreakerState = 'closed';
    for (const change of changes) {
      fig.state_ms[state] += Math.max(0, Math.min(change.at_ms, record.end_ms) - state_from);
      state_from = Math.max(state_from, change.at_ms);
      state = change.to;
    }
    fig.state_ms[state] += Math.max(0, record.end_ms - state_from);
    figures.services[service] = fig;

    // opened_without_cause, window_kept_old_outcomes: each change from closed to open.
    for (let i = 0; i < changes.length; i++) {
      const change = changes[i]!;
      if (change.to !== 'open' || change.from !== 'closed') continue;
      if (!b.enabled) {
        add('opened_without_cause', service, change.at_ms, `${service} opened at ${rel(change.at_ms)} although its breaker is disabled`);
        continue;
      }
      // A close clears the window (the core, Hystrix and resilience4j all do; an open that turns
      // closed without a half-open is a restarted service, whose window is new as well): the window
      // holds the outcomes learned after the close (the trials' answers came before it). An open
      // that only a window keeping older outcomes explains (one never dropping any, or one not
      // cleared at the close) kept old outcomes.
      const close = changes.slice(0, i).findLast((c) => c.to === 'closed');
      const since_ms = close?.at_ms ?? -Infinity;
      const search = (forgetting: boolean, since: number) => windowMayHaveCause(windowed, change.at_ms, config, tol.clock_ms, forgetting, since);
      const own = search(true, since_ms);
      if (own.cause) continue;
      const since_close = windowed.filter((o) => o.known_ms > since_ms);
      const needs = `it needs at least ${plural(b.min_calls, 'call')} and ${b.failure_rate_pct}% failed or ${b.slow_rate_pct}% slow`;
      const kept = windowAt(since_close, change.at_ms, config, true);
      const scope = b.window_kind === 'count' ? `last ${plural(b.window_calls, 'call')}` : `last ${secs(b.window_ms)}`;
      const cut = own.cut ? ` (the search for a window with a cause stopped after ${cause_window_starts_max} window starts: this may be a window it did not try)` : '';
      const old_enough = search(true, -Infinity).cause || search(false, -Infinity).cause || search(false, since_ms).cause;
      if (old_enough) {
        const all = windowAt(windowed, change.at_ms, config, false);
        add(
          'window_kept_old_outcomes',
          service,
          change.at_ms,
          `${service} opened at ${rel(change.at_ms)} on outcomes that had left its window: the ${scope}${close === undefined ? '' : ` since it closed at ${rel(close.at_ms)}`} held ${windowText(kept)}, but counting every outcome since ${rel(record.start_ms)} gives ${windowText(all)}; ${needs}${cut}`,
        );
      } else {
        add('opened_without_cause', service, change.at_ms, `${service} opened at ${rel(change.at_ms)} without cause: its window (the ${scope}) held ${windowText(kept)}; ${needs}${cut}`);
      }
    }

    // called_while_open: calls sent inside an open stretch (allowing clock_ms at both ends), before
    // the open wait could have ended.
    for (let i = 0; i < changes.length; i++) {
      const change = changes[i]!;
      if (change.to !== 'open') continue;
      const next = changes[i + 1]?.at_ms ?? Infinity;
      const from = change.at_ms + tol.clock_ms;
      const to = Math.min(next, change.at_ms + b.open_wait_ms) - tol.clock_ms;
      const inside = outcomes.filter((o) => o.sent_ms > from && o.sent_ms < to);
      if (inside.length === 0) continue;
      const first = inside[0]!.sent_ms;
      const last = inside.at(-1)!.sent_ms;
      const when = inside.length === 1 ? `at ${rel(first)}` : `between ${rel(first)} and ${rel(last)}`;
      add('called_while_open', service, first, `${service} sent ${plural(inside.length, 'call')} to ${dep} ${when} while its breaker was open (opened at ${rel(change.at_ms)})`);
    }

    // half_open_overadmitted, half_open_failed_not_reopened: each half-open stretch.
    for (let i = 0; i < changes.length; i++) {
      const change = changes[i]!;
      if (change.to !== 'half_open') continue;
      const after = changes[i + 1];
      const end = after?.at_ms ?? Infinity;
      const candidates = outcomes.filter((o) => o.sent_ms >= change.at_ms - tol.clock_ms && o.sent_ms < end);
      const trials = candidates.slice(0, b.half_open_calls);
      // Until every trial's outcome is known the service cannot have closed: whatever it sent before then was a trial.
      const decided_ms = trials.length < b.half_open_calls ? Infinity : Math.max(...trials.map((t) => t.known_ms));
      const admitted = candidates.filter((o) => o.sent_ms < Math.min(end, decided_ms));
      if (admitted.length > b.half_open_calls) {
        add(
          'half_open_overadmitted',
          service,
          admitted[b.half_open_calls]!.sent_ms,
          `${service} let ${plural(admitted.length, 'trial call')} through to ${dep} between ${rel(admitted[0]!.sent_ms)} and ${rel(admitted.at(-1)!.sent_ms)} in half-open (from ${rel(change.at_ms)}); it may let ${b.half_open_calls}`,
        );
      }
      const failed = trials.filter((t) => t.failed);
      if (failed.length === 0) continue;
      const failed_ms = Math.min(...failed.map((t) => t.known_ms));
      const deadline = failed_ms + tol.clock_ms;
      const failure = `a trial call failed at ${rel(failed_ms)}`;
      if (after?.to === 'closed') {
        add('half_open_failed_not_reopened', service, after.at_ms, `${service} closed at ${rel(after.at_ms)} although ${failure} (half-open from ${rel(change.at_ms)})`);
      } else if (end > deadline && record.end_ms > deadline) {
        const kept_calling = outcomes.filter((o) => o.sent_ms > deadline && o.sent_ms < end).length;
        const calls = kept_calling > 0 ? ` and sent ${plural(kept_calling, 'more call')} to ${dep}` : '';
        const until = after === undefined ? 'did not report open by the end' : `did not report open until ${rel(end)}`;
        add('half_open_failed_not_reopened', service, deadline, `${service} ${until}${calls} after ${failure} (half-open from ${rel(change.at_ms)})`);
      }
    }

    // short_circuit_slow: requests refused before any call; a retry's refusal carries its earlier
    // attempts' time. Where the record does not say how many calls a request made, it is judged
    // only if its service sent no call at all while it waited (so none can have been its own).
    const sent_times = outcomes.map((o) => o.sent_ms);
    const noCallDuring = (r: (typeof requests)[number]) => countAtMost(sent_times, r.answered_ms!) === countBelow(sent_times, r.sent_ms);
    const short = requests.filter((r) => r.outcome === 'short_circuited' && r.answered_ms !== null && (typeof r.attempts === 'number' ? r.attempts === 0 : noCallDuring(r)));
    if (short.length > 0) {
      const latencies = short.map((r) => r.answered_ms! - r.sent_ms).sort((x, y) => x - y);
      const p99 = quantile(latencies, 0.99);
      fig.short_circuit_p99_ms = p99;
      const limit = b.call_timeout_ms * tol.short_circuit_timeout_fraction;
      if (p99 > limit) {
        const slowest = short.find((r) => r.answered_ms! - r.sent_ms > limit)!;
        add(
          'short_circuit_slow',
          service,
          slowest.sent_ms,
          `${service}'s short-circuited requests took ${Math.round(p99)} ms at p99 (${short.length} of them, the first this slow at ${rel(slowest.sent_ms)}); a short circuit must answer within ${tol.short_circuit_timeout_fraction} of the ${b.call_timeout_ms} ms call timeout (${Math.round(limit)} ms)`,
        );
      }
    }

    // recovery_late: after the last fault is cleared, every stretch out of closed (open and
    // half-open, from the open until the next close) must end within the allowance of the clearing
    // or of its own start, whichever is later (a window may still hold the fault's failures and open
    // after the clearing: that open is judged by opened_without_cause, its length here). Short
    // circuits outside every such allowed stretch count too (for a service that reports no states).
    if (cleared_ms !== null) {
      const allowed_ms = b.open_wait_ms + b.call_timeout_ms + tol.recovery_ms;
      const allowance = `allowed: ${secs(b.open_wait_ms)} open wait + ${secs(b.call_timeout_ms)} call timeout + ${secs(tol.recovery_ms)}`;
      const stretches: { from: number; to: number; deadline: number }[] = [];
      for (let i = 0; i < changes.length; i++) {
        const change = changes[i]!;
        if (change.from !== 'closed') continue;
        const to = changes.slice(i + 1).find((c) => c.to === 'closed')?.at_ms ?? Infinity;
        if (to > cleared_ms) stretches.push({ from: change.at_ms, to, deadline: Math.max(cleared_ms, change.at_ms) + allowed_ms });
      }
      // Each way it was late; the earliest is the finding.
      const late: { at: number; text: string }[] = [];
      const consider = (at: number, text: () => string) => {
        if (at < record.end_ms) late.push({ at, text: text() });
      };
      for (const stretch of stretches) {
        if (stretch.to <= stretch.deadline) continue;
        const state_then = changes.findLast((c) => c.at_ms <= stretch.deadline)!.to;
        const since = stretch.from > cleared_ms ? `it opened at ${rel(stretch.from)}, after the faults were cleared at ${rel(cleared_ms)}` : `the faults were cleared at ${rel(cleared_ms)}`;
        consider(stretch.deadline, () => `${service} was still ${state_then.replace('_', '-')} at ${rel(stretch.deadline)}, ${secs(stretch.deadline - Math.max(cleared_ms, stretch.from))} after ${since}; ${allowance}`);
      }
      const excused = (t: number) => stretches.some((s) => t >= s.from - tol.clock_ms && t <= Math.min(s.to, s.deadline));
      const shorted = requests.filter((r) => r.outcome === 'short_circuited' && r.sent_ms > cleared_ms + allowed_ms && !excused(r.sent_ms));
      if (shorted.length > 0) {
        const first_short = shorted[0]!.sent_ms;
        consider(first_short, () => `${service} short-circuited ${plural(shorted.length, 'request')} from ${rel(first_short)}, ${secs(first_short - cleared_ms)} after the faults were cleared at ${rel(cleared_ms)}; ${allowance}`);
      }
      const first = late.sort((x, y) => x.at - y.at)[0];
      if (first !== undefined) add('recovery_late', service, first.at, first.text);
    }

    // bulkhead_exceeded: calls in flight at once, a timed-out call's permit taken back clock_ms early.
    const limit = config.bulkhead.kind === 'none' ? Infinity : config.bulkhead.max;
    // The router sees a call leave after the service took its permit and its answer before the
    // service gives the permit back: its view of a call lies inside the service's, except a
    // timeout, which the service's own timer ends up to clock_ms sooner.
    const lenient = inFlightSteps(outcomes, (o) => [o.sent_ms, o.failed && o.known_ms === o.sent_ms + b.call_timeout_ms ? o.released_ms - tol.clock_ms : o.released_ms]);
    const exact = inFlightSteps(outcomes, (o) => [o.sent_ms, o.released_ms]);
    fig.max_in_flight = exact.reduce((most, s) => Math.max(most, s.count), 0);
    for (let i = 0; i < lenient.length; i++) {
      const step = lenient[i]!;
      if (step.count <= limit || (lenient[i - 1]?.count ?? 0) > limit) continue;
      let j = i;
      let most = step.count;
      while (j + 1 < lenient.length && lenient[j + 1]!.count > limit) most = Math.max(most, lenient[++j]!.count);
      const until = lenient[j + 1]?.at_ms ?? record.end_ms;
      add('bulkhead_exceeded', service, step.at_ms, `${service} had ${most} calls to ${dep} in flight at once from ${rel(step.at_ms)} to ${rel(until)}; its bulkhead allows ${limit}`);
    }

    // bulkhead_leaked: a request rejected although fewer than the bulkhead's permits were in use
    // throughout its stay at the service; a call counts as holding its permit from clock_ms before
    // the router saw it leave to clock_ms after its answer or timeout (the service's view is wider
    // than the router's by the trips). Consecutive ones are one finding.
    const possibly_held = inFlightSteps(outcomes, (o) => [o.sent_ms - tol.clock_ms, o.released_ms + tol.clock_ms]);
    const rejected = requests.filter((r) => r.outcome === 'rejected');
    let run: { first: number; last: number; count: number; most: number } | null = null;
    const flush = () => {
      if (run === null) return;
      const when = run.count === 1 ? `at ${rel(run.first)}` : `between ${rel(run.first)} and ${rel(run.last)}`;
      add('bulkhead_leaked', service, run.first, `${service} rejected ${plural(run.count, 'request')} ${when} while at most ${run.most} of its ${limit === Infinity ? 'unlimited' : limit} bulkhead permits were in use`);
      run = null;
    };
    for (const r of rejected) {
      const most = mostInFlight(possibly_held, r.sent_ms, r.answered_ms ?? r.sent_ms);
      if (most >= limit) {
        flush();
        continue;
      }
      if (run === null) run = { first: r.sent_ms, last: r.sent_ms, count: 1, most };
      else {
        run.last = r.sent_ms;
        run.count++;
        run.most = Math.max(run.most, most);
      }
    }
    flush();
  }

  // retry_amplification: outages are runs of calls (all services, by send time) that all failed.
  const by_sent = all_outcomes.filter((o) => !o.ignored).sort((x, y) => x.sent_ms - y.sent_ms);
  const outages: { from: number; to: number }[] = [];
  for (let i = 0; i < by_sent.length; ) {
    if (!by_sent[i]!.failed) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < by_sent.length && by_sent[j + 1]!.failed) j++;
    const from = by_sent[i]!.sent_ms;
    const to = by_sent[j]!.sent_ms;
    if (to - from >= tol.outage_min_ms) outages.push({ from, to });
    i = j + 1;
  }
  const retry = config.retry;
  for (const outage of outages) {
    for (const service of services) {
      const counted = (r: (typeof record.requests)[number], from: number) => r.service === service && r.outcome !== 'bad_request' && r.sent_ms >= from && r.sent_ms <= outage.to;
      const requests = record.requests.filter((r) => counted(r, outage.from)).length;
      if (requests === 0) continue;
      const calls = by_sent.filter((o) => o.service === service && o.sent_ms >= outage.from && o.sent_ms <= outage.to).length;
      let allowed: number | null = null;
      if (retry.budget_pct !== null) {
        // A budget over a sliding window also spends what the requests just before the outage earned.
        const earning = record.requests.filter((r) => counted(r, outage.from - retry.budget_window_ms)).length;
        const floor = (retry.budget_min_per_s * (outage.to - outage.from + retry.budget_window_ms)) / 1000;
        allowed = Math.floor(requests * (1 + tol.retry_fraction) + (retry.budget_pct / 100) * earning + floor + tol.retry_calls);
      }
      const ratio = calls / requests;
      figures.outages.push({ service, from_ms: outage.from, to_ms: outage.to, requests, calls, calls_per_request: ratio, allowed_calls: allowed });
      if (allowed !== null && calls > allowed) {
        add(
          'retry_amplification',
          service,
          outage.from,
          `${service} sent ${calls} calls to ${dep} for ${plural(requests, 'client request')} between ${rel(outage.from)} and ${rel(outage.to)} while every call failed: ${ratio.toFixed(2)} per request, above the ${(allowed / requests).toFixed(2)} its ${retry.budget_pct}% retry budget allows (tolerance included)`,
        );
      }
    }
  }

  violations.sort((x, y) => x.at_ms - y.at_ms);
  return { ok: violations.length === 0, violations, figures };
}
