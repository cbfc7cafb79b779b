/** A breaker load's figures in words and tables, as `dslab breaker load` prints them at the end. */
import chalk from 'chalk';
import { table } from '../../cli/format/table.js';
import type { LoadStats } from '../../lib/load-stats.js';
import { formatDurationMs } from '../../lib/util/units.js';
import { breaker_outcomes } from '../../systems/breaker/trace-read.js';

const heading = (cell: string, row: number) => (row === 0 ? chalk.bold(cell) : cell);
const upper = (word: string) => word.toUpperCase().replaceAll('_', ' ');

export function formatBreakerLoadSummary(stats: LoadStats): string {
  const detail = stats.outcomes;
  if (!detail) return `${stats.completed} requests in ${formatDurationMs(stats.elapsed_ms)}`;
  const dropped = detail.not_sent.dropped_by_load ?? 0;
  const refused = detail.not_sent.refused ?? 0;
  const head = `${detail.sent} requests sent in ${formatDurationMs(stats.elapsed_ms)} (${detail.sent_per_s}/s; offered ${stats.offered}, ${dropped} dropped by the load${refused ? `, ${refused} refused before sending` : ''})`;
  const by_outcome = [['OUTCOME', 'COUNT', 'P50 MS', 'P99 MS', 'MAX MS']];
  for (const outcome of breaker_outcomes) {
    const latency = detail.latency_ms[outcome];
    by_outcome.push([outcome, String(detail.counts[outcome] ?? 0), latency ? String(latency.p50) : '-', latency ? String(latency.p99) : '-', latency ? String(latency.max) : '-']);
  }
  by_outcome.push(['total', String(Object.values(detail.counts).reduce((a, b) => a + b, 0)), '', '', '']);
  const by_service = [['SERVICE', ...breaker_outcomes.map(upper)]];
  for (const [service, counts] of Object.entries(detail.by_target)) by_service.push([service, ...breaker_outcomes.map((o) => String(counts[o] ?? 0))]);
  return [head, '', table(by_outcome, heading), '', table(by_service, heading)].join('\n');
}
