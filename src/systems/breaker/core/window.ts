// The breaker's sliding window of call outcomes: the last N calls (count) or the last T ms in buckets
// (time). Pure: the time comes in with each call.

import { assert } from '../../../lib/util/errors.js';
import type { BreakerConfig } from './config.js';

export interface WindowSnapshot {
  calls: number;
  failures: number;
  slow: number;
  failure_pct: number;
  slow_pct: number;
}

/** The one planted bug that lives in the window: outcomes never leave it. */
export type WindowPlantedBug = 'window_never_forgets';

function snapshotOf(calls: number, failures: number, slow: number): WindowSnapshot {
  return {
    calls,
    failures,
    slow,
    failure_pct: calls === 0 ? 0 : (failures * 100) / calls,
    slow_pct: calls === 0 ? 0 : (slow * 100) / calls,
  };
}

/**
 * Counts over the last window_ms in `buckets` equal buckets: an event at t
 * falls in bucket floor(t / bucket_ms), and the window holds the current
 * bucket and the buckets-1 before it, so an outcome leaves between
 * window_ms - bucket_ms and window_ms after it happened (Hystrix's rolling
 * counter). Each bucket holds `fields` counters. Also used by the retry budget.
 */
export class BucketedCounts {
  readonly bucket_ms: number;
  private readonly counts: Float64Array;
  private readonly totals: number[];
  /** The newest bucket counted into (absolute number: floor(t / bucket_ms)). */
  private current = Number.NEGATIVE_INFINITY;

  constructor(
    readonly window_ms: number,
    readonly buckets: number,
    readonly fields: number,
    /** true only for the planted bug: old buckets are reused without their counts leaving the totals. */
    private readonly never_forget = false,
  ) {
    assert(Number.isInteger(window_ms) && window_ms > 0 && Number.isInteger(buckets) && buckets > 0, `a time window needs a positive whole window_ms and buckets, not ${window_ms} and ${buckets}`);
    assert(window_ms % buckets === 0, `window_ms ${window_ms} is not a whole number of ${buckets} buckets`);
    this.bucket_ms = window_ms / buckets;
    this.counts = new Float64Array(buckets * fields);
    this.totals = new Array<number>(fields).fill(0);
  }

  private slotOf(bucket: number): number {
    return ((bucket % this.buckets) + this.buckets) % this.buckets;
  }

  /**
   * Moves the window to now_ms's bucket, emptying the slots of the buckets that
   * left it. A time before the newest bucket counts in the newest (a host's
   * clock may step back a little; the window never runs backwards).
   */
  private advance(now_ms: number): number {
    const bucket = Math.floor(now_ms / this.bucket_ms);
    if (bucket > this.current) {
      const steps = Math.min(bucket - this.current, this.buckets);
      for (let step = 0; step < steps; step++) this.clearSlot(this.slotOf(bucket - step));
      this.current = bucket;
    }
    return this.slotOf(this.current);
  }

  private clearSlot(slot: number): void {
    for (let field = 0; field < this.fields; field++) {
      if (!this.never_forget) this.totals[field]! -= this.counts[slot * this.fields + field]!;
      this.counts[slot * this.fields + field] = 0;
    }
  }

  add(now_ms: number, field: number, amount = 1): void {
    const slot = this.advance(now_ms);
    this.counts[slot * this.fields + field]! += amount;
    this.totals[field]! += amount;
  }

  /** A field's total over the window as of now_ms. */
  total(now_ms: number, field: number): number {
    this.advance(now_ms);
    return this.totals[field]!;
  }

  clear(): void {
    this.counts.fill(0);
    this.totals.fill(0);
    this.current = Number.NEGATIVE_INFINITY;
  }
}

const calls_field = 0;
const failures_field = 1;
const slow_field = 2;

/** The outcomes of recent calls, by count or by time, as BreakerConfig says. */
export interface OutcomeWindow {
  /** Records one call: failed (a timeout included) and/or slow. Ignored calls are not recorded. */
  record(now_ms: number, failed: boolean, slow: boolean): void;
  snapshot(now_ms: number): WindowSnapshot;
  /** The counts alone, without making a snapshot (the breaker asks on every result). */
  calls(now_ms: number): number;
  failures(now_ms: number): number;
  slow(now_ms: number): number;
  clear(): void;
}

/** The last `size` calls, in a ring. */
export class CountWindow implements OutcomeWindow {
  private readonly ring: Uint8Array;
  private next = 0;
  private held = 0;
  private held_calls = 0;
  private held_failures = 0;
  private held_slow = 0;

  constructor(
    readonly size: number,
    private readonly never_forget = false,
  ) {
    assert(Number.isInteger(size) && size > 0, `a count window needs a positive whole size, not ${size}`);
    this.ring = new Uint8Array(size);
  }

  record(_now_ms: number, failed: boolean, slow: boolean): void {
    if (this.held === this.size && !this.never_forget) {
      const old = this.ring[this.next]!;
      this.held_calls -= 1;
      this.held_failures -= old & 1;
      this.held_slow -= (old >> 1) & 1;
    }
    this.ring[this.next] = (failed ? 1 : 0) | (slow ? 2 : 0);
    this.next = (this.next + 1) % this.size;
    this.held = Math.min(this.held + 1, this.size);
    this.held_calls += 1;
    if (failed) this.held_failures += 1;
    if (slow) this.held_slow += 1;
    assert(this.never_forget || this.held_calls === this.held, `count window holds ${this.held} calls but counts ${this.held_calls}`);
  }

  snapshot(_now_ms: number): WindowSnapshot {
    return snapshotOf(this.held_calls, this.held_failures, this.held_slow);
  }

  calls(_now_ms: number): number {
    return this.held_calls;
  }

  failures(_now_ms: number): number {
    return this.held_failures;
  }

  slow(_now_ms: number): number {
    return this.held_slow;
  }

  clear(): void {
    this.next = 0;
    this.held = 0;
    this.held_calls = 0;
    this.held_failures = 0;
    this.held_slow = 0;
  }
}

/** The last window_ms of calls, in buckets. */
export class TimeWindow implements OutcomeWindow {
  private readonly counts: BucketedCounts;

  constructor(window_ms: number, buckets: number, never_forget = false) {
    this.counts = new BucketedCounts(window_ms, buckets, 3, never_forget);
  }

  record(now_ms: number, failed: boolean, slow: boolean): void {
    this.counts.add(now_ms, calls_field);
    if (failed) this.counts.add(now_ms, failures_field);
    if (slow) this.counts.add(now_ms, slow_field);
  }

  snapshot(now_ms: number): WindowSnapshot {
    return snapshotOf(this.calls(now_ms), this.failures(now_ms), this.slow(now_ms));
  }

  calls(now_ms: number): number {
    return this.counts.total(now_ms, calls_field);
  }

  failures(now_ms: number): number {
    return this.counts.total(now_ms, failures_field);
  }

  slow(now_ms: number): number {
    return this.counts.total(now_ms, slow_field);
  }

  clear(): void {
    this.counts.clear();
  }
}

export function createWindow(config: BreakerConfig, planted_bug: string | null = null): OutcomeWindow {
  const never_forget = planted_bug === 'window_never_forgets';
  return config.window_kind === 'count' ? new CountWindow(config.window_calls, never_forget) : new TimeWindow(config.window_ms, config.window_buckets, never_forget);
}
