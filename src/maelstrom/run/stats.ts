/**
 * The run's figures from its history: per-operation counts and latency
 * quantiles, availability, and throughput and latency second by second.
 */
import type { OperationStats, Quantiles, RunHistoryEntry, TestRunResult } from './result.js';

/** Latency quantiles of `values` (ms), nearest rank; null for none. */
export function quantiles(values: readonly number[]): Quantiles | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => round1(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!);
  return { '0': round1(sorted[0]!), '0.5': at(0.5), '0.95': at(0.95), '0.99': at(0.99), '1': round1(sorted.at(-1)!) };
}

function round1(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function latencyOf(entry: RunHistoryEntry): number | null {
  return entry.outcome === 'ok' && entry.return_ms !== null ? entry.return_ms - entry.call_ms : null;
}

/** Counts and ok latencies per operation function, in the order each first appears. */
export function operationStats(entries: readonly RunHistoryEntry[]): OperationStats[] {
  const byF = new Map<string, { stats: OperationStats; latencies: number[] }>();
  for (const entry of entries) {
    let row = byF.get(entry.f);
    if (!row) byF.set(entry.f, (row = { stats: { f: entry.f, count: 0, ok: 0, fail: 0, unknown: 0, latency_ms: null }, latencies: [] }));
    row.stats.count++;
    row.stats[entry.outcome]++;
    const latency = latencyOf(entry);
    if (latency !== null) row.latencies.push(latency);
  }
  return [...byF.values()].map(({ stats, latencies }) => ({ ...stats, latency_ms: quantiles(latencies) }));
}

/** The ok fraction of the operations invoked; null when none were. */
export function availabilityOf(entries: readonly RunHistoryEntry[]): number | null {
  if (entries.length === 0) return null;
  return entries.filter((e) => e.outcome === 'ok').length / entries.length;
}

/** Completions per second by outcome, with the median and max ok latency of each second. */
export function timelineOf(entries: readonly RunHistoryEntry[], end_ms: number): TestRunResult['timeline'] {
  const seconds = Math.max(1, Math.ceil(end_ms / 1000));
  const rows = Array.from({ length: seconds }, (_, second) => ({ second, ok: 0, fail: 0, unknown: 0, latencies: [] as number[] }));
  for (const entry of entries) {
    const at = entry.return_ms ?? entry.call_ms;
    const row = rows[Math.min(seconds - 1, Math.max(0, Math.floor(at / 1000)))]!;
    row[entry.outcome]++;
    const latency = latencyOf(entry);
    if (latency !== null) row.latencies.push(latency);
  }
  return rows.map(({ latencies, ...row }) => {
    const q = quantiles(latencies);
    return { ...row, latency_ms_median: q?.['0.5'] ?? null, latency_ms_max: q?.['1'] ?? null };
  });
}
