// The breaker checker against a brute-force reading of the same rules: thousands of small random
// records, each property evaluated plainly (every instant on a 1 ms grid, every call rescanned,
// every window a service may have held tried one by one).
import { describe, expect, it } from 'vitest';
import { createRng, type Rng } from '../../src/lib/util/prng.js';
import { breaker_properties, checkBreaker, type BreakerProperty, type BreakerTolerances } from '../../src/systems/breaker/checker.js';
import type { BreakerState } from '../../src/systems/breaker/core/index.js';
import type { BreakerRecord, CallRecord, RequestRecord } from '../../src/systems/breaker/record.js';
import { recordOf, testConfig } from './breaker-checker-fixtures.js';

const tol: BreakerTolerances = { clock_ms: 10, short_circuit_timeout_fraction: 0.25, recovery_ms: 200, retry_fraction: 0.1, retry_calls: 2, outage_min_ms: 100 };
const records = 2000;

function randomRecord(rng: Rng): BreakerRecord {
  const services = ['s1', 's2'];
  const config = testConfig({
    breaker: {
      window_kind: rng.pick(['time', 'count'] as const),
      window_calls: 5,
      window_ms: 100,
      window_buckets: rng.pick([1, 4]),
      min_calls: 3,
      failure_rate_pct: 50,
      slow_rate_pct: rng.pick([60, 100]),
      slow_call_ms: 80,
      open_wait_ms: 300,
      half_open_calls: rng.pick([1, 2]),
      call_timeout_ms: 100,
    },
    bulkhead: { kind: rng.pick(['semaphore', 'none'] as const), max: 2 },
    retry: { budget_pct: rng.pick([20, null]), budget_min_per_s: rng.pick([0, 2]), budget_window_ms: 500 },
  });
  const failing = rng.next();
  const calls: CallRecord[] = [];
  const requests: RequestRecord[] = [];
  const states: BreakerRecord['states'] = [];
  for (const service of services) {
    for (let i = rng.int(25); i > 0; i--) {
      const sent_ms = rng.int(500);
      const answered_ms = rng.next() < 0.15 ? null : sent_ms + rng.int(150);
      const result = answered_ms === null ? 'unanswered' : rng.next() < 0.1 ? 'ignored' : rng.next() < failing ? 'failure' : 'success';
      calls.push({ service, sent_ms, answered_ms, result, attempt: 1 });
    }
    for (let i = rng.int(25); i > 0; i--) {
      const sent_ms = rng.int(500);
      const outcome = rng.pick(['ok', 'failed', 'short_circuited', 'rejected', 'bad_request', 'fallback'] as const);
      const attempts = rng.pick([undefined, null, 0, 0, 1]);
      requests.push({ service, client: 'c1', sent_ms, answered_ms: rng.next() < 0.1 ? null : sent_ms + rng.int(outcome === 'short_circuited' ? 40 : 200), outcome, ...(attempts === undefined ? {} : { attempts }) });
    }
    const own = calls.filter((c) => c.service === service);
    for (let i = rng.int(8); i > 0; i--) {
      // Half the reports fall near an outcome, where the window is worth judging.
      const near = own.length > 0 && rng.next() < 0.5 ? (rng.pick(own).answered_ms ?? rng.pick(own).sent_ms + 100) + rng.int(40) - 20 : rng.int(600);
      // One report a millisecond: the brute force reads the state per millisecond.
      if (!states.some((s) => s.node === service && s.at_ms === near)) states.push({ node: service, at_ms: near, breaker: rng.pick(['closed', 'open', 'half_open'] as const) });
    }
  }
  const faults: BreakerRecord['faults'] = [];
  for (let i = rng.int(3); i > 0; i--) faults.push({ at_ms: rng.int(300), errors_pct: rng.pick([0, 100]), latency_ms: 0, hang: false });
  return recordOf({ config, services, calls, requests, states, faults, end_ms: rng.pick([600, 1200]) });
}

