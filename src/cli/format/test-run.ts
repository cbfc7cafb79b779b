/** The verdict screen of `dslab test`: the verdict and why first, then the figures, then where the run is kept. */

import { existsSync } from 'node:fs';
import path from 'node:path';
import chalk from 'chalk';
import type { NetCounts, OperationStats, Quantiles, TestRunResult } from '../../maelstrom/run/result.js';
import { formatDurationMs } from '../../lib/util/units.js';
import { table } from './table.js';

const verdict_colour = { valid: chalk.green, invalid: chalk.red, unknown: chalk.yellow } as const;

function latency(q: Quantiles | null): string {
  if (!q) return '-';
  return `${formatDurationMs(q['0.5'])} / ${formatDurationMs(q['0.95'])} / ${formatDurationMs(q['1'])}`;
}

function operationsTable(rows: readonly OperationStats[]): string {
  const cells = [['OP', 'COUNT', 'OK', 'FAIL', 'UNKNOWN', 'LATENCY (MEDIAN / 95% / MAX)']];
  for (const row of rows) cells.push([row.f, String(row.count), String(row.ok), String(row.fail), String(row.unknown), latency(row.latency_ms)]);
  return table(cells, (cell, r) => (r === 0 ? chalk.bold(cell) : cell));
}

function netTable(net: TestRunResult['net']): string {
  const cells = [['MESSAGES', 'SENT', 'RECEIVED', 'PER OP']];
  const row = (name: string, counts: NetCounts) => cells.push([name, String(counts.send_count), String(counts.recv_count), counts.msgs_per_op === null ? '-' : counts.msgs_per_op.toFixed(2)]);
  row('all', net.all);
  row('clients', net.clients);
  row('servers', net.servers);
  return table(cells, (cell, r) => (r === 0 ? chalk.bold(cell) : cell));
}

function shortPath(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  return relative.startsWith('..') ? file : relative;
}

/** The whole screen for one run. */
export function formatTestRun(result: TestRunResult, cwd: string, runs_total = 1): string {
  const lines: string[] = [];
  const colour = verdict_colour[result.verdict];
  if (runs_total > 1) lines.push(chalk.bold(`run ${result.run_index} of ${runs_total}`));
  lines.push(colour(chalk.bold(result.headline)));
  for (const reason of result.reasons) lines.push(`  ${reason}`);
  for (const warning of result.warnings) lines.push(chalk.yellow(`  note: ${warning}`));
  lines.push('');
  for (const check of result.checks) {
    const [first, ...rest] = check.text.split('\n');
    lines.push(`${chalk.bold(check.name)} ${verdict_colour[check.result](check.result)}: ${first!.replace(/^(valid|invalid|unknown): /, '')}`);
    for (const line of rest) lines.push(line.startsWith(' ') ? line : `  ${line}`);
  }
  lines.push('');
  if (result.operations.length > 0) lines.push(operationsTable(result.operations), '');
  lines.push(`availability: ${result.availability === null ? 'no operations' : `${(result.availability * 100).toFixed(1)}% of operations ok`}`);
  lines.push(netTable(result.net));
  if (result.faults.length > 0) {
    lines.push('', `faults (${result.faults.length}):`);
    for (const fault of result.faults.slice(0, 12)) {
      const until = fault.end_ms === null ? 'to the end' : `for ${formatDurationMs(fault.end_ms - fault.start_ms)}`;
      lines.push(`  ${formatDurationMs(fault.start_ms)}  ${fault.description} ${until}${fault.source === 'cli' ? ' (from another terminal)' : ''}`);
    }
    if (result.faults.length > 12) lines.push(`  … and ${result.faults.length - 12} more (results.json has them all)`);
  }
  const report = existsSync(result.files.report) ? `; the report: ${shortPath(result.files.report, cwd)}` : '';
  lines.push('', `kept in ${shortPath(result.dir, cwd)}/ (history.jsonl, trace.jsonl, nodes/*.log, results.json)${report}`);
  return lines.join('\n');
}
