// The circuit breaker as a pure state machine: closed, open, half-open, over a sliding window of
// outcomes. No clock: the time comes in with every call; transitions come out in words.

import { assert } from '../../../lib/util/errors.js';
import type { BreakerConfig } from './config.js';
import { createWindow, type OutcomeWindow, type WindowSnapshot } from './window.js';

export type BreakerState = 'closed' | 'open' | 'half_open';
/** ignored: a bad request, not the dependency's fault: it counts neither way. */
export type CallResult = 'success' | 'failure' | 'timeout' | 'ignored';

export interface Transition {
  at_ms: number;
  from: BreakerState;
  to: BreakerState;
  /** The window when it happened (on opening: the window that opened it). */
  window: WindowSnapshot;
  /** In words, for the event log: "opened: 12 of 20 calls failed in the last 10 s (60% ≥ 50%)". */
  text: string;
}

export type Admission = { admitted: true; trial: boolean } | { admitted: false; reason: 'open' | 'half_open_full' };

/**
 * Bugs a lab plants in the reference (labs/circuit-breaker/variants), so the
 * grader can be shown to fail them; never set in use.
 * never_half_opens: it stays open for good once opened.
 * half_open_admits_all: half-open lets every request through as a trial.
 * window_never_forgets: outcomes never leave the window.
 * timeout_counts_as_success: a timed-out call is recorded as a quick success.
 * retry_without_budget: (RetryPolicy) retries ignore the budget.
 */
export const breaker_planted_bugs = ['never_half_opens', 'half_open_admits_all', 'window_never_forgets', 'timeout_counts_as_success', 'retry_without_budget'] as const;
export type BreakerPlantedBug = (typeof breaker_planted_bugs)[number];

/** The four answers tryAcquire gives, made once: a call asks on every request, and these never change. */
const admitted_call: Admission = Object.freeze({ admitted: true, trial: false });
const admitted_trial: Admission = Object.freeze({ admitted: true, trial: true });
const refused_open: Admission = Object.freeze({ admitted: false, reason: 'open' });
const refused_half_open_full: Admission = Object.freeze({ admitted: false, reason: 'half_open_full' });

/** Transitions kept for drainTransitions: a host that never drains loses the oldest, never memory. */
export const transitions_kept_max = 1000;