// ---- The brute force: each rule as plainly as it can be said. ----

interface Plain {
  service: string;
  sent: number;
  known: number;
  ignored: boolean;
  failed: boolean;
  failedMaybe: boolean;
  slowMaybe: boolean;
}

function plain(record: BreakerRecord, c: CallRecord): Plain {
  const timeout = record.config.breaker.call_timeout_ms;
  const inTime = c.answered_ms !== null && c.answered_ms - c.sent_ms < timeout;
  const known = inTime ? c.answered_ms! : c.sent_ms + timeout;
  const failed = !inTime || c.result === 'failure' || c.result === 'unanswered';
  return {
    service: c.service,
    sent: c.sent_ms,
    known,
    ignored: inTime && c.result === 'ignored',
    failed,
    failedMaybe: failed || known - c.sent_ms >= timeout - tol.clock_ms,
    slowMaybe: known - c.sent_ms >= record.config.breaker.slow_call_ms - tol.clock_ms,
  };
}

function changesOf(record: BreakerRecord, service: string): { at: number; from: BreakerState; to: BreakerState }[] {
  const reports = record.states.filter((s) => s.node === service).sort((a, b) => a.at_ms - b.at_ms);
  const out: { at: number; from: BreakerState; to: BreakerState }[] = [];
  let now: BreakerState = 'closed';
  for (const r of reports) {
    if (r.breaker !== now) out.push({ at: r.at_ms, from: now, to: r.breaker });
    now = r.breaker;
  }
  return out;
}

function cause(set: Plain[], record: BreakerRecord): boolean {
  const b = record.config.breaker;
  const failed = set.filter((o) => o.failedMaybe).length;
  const slow = set.filter((o) => o.slowMaybe).length;
  return set.length >= b.min_calls && set.length > 0 && (failed / set.length >= b.failure_rate_pct / 100 || slow / set.length >= b.slow_rate_pct / 100);
}

/** Subsets of at most this many uncertain outcomes are enumerated (2^16 windows); more would make a record unfit for brute force. */
const unsure_outcomes_max = 16;

/**
 * Every window the service may have held when it decided at `at` (router time), tried one by one.
 * The service learned each outcome at some whole millisecond within clock_ms of its router time,
 * each independently of the others; a window holds the outcomes learned in (lo, at] for a start lo
 * after the last close `since`: for a time window any millisecond a bucket allows, for a count
 * window the close itself (with at most window_calls outcomes since) or any later millisecond
 * that leaves exactly window_calls. For each start, every subset of the outcomes that may be in.
 */
function anyWindowCause(record: BreakerRecord, all: Plain[], at: number, since: number, kind: 'forgets' | 'keeps'): boolean {
  const b = record.config.breaker;
  const c = tol.clock_ms;
  const anyWindowFrom = (lo: number, sizeFits: (n: number) => boolean): boolean => {
    const sure: Plain[] = [];
    const unsure: Plain[] = [];
    for (const o of all) {
      // The milliseconds the service may have learned it at, against the window's (lo, at].
      const may = Math.max(o.known - c, lo + 1) <= Math.min(o.known + c, at);
      const must = o.known - c > lo && o.known + c <= at;
      if (must) sure.push(o);
      else if (may) unsure.push(o);
    }
    if (unsure.length > unsure_outcomes_max) throw new Error(`${unsure.length} uncertain outcomes at ${at}: too many to enumerate`);
    for (let mask = 0; mask < 1 << unsure.length; mask++) {
      const window = [...sure, ...unsure.filter((_, i) => mask & (1 << i))];
      if (sizeFits(window.length) && cause(window, record)) return true;
    }
    return false;
  };
  if (kind === 'keeps') return anyWindowFrom(since, () => true);
  if (b.window_kind === 'time') {
    const bucket = b.window_ms / b.window_buckets;
    for (let s = at - b.window_ms; s <= at - b.window_ms + bucket; s++) if (anyWindowFrom(Math.max(s, since), () => true)) return true;
    return false;
  }
  if (anyWindowFrom(since, (n) => n <= b.window_calls)) return true;
  const earliest = Math.min(...all.map((o) => o.known)) - c - 1;
  for (let lo = Math.max(since + 1, earliest); lo < at; lo++) if (anyWindowFrom(lo, (n) => n === b.window_calls)) return true;
  return false;
}

