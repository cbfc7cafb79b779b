/**
 * What a workload's load reports, whatever the workload: the `load` events on
 * the stream, the dashboard's log, `dslab load`'s summary and the grader read
 * this one shape, so it lives with the library and each workload fills it in.
 *
 * An operation's outcome, as it means something to someone running a load:
 *   ok          the operation did what it asked
 *   not_found   it found what it needed absent (a read or cas of a missing key): a definite answer
 *   mismatched  a precondition did not hold (a cas whose `from` was not current): definite, nothing changed
 *   fail        any other error: the cluster refused or could not serve the operation
 *   unknown     no answer in time: it may or may not have taken effect
 * not_found and mismatched are answers a correct cluster gives all the time under a
 * random load; fail and unknown are the ones worth a look.
 */
export type OutcomeKind = 'ok' | 'not_found' | 'mismatched' | 'fail' | 'unknown';

/** Completed operations by what their outcome means. */
export type OutcomeTally = Record<OutcomeKind, number>;

/** Outcomes that are definite answers a correct cluster gives: they count as answered. */
export const answered_kinds: ReadonlySet<OutcomeKind> = new Set(['ok', 'not_found', 'mismatched']);

export interface LoadStats extends OutcomeTally {
  offered: number;
  completed: number;
  skipped: number;
  elapsed_ms: number;
  /** Answered operations (ok, not found, mismatched) per second. */
  throughput_per_s: number;
  /** Of answered operations. */
  latency_ms: { p50: number; p90: number; p99: number; max: number } | null;
  /**
   * Of the operations answered in the last recent_latency_window_ms (RecentLatencies): what the
   * latency is now, where latency_ms is over the whole load so far. Null when none were answered in
   * that time; absent from loads that do not keep it (and in older recordings).
   */
  recent_latency_ms?: { p50: number; p99: number } | null;
  by_function: Record<string, OutcomeTally>;
  /** The workload's own outcomes, where its replies say more than ok/fail/unknown (DetailedOutcomes); absent from other loads. */
  outcomes?: DetailedOutcomes;
  /** Why the history file stopped being written, if it did (the load itself goes on). */
  history_error?: string;
}

/**
 * A load's requests by the outcome words of its workload (the breaker load: ok, fallback, failed,
 * short_circuited, rejected, bad_request, timeout), beside the ok/fail/unknown tally every load keeps.
 */
export interface DetailedOutcomes {
  /** Requests sent (offered and not refused before sending) and the rate they left at. */
  sent: number;
  sent_per_s: number;
  /** Offered requests that were never sent, by why (dropped_by_load: too many in flight). */
  not_sent: Record<string, number>;
  /** Settled requests by outcome, every outcome of the workload listed (0 when none). */
  counts: Record<string, number>;
  /** The same per target node (service). */
  by_target: Record<string, Record<string, number>>;
  /** Latency per outcome seen, in ms to a tenth. */
  latency_ms: Record<string, { p50: number; p99: number; max: number }>;
}

/** p50, p99 and max (to a tenth of a millisecond) of latencies in any order; null for none. */
export function latencyQuantiles(latencies_ms: ArrayLike<number>): { p50: number; p99: number; max: number } | null {
  if (latencies_ms.length === 0) return null;
  const sorted = Float64Array.from(latencies_ms).sort();
  return { p50: quantileTenth(sorted, 0.5), p99: quantileTenth(sorted, 0.99), max: Math.round(sorted[sorted.length - 1]! * 10) / 10 };
}

export function emptyTally(): OutcomeTally {
  return { ok: 0, not_found: 0, mismatched: 0, fail: 0, unknown: 0 };
}

/** Operations with a definite answer a correct cluster gives. */
export function answered(tally: OutcomeTally): number {
  let sum = 0;
  for (const kind of answered_kinds) sum += tally[kind];
  return sum;
}

/** The q quantile of sorted latencies (not empty), to a tenth of a millisecond. */
function quantileTenth(sorted: ArrayLike<number>, q: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 10) / 10;
}

