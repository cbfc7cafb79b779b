// The retry policy: bounded retries, capped exponential backoff with optional full jitter, and a
// retry budget. Pure: the time comes in with each call, randomness as an rng function.

import { assert } from '../../../lib/util/errors.js';
import { type RetryConfig, retry_budget_buckets } from './config.js';
import { BucketedCounts } from './window.js';

export type RetryDecision = { retry: true; delay_ms: number } | { retry: false; reason: 'attempts' | 'budget' };

const requests_field = 0;
const retries_field = 1;

/**
 * When to retry a failed attempt and after how long. Retry n (n = the failed
 * attempt's number, the first attempt being 1) waits up to
 * min(backoff_ms_max, backoff_ms_base · 2^(n-1)): the whole of it without
 * jitter, a uniform draw from 0 to it with full jitter. The budget (Finagle's
 * RetryBudget, in a sliding window): over the last budget_window_ms the retries
 * granted stay within budget_pct of the client requests that arrived plus
 * budget_min_per_s for each second of the window; a retry past it is refused,
 * so in a full outage the dependency sees at most 1 + budget_pct/100 calls per
 * request (plus the floor) instead of 1 + retries_max.
 */
export class RetryPolicy {
  private readonly window: BucketedCounts | null;
  private readonly floor: number;
  /** Retries granted and refused (by budget) so far, for the figures. */
  granted = 0;
  refused_by_budget = 0;

  constructor(
    readonly config: RetryConfig,
    private readonly rng: () => number,
    planted_bug: string | null = null,
  ) {
    assert(config.backoff_ms_max >= config.backoff_ms_base, `backoff_ms_max ${config.backoff_ms_max} below backoff_ms_base ${config.backoff_ms_base}`);
    const budgeted = config.budget_pct !== null && planted_bug !== 'retry_without_budget';
    this.window = budgeted ? new BucketedCounts(config.budget_window_ms, retry_budget_buckets, 2) : null;
    this.floor = (config.budget_min_per_s * config.budget_window_ms) / 1000;
  }

  /** A client request arrived: it adds budget_pct/100 of a retry to the budget. */
  onRequest(now_ms: number): void {
    this.window?.add(now_ms, requests_field);
  }

  /** Retries the budget allows over its window as of now_ms (Infinity with no budget). */
  allowance(now_ms: number): number {
    if (this.window === null) return Number.POSITIVE_INFINITY;
    return ((this.config.budget_pct ?? 0) * this.window.total(now_ms, requests_field)) / 100 + this.floor;
  }

  /** Attempt number failed_attempt (1 = the first) failed: retry it, after how long, or not, and why. */
  next(now_ms: number, failed_attempt: number): RetryDecision {
    assert(Number.isInteger(failed_attempt) && failed_attempt >= 1, `failed_attempt must be 1 or more, not ${failed_attempt}`);
    if (failed_attempt > this.config.retries_max) return { retry: false, reason: 'attempts' };
    if (this.window !== null) {
      // A retry is granted only if it too fits: granted + 1 ≤ allowance.
      if (this.window.total(now_ms, retries_field) + 1 > this.allowance(now_ms)) {
        this.refused_by_budget += 1;
        return { retry: false, reason: 'budget' };
      }
      this.window.add(now_ms, retries_field);
    }
    this.granted += 1;
    return { retry: true, delay_ms: this.backoff(failed_attempt) };
  }

  /** The delay before retrying after attempt n failed. */
  backoff(failed_attempt: number): number {
    // 2^(n-1) overflows to Infinity for huge n; the cap keeps the result finite.
    const ceiling = Math.min(this.config.backoff_ms_max, this.config.backoff_ms_base * 2 ** (failed_attempt - 1));
    if (this.config.jitter === 'none') return ceiling;
    const draw = this.rng();
    assert(draw >= 0 && draw < 1, `rng gave ${draw}, outside [0, 1)`);
    return Math.floor(draw * (ceiling + 1));
  }
}