/**
 * The same question read in the router's order alone: each outcome learned at its router time, the
 * decision anywhere within clock_ms of the report. Only to count the opens that just the other
 * orders explain, so the comparison is seen to reach them.
 */
function routerOrderCause(record: BreakerRecord, all: Plain[], at: number, since: number): boolean {
  const b = record.config.breaker;
  const bucket = b.window_ms / b.window_buckets;
  for (let t = at - tol.clock_ms; t <= at + tol.clock_ms; t++) {
    const known = all.filter((o) => o.known <= t && o.known > since);
    if (b.window_kind === 'count') {
      if (cause(known.slice(Math.max(0, known.length - b.window_calls)), record)) return true;
    } else {
      for (let s = t - b.window_ms; s <= t - b.window_ms + bucket; s++) if (cause(known.filter((o) => o.known > s), record)) return true;
    }
  }
  return false;
}

function inFlightAt(mine: Plain[], t: number, release: (o: Plain) => number): number {
  let n = 0;
  for (const o of mine) if (o.sent <= t && t < release(o)) n++;
  return n;
}

/** The violations the rules give, read plainly; `seen` counts the opens only a window out of the router's order explains. */
function bruteViolations(record: BreakerRecord, seen: { out_of_order: number }): Map<BreakerProperty, string[]> {
  const out = new Map<BreakerProperty, string[]>(breaker_properties.map((p) => [p, []]));
  const note = (p: BreakerProperty, service: string, at: number) => out.get(p)!.push(`${service}@${at}`);
  const b = record.config.breaker;
  const all = record.calls.map((c) => plain(record, c));
  for (const service of record.services) {
    const mine = all.filter((o) => o.service === service).sort((x, y) => x.sent - y.sent);
    const windowed = mine.filter((o) => !o.ignored).sort((x, y) => x.known - y.known || x.sent - y.sent);
    const changes = changesOf(record, service);
    changes.forEach((ch, i) => {
      const next = changes[i + 1];
      const end = next?.at ?? Infinity;
      if (ch.to === 'open' && ch.from === 'closed') {
        const close = changes.slice(0, i).filter((c) => c.to === 'closed').at(-1);
        const since = close?.at ?? -Infinity;
        const explained = anyWindowCause(record, windowed, ch.at, since, 'forgets');
        if (explained && !routerOrderCause(record, windowed, ch.at, since)) seen.out_of_order++;
        if (!explained) {
          const old =
            anyWindowCause(record, windowed, ch.at, -Infinity, 'forgets') || anyWindowCause(record, windowed, ch.at, -Infinity, 'keeps') || anyWindowCause(record, windowed, ch.at, since, 'keeps');
          note(old ? 'window_kept_old_outcomes' : 'opened_without_cause', service, ch.at);
        }
      }
      if (ch.to === 'open') {
        const bad = mine.filter((o) => o.sent > ch.at + tol.clock_ms && o.sent < Math.min(end, ch.at + b.open_wait_ms) - tol.clock_ms);
        if (bad.length > 0) note('called_while_open', service, bad[0]!.sent);
      }
      if (ch.to === 'half_open') {
        const period = mine.filter((o) => o.sent >= ch.at - tol.clock_ms && o.sent < end);
        const trials = period.slice(0, b.half_open_calls);
        let decided = Infinity;
        if (trials.length === b.half_open_calls) decided = Math.max(...trials.map((o) => o.known));
        const through = period.filter((o) => o.sent < end && o.sent < decided);
        if (through.length > b.half_open_calls) note('half_open_overadmitted', service, through[b.half_open_calls]!.sent);
        const failedAt = trials.filter((o) => o.failed).map((o) => o.known);
        if (failedAt.length > 0) {
          const f = Math.min(...failedAt);
          if (next?.to === 'closed') note('half_open_failed_not_reopened', service, next.at);
          else if (end > f + tol.clock_ms && record.end_ms > f + tol.clock_ms) note('half_open_failed_not_reopened', service, f + tol.clock_ms);
        }
      }
    });

    const requests = record.requests.filter((r) => r.service === service).sort((x, y) => x.sent_ms - y.sent_ms);
    // Only refusals before any call show a short circuit's own speed; with attempts unknown, those during which the service sent nothing.
    const shorts = requests.filter(
      (r) =>
        r.outcome === 'short_circuited' &&
        r.answered_ms !== null &&
        (typeof r.attempts === 'number' ? r.attempts === 0 : !mine.some((o) => o.sent >= r.sent_ms && o.sent <= r.answered_ms!)),
    );
    if (shorts.length > 0) {
      const lat = shorts.map((r) => r.answered_ms! - r.sent_ms).sort((x, y) => x - y);
      const p99 = lat[Math.ceil(lat.length * 0.99) - 1]!;
      const limit = b.call_timeout_ms * tol.short_circuit_timeout_fraction;
      if (p99 > limit) note('short_circuit_slow', service, shorts.find((r) => r.answered_ms! - r.sent_ms > limit)!.sent_ms);
    }

    const faults = [...record.faults].sort((x, y) => x.at_ms - y.at_ms);
    const clear = (f: BreakerRecord['faults'][number]) => f.errors_pct === 0 && f.latency_ms === 0 && !f.hang;
    if (faults.length > 0 && clear(faults.at(-1)!) && faults.some((f) => !clear(f))) {
      const c = faults.at(-1)!.at_ms;
      const allowed = b.open_wait_ms + b.call_timeout_ms + tol.recovery_ms;
      const reports = record.states.filter((s) => s.node === service).sort((x, y) => x.at_ms - y.at_ms);
      // The reported state at every millisecond, and the runs of milliseconds out of closed.
      const horizon = record.end_ms + 1;
      const stateAt: BreakerState[] = [];
      for (let t = 0; t <= horizon; t++) stateAt.push(reports.filter((s) => s.at_ms <= t).at(-1)?.breaker ?? 'closed');
      const runs: { start: number; to: number }[] = [];
      for (let t = 0; t <= horizon; t++) {
        if (stateAt[t] === 'closed') continue;
        if (t === 0 || stateAt[t - 1] === 'closed') runs.push({ start: t, to: Infinity });
        if (t < horizon && stateAt[t + 1] === 'closed') runs.at(-1)!.to = t + 1;
      }
      let first = Infinity;
      for (const run of runs.filter((r) => r.to > c)) {
        const deadline = Math.max(c, run.start) + allowed;
        if (run.to > deadline && deadline < record.end_ms) first = Math.min(first, deadline);
      }
      for (const r of requests) {
        if (r.outcome !== 'short_circuited' || r.sent_ms <= c + allowed || r.sent_ms >= record.end_ms) continue;
        const excused = runs.some((run) => run.to > c && r.sent_ms >= run.start - tol.clock_ms && r.sent_ms <= Math.min(run.to, Math.max(c, run.start) + allowed));
        if (!excused) first = Math.min(first, r.sent_ms);
      }
      if (first !== Infinity) note('recovery_late', service, first);
    }

    const permits = record.config.bulkhead.kind === 'none' ? Infinity : record.config.bulkhead.max;
    const released = (o: Plain) => o.known;
    const releasedEarly = (o: Plain) => (o.known === o.sent + b.call_timeout_ms && o.failed ? o.known - tol.clock_ms : o.known);
    let before = 0;
    for (let t = -1; t <= 700; t++) {
      const now = inFlightAt(mine, t, releasedEarly);
      if (now > permits && before <= permits) note('bulkhead_exceeded', service, t);
      before = now;
    }
    let inRun = false;
    for (const r of requests.filter((q) => q.outcome === 'rejected')) {
      let most = 0;
      const widened = mine.map((o) => ({ ...o, sent: o.sent - tol.clock_ms }));
      for (let t = r.sent_ms; t <= (r.answered_ms ?? r.sent_ms); t++) most = Math.max(most, inFlightAt(widened, t, (o) => released(o) + tol.clock_ms));
      if (most >= permits) inRun = false;
      else if (!inRun) {
        note('bulkhead_leaked', service, r.sent_ms);
        inRun = true;
      }
    }
  }

  // Outages: runs of consecutive failed calls (ignored ones skipped) lasting outage_min_ms or more.
  const sent = all.filter((o) => !o.ignored).sort((x, y) => x.sent - y.sent);
  let start: number | null = null;
  const outages: [number, number][] = [];
  sent.forEach((o, i) => {
    if (o.failed && start === null) start = i;
    const ends = o.failed && (i === sent.length - 1 || !sent[i + 1]!.failed);
    if (ends && start !== null) {
      if (o.sent - sent[start]!.sent >= tol.outage_min_ms) outages.push([sent[start]!.sent, o.sent]);
      start = null;
    }
  });
  const retry = record.config.retry;
  for (const [from, to] of outages) {
    for (const service of record.services) {
      const asked = (since: number) => record.requests.filter((r) => r.service === service && r.outcome !== 'bad_request' && r.sent_ms >= since && r.sent_ms <= to).length;
      const n = asked(from);
      if (n === 0 || retry.budget_pct === null) continue;
      const made = sent.filter((o) => o.service === service && o.sent >= from && o.sent <= to).length;
      const allowed = n + n * tol.retry_fraction + (asked(from - retry.budget_window_ms) * retry.budget_pct) / 100 + (retry.budget_min_per_s * (to - from + retry.budget_window_ms)) / 1000 + tol.retry_calls;
      if (made > Math.floor(allowed)) note('retry_amplification', service, from);
    }
  }
  return out;
}