/** A load's figures so far: throughput and latency percentiles of answered operations over elapsed_ms. */
export function summarizeLoad(stats: LoadStats, latencies_ms: readonly number[], elapsed_ms: number): LoadStats {
  const elapsed = elapsed_ms || 1;
  const sorted = [...latencies_ms].sort((a, b) => a - b);
  const tenth = (ms: number) => Math.round(ms * 10) / 10;
  const at = (q: number) => quantileTenth(sorted, q);
  return {
    ...stats,
    elapsed_ms: Math.round(elapsed),
    throughput_per_s: Math.round((answered(stats) / elapsed) * 1000),
    latency_ms: sorted.length ? { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: tenth(sorted.at(-1)!) } : null,
  };
}

/** How far back a load's recent latency looks: two progress reports, so a slow load still has samples. */
export const recent_latency_window_ms = 2000;
/** Recent latency samples kept at most (the newest); beyond this rate per window the oldest give way. */
export const recent_latency_samples_max = 10_000;

/**
 * The latencies of the operations answered lately: a ring of (when answered, latency) pairs, read
 * as percentiles over the last window. Times are whatever clock the caller uses, the same for add and read.
 */
export class RecentLatencies {
  private readonly answered_at: Float64Array;
  private readonly latencies: Float64Array;
  /** Index of the oldest sample, and how many are kept. */
  private oldest = 0;
  private count = 0;

  constructor(
    private readonly window_ms = recent_latency_window_ms,
    samples_max = recent_latency_samples_max,
  ) {
    this.answered_at = new Float64Array(samples_max);
    this.latencies = new Float64Array(samples_max);
  }

  add(answered_at_ms: number, latency_ms: number): void {
    const capacity = this.latencies.length;
    const slot = (this.oldest + this.count) % capacity;
    this.answered_at[slot] = answered_at_ms;
    this.latencies[slot] = latency_ms;
    if (this.count < capacity) this.count++;
    else this.oldest = (this.oldest + 1) % capacity;
  }

  /** p50 and p99 (to a tenth of a millisecond) of the samples answered within the window before now_ms; null when there are none. */
  percentiles(now_ms: number): { p50: number; p99: number } | null {
    const capacity = this.latencies.length;
    // Samples older than the window are dropped for good: later reads look even less far back.
    while (this.count > 0 && this.answered_at[this.oldest]! < now_ms - this.window_ms) {
      this.oldest = (this.oldest + 1) % capacity;
      this.count--;
    }
    if (this.count === 0) return null;
    const sorted = new Float64Array(this.count);
    for (let i = 0; i < this.count; i++) sorted[i] = this.latencies[(this.oldest + i) % capacity]!;
    sorted.sort();
    return { p50: quantileTenth(sorted, 0.5), p99: quantileTenth(sorted, 0.99) };
  }
}

/**
 * Outcomes in words, expected answers first: "ok 1200, not found 80, mismatched 220; failed 10, unknown 10".
 * Not found and mismatched are answers a correct store gives; failed and unknown are the real failures.
 */
export function describeLoadTally(stats: Pick<LoadStats, 'ok' | 'fail' | 'unknown'> & Partial<Pick<LoadStats, 'not_found' | 'mismatched' | 'outcomes'>>): string {
  // A workload with outcomes of its own says them (those that happened), in its words.
  if (stats.outcomes) return describeOutcomeCounts(stats.outcomes.counts);
  // Events recorded before not_found and mismatched existed lack them.
  return `ok ${stats.ok}, not found ${stats.not_found ?? 0}, mismatched ${stats.mismatched ?? 0}; failed ${stats.fail}, unknown ${stats.unknown}`;
}

/** Outcomes that happened, in words: "ok 280, short circuited 20" ("nothing settled" when none did). */
export function describeOutcomeCounts(counts: Readonly<Record<string, number>>): string {
  const seen = Object.entries(counts).filter(([, n]) => n > 0);
  return seen.length === 0 ? 'nothing settled' : seen.map(([outcome, n]) => `${outcome.replaceAll('_', ' ')} ${n}`).join(', ');
}

/** What a load's outcome columns mean, in the words of its workload. */
export interface LoadLegend {
  expected: string;
  failures: string;
}

export const kv_load_legend: LoadLegend = {
  expected: 'NOT FOUND (error 20: the key did not exist) and MISMATCHED (error 22: a cas whose from was not the current value) are definite answers a correct cluster gives.',
  failures: 'Failures: FAILED got another error (it did not take effect); UNKNOWN got no answer in time (a write or cas may or may not have taken effect).',
};
