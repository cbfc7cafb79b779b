/**
 * dslab lab: circuit-breaker. Starter code in TypeScript on dslab's node runtime.
 *
 * dslab starts this program as every service (s1..sN). Clients send a service
 * `call`; the service does the work by calling the dependency d1 (`work`),
 * which dslab makes fail, slow down or hang. The runtime (the import below;
 * `dslab lab init` points it at your dslab installation) does the message
 * plumbing. Then come the options, the four parts that are yours (marked
 * TODO), and the service itself: the request's path through the breaker, the
 * bulkhead and the retries, the replies, the state reports and the notes, all
 * given.
 *
 *     dslab grade circuit-breaker --bin "node --import __DSLAB_TSX__ node.ts"
 *     dslab grade circuit-breaker --bin "node --import __DSLAB_TSX__ node.ts" --only opens-on-errors
 *
 * Logs: node.log(...) writes to stderr (`dslab logs s1`). Never write to
 * stdout yourself: stdout is the network.
 *
 * TODO:
 *   1. Window: the outcomes of recent calls, over the last window_calls calls
 *      (window_kind "count") or the last window_ms milliseconds in
 *      window_buckets buckets ("time"). Old outcomes must leave it.
 *   2. Breaker: closed -> open when the window holds at least min_calls calls
 *      and the failure rate or the slow-call rate reaches its threshold;
 *      open -> half_open once open_wait_ms passed; half_open admits exactly
 *      half_open_calls trial calls, reopens at once on a failed (or timed-out,
 *      or slow) trial, and closes when all of them succeeded.
 *   3. Bulkhead: at most bulkhead_max calls to d1 in flight; the rest rejected.
 *   4. RetryBudget: whether a failed attempt may be retried, and after how
 *      long: at most retries_max retries, exponential backoff with full
 *      jitter, and retries in the last retry_budget_window_ms no more than
 *      retry_budget_pct percent of the requests in it (plus
 *      retry_budget_min_per_s a second). retry_budget_pct null: no budget.
 *   Read README.md, next to this file, for the messages and the tests.
 */
import { Node, RpcError } from '__DSLAB_RUNTIME__';

/** A message as the runtime hands it to a handler. */
interface Message {
  src: string;
  dest: string;
  body: { type: string; msg_id?: number; [field: string]: unknown };
}

const error_codes = { temporarily_unavailable: 11, malformed_request: 12, crash: 13 } as const;

// ---------------------------------------------------------------------------
// Options (env DSLAB_OPTIONS): the tests set their own, so always use these.
// Absent ones take dslab's defaults.
// ---------------------------------------------------------------------------

const options = ((): Record<string, unknown> => {
  try {
    return JSON.parse(process.env.DSLAB_OPTIONS ?? '{}') as Record<string, unknown>;
  } catch {
    return {};
  }
})();
const option = <T>(name: string, fallback: T): T => (options[name] === undefined || options[name] === null ? fallback : (options[name] as T));

const config = {
  enabled: option('breaker_enabled', true),
  window_kind: option<'count' | 'time'>('breaker_window_kind', 'time'),
  window_calls: option('breaker_window_calls', 100),
  window_ms: option('breaker_window_ms', 10_000),
  window_buckets: option('breaker_window_buckets', 10),
  min_calls: option('breaker_min_calls', 10),
  failure_rate_pct: option('breaker_failure_rate_pct', 50),
  slow_rate_pct: option('breaker_slow_rate_pct', 100),
  slow_call_ms: option('breaker_slow_call_ms', 1000),
  open_wait_ms: option('breaker_open_wait_ms', 5000),
  half_open_calls: option('breaker_half_open_calls', 1),
  call_timeout_ms: option('breaker_call_timeout_ms', 2000),
  bulkhead_kind: option<'semaphore' | 'none'>('breaker_bulkhead_kind', 'semaphore'),
  bulkhead_max: option('breaker_bulkhead_max', 10),
  retries_max: option('breaker_retries_max', 2),
  backoff_ms_base: option('breaker_backoff_ms_base', 50),
  backoff_ms_max: option('breaker_backoff_ms_max', 1000),
  jitter: option<'full' | 'none'>('breaker_jitter', 'full'),
  /** null means no budget: naive retries. Absent means dslab's default budget. */
  retry_budget_pct: 'breaker_retry_budget_pct' in options ? (options.breaker_retry_budget_pct as number | null) : 10,
  retry_budget_min_per_s: option('breaker_retry_budget_min_per_s', 1),
  retry_budget_window_ms: option('breaker_retry_budget_window_ms', 10_000),
  fallback: option('breaker_fallback', false),
};

