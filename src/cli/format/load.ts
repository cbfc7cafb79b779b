/** Plain-text views of a load's progress and outcome (`dslab load`, `dslab zk load`, progress lines). */

import chalk from 'chalk';
import { describeLoadTally, kv_load_legend, type LoadLegend, type LoadStats } from '../../lib/load-stats.js';
import { formatDurationMs } from '../../lib/util/units.js';
import { table } from './table.js';

/**
 * One line of workload progress, e.g.
 * "1520 ops: ok 1200, not found 80, mismatched 220; failed 10, unknown 10; 498 answered/s, p50 3.1ms p99 12ms".
 * Not found and mismatched are expected answers; failed and unknown are the real failures.
 */
export function formatLoadProgress(stats: LoadStats): string {
  const latency = stats.latency_ms ? `, p50 ${stats.latency_ms.p50}ms p99 ${stats.latency_ms.p99}ms` : '';
  const skipped = stats.skipped ? `, ${stats.skipped} skipped (all clients busy)` : '';
  return `${stats.completed} ops: ${describeLoadTally(stats)}; ${stats.throughput_per_s} answered/s${latency}${skipped}`;
}

/** The keys a load used, e.g. "keys r3f9a0c12-k0 … r3f9a0c12-k19 (fresh: new to the cluster)". */
export function formatLoadKeys(key_prefix: string, keys: number, fresh: boolean): string {
  const names = keys === 1 ? `${key_prefix}0` : `${key_prefix}0 … ${key_prefix}${keys - 1}`;
  return `keys ${names} (${fresh ? 'fresh: new to the cluster' : 'reused: they may have held data before this run'})`;
}

export function formatLoadSummary(stats: LoadStats, legend: LoadLegend = kv_load_legend): string {
  const rows = [['OP', 'OK', 'NOT FOUND', 'MISMATCHED', 'FAILED', 'UNKNOWN']];
  const row = (name: string, tally: Pick<LoadStats, 'ok' | 'not_found' | 'mismatched' | 'fail' | 'unknown'>) =>
    rows.push([name, String(tally.ok), String(tally.not_found), String(tally.mismatched), String(tally.fail), String(tally.unknown)]);
  for (const [f, tally] of Object.entries(stats.by_function).sort()) row(f, tally);
  row('total', stats);
  const latency = stats.latency_ms
    ? `latency of answered ops: p50 ${stats.latency_ms.p50} ms, p90 ${stats.latency_ms.p90} ms, p99 ${stats.latency_ms.p99} ms, max ${stats.latency_ms.max} ms`
    : 'latency: no answered operations';
  const failures = stats.fail + stats.unknown;
  return [
    `${stats.completed} operations in ${formatDurationMs(stats.elapsed_ms)}: ${stats.throughput_per_s} answered/s (offered ${stats.offered}${stats.skipped ? `, ${stats.skipped} skipped because every client was busy` : ''})`,
    latency,
    '',
    table(rows, (cell, r) => (r === 0 ? chalk.bold(cell) : cell)),
    '',
    legend.expected,
    failures === 0 ? 'No operation failed: none got another error, none went unanswered.' : legend.failures,
    ...(stats.history_error ? [`The history file stopped being written: ${stats.history_error}`] : []),
  ].join('\n');
}