/** A duration in words: "800 ms", "1 s", "1.5 s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

function formatPct(pct: number): string {
  return `${Number.isInteger(pct) ? pct : pct.toFixed(1)}%`;
}

/**
 * One breaker. Closed: every call is admitted and its outcome recorded; once
 * the window holds min_calls or more and the failure rate or the slow-call rate
 * reaches its threshold, it opens. Open: nothing is admitted until open_wait_ms
 * has passed, then it is half-open (seen lazily, at the next call that asks).
 * Half-open: exactly half_open_calls trial calls are admitted; the first that
 * fails, times out or is slow reopens it and restarts the wait; when all have
 * succeeded it closes with an empty window. Results of calls that are not
 * trials arriving while open or half-open count for nothing (the window judged
 * already), nor do trial results of an earlier half-open.
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private since = 0;
  private started = false;
  private readonly window: OutcomeWindow;
  private transitions: Transition[] = [];
  /** Half-open: trial permits handed out, trial results still awaited, trials that succeeded. */
  private trials_admitted = 0;
  private trials_outstanding = 0;
  private trials_succeeded = 0;
  private readonly bug: string | null;

  constructor(
    readonly config: BreakerConfig,
    planted_bug: string | null = null,
  ) {
    assert(config.half_open_calls >= 1, `half_open_calls must be at least 1, not ${config.half_open_calls}`);
    assert(config.min_calls >= 1, `min_calls must be at least 1, not ${config.min_calls}`);
    this.bug = planted_bug;
    this.window = createWindow(config, planted_bug);
  }

  /** The state at now_ms: open turns half-open once open_wait_ms has passed. */
  state(now_ms: number): BreakerState {
    if (!this.started) {
      // The first time it is asked is when it began closed.
      this.started = true;
      this.since = now_ms;
    }
    if (this.current === 'open' && this.bug !== 'never_half_opens' && now_ms - this.since >= this.config.open_wait_ms) {
      this.trials_admitted = 0;
      this.trials_outstanding = 0;
      this.trials_succeeded = 0;
      this.move(this.since + this.config.open_wait_ms, 'half_open', this.window.snapshot(now_ms), `half-open after ${formatDuration(this.config.open_wait_ms)} open`);
    }
    return this.current;
  }

  /** When the current state began (ms, the caller's clock). */
  since_ms(): number {
    return this.since;
  }

  tryAcquire(now_ms: number): Admission {
    if (!this.config.enabled) return admitted_call;
    const state = this.state(now_ms);
    if (state === 'closed') return admitted_call;
    if (state === 'open') return refused_open;
    if (this.trials_admitted >= this.config.half_open_calls && this.bug !== 'half_open_admits_all') return refused_half_open_full;
    this.trials_admitted += 1;
    this.trials_outstanding += 1;
    assert(this.trials_admitted <= this.config.half_open_calls || this.bug === 'half_open_admits_all', `half-open admitted ${this.trials_admitted} trials of ${this.config.half_open_calls}`);
    return admitted_trial;
  }

  /**
   * The outcome of an admitted call: duration_ms from admission (or from its send, which comes after)
   * to its result (a timeout's is the timeout). A trial's outcome counts only if the call began in
   * the current half-open spell (at or after it began): a trial of an earlier spell still out when
   * the breaker reopened and half-opened again (a call can outlast the open wait) answers for a
   * dependency as it was before the reopening, and is none of this spell's trials.
   */
  onResult(now_ms: number, result: CallResult, duration_ms: number, trial: boolean): void {
    const timed_out_as_success = result === 'timeout' && this.bug === 'timeout_counts_as_success';
    const failed = result === 'failure' || (result === 'timeout' && !timed_out_as_success);
    const slow = !timed_out_as_success && duration_ms >= this.config.slow_call_ms;
    const state = this.state(now_ms);
    if (!this.config.enabled) {
      // Kept for the figures (error %), never acted on.
      if (result !== 'ignored') this.window.record(now_ms, failed, slow);
      return;
    }
    if (state === 'half_open') {
      if (!trial || this.trials_outstanding === 0 || now_ms - duration_ms < this.since) return;
      this.trials_outstanding -= 1;
      // An ignored trial (a bad request) still shows the dependency answered in time: it counts as a success.
      if (failed || slow) {
        const why = result === 'timeout' ? 'timed out' : failed ? 'failed' : `was slow (${formatDuration(duration_ms)} ≥ ${formatDuration(this.config.slow_call_ms)})`;
        this.move(now_ms, 'open', this.window.snapshot(now_ms), `reopened: a trial call ${why}`);
        return;
      }
      this.trials_succeeded += 1;
      assert(this.trials_succeeded + this.trials_outstanding <= this.trials_admitted, `half-open: ${this.trials_succeeded} trials succeeded and ${this.trials_outstanding} awaited of ${this.trials_admitted} admitted`);
      if (this.trials_succeeded >= this.config.half_open_calls) {
        const n = this.trials_succeeded;
        this.window.clear();
        this.move(now_ms, 'closed', this.window.snapshot(now_ms), `closed: ${n} of ${n} trial calls succeeded`);
      }
      return;
    }
    if (state === 'open' || trial || result === 'ignored') return;
    this.window.record(now_ms, failed, slow);
    const calls = this.window.calls(now_ms);
    if (calls < this.config.min_calls) return;
    // Compared in whole numbers: the rate reaches the threshold exactly at the rate, with no rounding.
    if (this.window.failures(now_ms) * 100 >= this.config.failure_rate_pct * calls) {
      const window = this.window.snapshot(now_ms);
      this.move(now_ms, 'open', window, `opened: ${this.ofCalls(window.failures, window.calls, 'failed')} (${formatPct(window.failure_pct)} ≥ ${formatPct(this.config.failure_rate_pct)})`);
    } else if (this.window.slow(now_ms) * 100 >= this.config.slow_rate_pct * calls) {
      const window = this.window.snapshot(now_ms);
      this.move(
        now_ms,
        'open',
        window,
        `opened: ${this.ofCalls(window.slow, window.calls, `took ${formatDuration(this.config.slow_call_ms)} or more`)} (${formatPct(window.slow_pct)} ≥ ${formatPct(this.config.slow_rate_pct)})`,
      );
    }
  }

  /** An admitted call that was never made (the bulkhead refused it): a trial gives its permit back. */
  cancel(trial: boolean): void {
    if (!trial || this.current !== 'half_open' || this.trials_outstanding === 0) return;
    this.trials_outstanding -= 1;
    this.trials_admitted -= 1;
    assert(this.trials_admitted >= this.trials_succeeded, `half-open: ${this.trials_succeeded} trials succeeded of ${this.trials_admitted} admitted`);
  }

  snapshot(now_ms: number): WindowSnapshot {
    return this.window.snapshot(now_ms);
  }

  /** The transitions since the last drain, oldest first. */
  drainTransitions(): Transition[] {
    const out = this.transitions;
    this.transitions = [];
    return out;
  }

  /** "12 of 20 calls failed in the last 10 s" (time window), "60 of the last 100 calls failed" (count window). */
  private ofCalls(some: number, calls: number, verb: string): string {
    return this.config.window_kind === 'count' ? `${some} of the last ${calls} calls ${verb}` : `${some} of ${calls} calls ${verb} in the last ${formatDuration(this.config.window_ms)}`;
  }

  private move(at_ms: number, to: BreakerState, window: WindowSnapshot, text: string): void {
    assert(to !== this.current, `a transition from ${to} to itself`);
    if (to === 'open') assert(this.current !== 'open', 'opened while open');
    if (to === 'half_open') assert(this.current === 'open', `half-open from ${this.current}`);
    this.transitions.push({ at_ms, from: this.current, to, window, text });
    if (this.transitions.length > transitions_kept_max) this.transitions.shift();
    this.current = to;
    this.since = at_ms;
  }
}