/** Milliseconds on a clock that only goes forward: measure every duration with it. */
const nowMs = () => performance.now();

type BreakerState = 'closed' | 'open' | 'half_open';
type CallResult = 'success' | 'failure' | 'timeout' | 'ignored';
interface Snapshot {
  calls: number;
  failures: number;
  slow: number;
}

// ---------------------------------------------------------------------------
// 1. The window (TODO)
// ---------------------------------------------------------------------------

/**
 * The outcomes of the recent calls the breaker judges by. Each recorded call
 * is a failure or not, and slow or not (a call that took slow_call_ms or more,
 * success or failure). "count": the last window_calls calls. "time": the calls
 * of the last window_ms, kept in window_buckets buckets of window_ms /
 * window_buckets each, so a whole bucket leaves at once.
 */
class Window {
  // TODO: what you keep.

  record(_now: number, _failed: boolean, _slow: boolean): void {
    // TODO: add one call's outcome (and, for a count window, let the oldest go).
  }

  /** The counts over the window as it is at `now`. */
  snapshot(_now: number): Snapshot {
    // TODO: the counts, without the outcomes that have left the window.
    return { calls: 0, failures: 0, slow: 0 };
  }

  clear(): void {
    // TODO: forget everything (the breaker starts afresh when it closes).
  }
}

// ---------------------------------------------------------------------------
// 2. The breaker (TODO)
// ---------------------------------------------------------------------------

/** closed, open or half_open, moved only through this.move (given). */
class Breaker {
  readonly window = new Window();
  current: BreakerState = 'closed';
  since = nowMs();
  // TODO: what else you keep (the trial calls let in, and how many succeeded).

  /** The state at `now`. An open breaker turns half_open here, once open_wait_ms passed. */
  state(_now: number): BreakerState {
    // TODO: open -> half_open after the wait; say so with
    //   this.move(now, 'half_open', `half-open after ${seconds(config.open_wait_ms)} open`);
    return this.current;
  }

  /** May a call go to d1 now? trial: a half-open trial call. */
  tryAcquire(_now: number): { admitted: boolean; trial: boolean } {
    if (!config.enabled) return { admitted: true, trial: false };
    // TODO: closed admits; open refuses; half_open admits only half_open_calls trials
    // however many requests arrive while they are in flight.
    return { admitted: true, trial: false };
  }

  /** An admitted call ended. */
  onResult(_now: number, _result: CallResult, _duration_ms: number, _trial: boolean): void {
    if (!config.enabled) return;
    // TODO: a timeout is a failure; an ignored call counts for nothing. Record it in
    // the window; when closed, open if the window says so:
    //   this.move(now, 'open', openedText(this.window.snapshot(now)));
    // When half_open (trial is true): a failed or slow trial reopens at once
    //   this.move(now, 'open', 'reopened: a trial call failed');
    // and all half_open_calls trials succeeded closes it (window cleared):
    //   this.move(now, 'closed', `closed: ${n} of ${n} trial calls succeeded`);
  }

  /** An admitted call that was never made (the bulkhead refused it): give back its trial slot. */
  cancel(_trial: boolean): void {
    // TODO
  }

  // -- given ----------------------------------------------------------------

  /** Every change of state goes through here: it is what the grader and the dashboard see. */
  protected move(now: number, to: BreakerState, text: string): void {
    const was = this.current;
    this.current = to;
    this.since = now;
    onTransition(was, to, text);
  }
}