describe('the breaker checker agrees with a brute-force evaluation', () => {
  it(`on ${records} random records, property by property`, () => {
    const fired = new Map<BreakerProperty, number>(breaker_properties.map((p) => [p, 0]));
    const disagreements: { seed: number; property: BreakerProperty; checker: string[]; brute: string[] }[] = [];
    const seen = { out_of_order: 0 };
    for (let seed = 1; seed <= records; seed++) {
      const record = randomRecord(createRng(seed));
      const checked = checkBreaker(record, tol);
      const brute = bruteViolations(record, seen);
      for (const property of breaker_properties) {
        const mine = checked.violations.filter((v) => v.property === property).map((v) => `${v.service}@${v.at_ms}`).sort();
        const expected = brute.get(property)!.sort();
        if (expected.length > 0) fired.set(property, fired.get(property)! + 1);
        if (mine.join() !== expected.join()) disagreements.push({ seed, property, checker: mine, brute: expected });
      }
      if (checked.ok !== [...brute.values()].every((v) => v.length === 0)) disagreements.push({ seed, property: 'opened_without_cause', checker: ['ok?'], brute: [] });
    }
    expect(disagreements.slice(0, 5)).toEqual([]);
    // The comparison is not vacuous: every property fired on some records (and, by the ok check, held on others).
    for (const property of breaker_properties) expect({ property, fired: fired.get(property)! > 0 }).toEqual({ property, fired: true });
    // Some opens are explained only by outcomes learned in another order than the router's (or in or
    // out of the window against it): the comparison covers those windows too.
    expect(seen.out_of_order).toBeGreaterThan(10);
  });
});