const seconds = (ms: number) => `${ms / 1000} s`;

/** The words for an opening: "opened: 12 of 20 calls failed in the last 10 s (60% ≥ 50%)". */
function openedText({ calls, failures, slow }: Snapshot): string {
  const where = config.window_kind === 'time' ? `in the last ${seconds(config.window_ms)}` : `of the last ${config.window_calls}`;
  const failure_pct = calls ? (100 * failures) / calls : 0;
  if (failure_pct >= config.failure_rate_pct) return `opened: ${failures} of ${calls} calls failed ${where} (${Math.round(failure_pct)}% ≥ ${config.failure_rate_pct}%)`;
  return `opened: ${slow} of ${calls} calls were slower than ${config.slow_call_ms} ms ${where} (${Math.round(calls ? (100 * slow) / calls : 0)}% ≥ ${config.slow_rate_pct}%)`;
}

// ---------------------------------------------------------------------------
// 3. The bulkhead (TODO)
// ---------------------------------------------------------------------------

/** At most bulkhead_max calls to d1 in flight at once (bulkhead_kind "none": no bound). */
class Bulkhead {
  in_use = 0;

  /** True when a permit was taken; false: rejected, at once. */
  tryEnter(): boolean {
    // TODO
    return true;
  }

  /** A call ended, whichever way (a reply, an error, a timeout): its permit comes back. */
  leave(): void {
    // TODO
  }
}

// ---------------------------------------------------------------------------
// 4. The retry policy and its budget (TODO)
// ---------------------------------------------------------------------------

class RetryBudget {
  // TODO: what you keep (recent requests, recent retries).

  /** A client request arrived: it feeds the budget. */
  onRequest(_now: number): void {
    // TODO
  }

  /**
   * After attempt number failed_attempt (1 for the first) failed: the delay in ms before the next
   * attempt, or null to give up (retries_max retries made, or the budget spent). The backoff:
   * backoff_ms_base * 2^(failed_attempt - 1), at most backoff_ms_max; with jitter "full", a uniformly
   * random delay between 0 and that (Math.random()).
   */
  nextDelay(_now: number, _failed_attempt: number): number | null {
    // TODO
    return null;
  }
}

// ---------------------------------------------------------------------------
// The service: given. A request's path: the breaker, then the bulkhead, then
// d1; on a failure, maybe a retry (through the breaker and the bulkhead again).
// ---------------------------------------------------------------------------

const node = new Node();
const breaker = new Breaker();
const bulkhead = new Bulkhead();
const retries = new RetryBudget();
/** d1, from init's dslab_groups. */
let dependency: string | null = null;

const state_report_ms = 1000;

/** What the state reports say, per second, over the last report's interval. */
const rates = { requests: 0, short: 0, rejected: 0, fallback: 0, dep_calls: 0, retries: 0, latencies: [] as number[], in_flight: 0 };

node.onInit(() => {
  dependency = (node.groups.dependency ?? node.groups.redis ?? [])[0] ?? null;
  node.every(state_report_ms, () => report(true));
  node.after(0, () => report(true)); // the first report, right after init_ok
});

function onTransition(was: BreakerState, to: BreakerState, text: string): void {
  node.log(`breaker ${was} -> ${to}: ${text}`);
  // The note is what `dslab events` and the dashboard show in words.
  node.note(text);
  report(false);
}

function report(every_field: boolean): void {
  const now = nowMs();
  const fields: Record<string, string | number | boolean | null> = { breaker: breaker.state(now), breaker_for_s: Math.round((now - breaker.since) / 100) / 10 };
  if (every_field) {
    const { calls, failures } = breaker.window.snapshot(now);
    const per_s = 1000 / state_report_ms;
    const latencies = [...rates.latencies].sort((a, b) => a - b);
    const quantile = (q: number) => (latencies.length ? Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!) : null);
    Object.assign(fields, {
      error_pct: calls ? Math.round((100 * failures) / calls) : 0,
      req_per_s: rates.requests * per_s,
      short_per_s: rates.short * per_s,
      rejected_per_s: rates.rejected * per_s,
      fallback_per_s: rates.fallback * per_s,
      p50_ms: quantile(0.5),
      p99_ms: quantile(0.99),
      dep_calls_per_s: rates.dep_calls * per_s,
      in_flight: rates.in_flight,
      retries_per_s: rates.retries * per_s,
    });
    Object.assign(rates, { requests: 0, short: 0, rejected: 0, fallback: 0, dep_calls: 0, retries: 0, latencies: [] });
  }
  node.reportState(fields);
}

node.on('call', (message: Message) => {
  rates.requests++;
  retries.onRequest(nowMs());
  attempt(message, 1, nowMs());
});

/** One attempt at the request: through the breaker and the bulkhead to d1. */
function attempt(message: Message, number: number, started: number): void {
  const now = nowMs();
  const { admitted, trial } = breaker.tryAcquire(now);
  // A retry refused here ends a request d1 already failed: that request failed.
  if (!admitted) {
    rates.short++;
    return finish(message, number === 1 ? 'short_circuited' : 'failed', number - 1, started, `the breaker is ${breaker.state(now).replace('_', '-')}`);
  }
  if (!bulkhead.tryEnter()) {
    breaker.cancel(trial);
    rates.rejected++;
    return finish(message, number === 1 ? 'rejected' : 'failed', number - 1, started, `the bulkhead is full (${bulkhead.in_use} calls in flight)`);
  }
  if (dependency === null) {
    bulkhead.leave();
    breaker.cancel(trial);
    return finish(message, 'failed', number, started, 'no dependency in this cluster');
  }
  const body: { type: string; key: unknown; attempt: number; bad?: true } = { type: 'work', key: message.body.key, attempt: number };
  if (message.body.bad === true) body.bad = true;
  const sent = nowMs();
  rates.dep_calls++;
  rates.in_flight++;
  const ended = (result: CallResult, why: string) => {
    rates.in_flight--;
    bulkhead.leave();
    const end = nowMs();
    breaker.onResult(end, result, end - sent, trial);
    if (result === 'success') return finish(message, 'ok', number, started);
    if (result === 'ignored') return finish(message, 'bad_request', number, started, why);
    const delay = retries.nextDelay(end, number);
    if (delay === null) return finish(message, 'failed', number, started, why);
    rates.retries++;
    node.after(delay, () => attempt(message, number + 1, started));
  };
  // The runtime rejects with an RpcError: with the error reply as its body, or without one once call_timeout_ms passed.
  node.rpc(dependency, body, config.call_timeout_ms).then(
    () => ended('success', ''),
    (error: unknown) => {
      if (!(error instanceof RpcError) || error.body === undefined) return ended('timeout', `d1 did not answer within ${config.call_timeout_ms} ms`);
      if (error.code === error_codes.malformed_request) return ended('ignored', error.message || 'd1 refused the request as bad');
      ended('failure', `d1 answered error ${error.code}`);
    },
  );
}

type Outcome = 'ok' | 'fallback' | 'failed' | 'short_circuited' | 'rejected' | 'bad_request';

/** Answers the client. Every reply carries its outcome; a failure may be served a fallback instead. */
function finish(message: Message, outcome: Outcome, attempts: number, started: number, text = ''): void {
  rates.latencies.push(nowMs() - started);
  const state = breaker.state(nowMs());
  if (config.fallback && (outcome === 'failed' || outcome === 'short_circuited' || outcome === 'rejected')) {
    rates.fallback++;
    outcome = 'fallback';
  }
  if (outcome === 'ok' || outcome === 'fallback') return node.reply(message, { type: 'call_ok', outcome, attempts, breaker: state });
  const code = outcome === 'bad_request' ? error_codes.malformed_request : outcome === 'failed' ? error_codes.crash : error_codes.temporarily_unavailable;
  node.reply(message, { type: 'error', code, text, outcome, ...(outcome === 'failed' ? { attempts } : {}) });
}

node.run();
