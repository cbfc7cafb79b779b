import chalk from 'chalk';
import type { ClusterEvent, ClusterStatus, NodeStatus } from './control/api.js';
import { formatDurationMs } from './util/units.js';
import { explainingLine } from './util/stderr.js';
import type { LoadStats } from './workload/load.js';

/** Plain-text views of cluster state; commands print what these return. */

const state_fields_shown_max = 6;

export function describeNodeStatus(node: NodeStatus): string {
  if (node.status === 'down') {
    if (node.exit_signal) return `down (${node.exit_signal})`;
    return node.exit_code === null ? 'down' : `down (exit ${node.exit_code})`;
  }
  return node.status;
}

function colourStatus(text: string, status: NodeStatus['status']): string {
  if (status === 'up') return chalk.green(text);
  if (status === 'paused') return chalk.yellow(text);
  if (status === 'down') return chalk.red(text);
  return chalk.dim(text);
}

function stateSummary(state: Record<string, unknown>): string {
  const entries = Object.entries(state);
  const shown = entries.slice(0, state_fields_shown_max).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  if (entries.length > state_fields_shown_max) shown.push('…');
  return shown.join(' ');
}

function table(rows: string[][], colour: ((cell: string, row: number, column: number) => string) | null = null): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row, r) =>
      row
        .map((cell, c) => {
          const padded = c === row.length - 1 ? cell : cell.padEnd(widths[c]!);
          return colour ? colour(padded, r, c) : padded;
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatStatus(status: ClusterStatus): string {
  const header =
    `${chalk.bold(status.name)} (${status.system})  up ${formatDurationMs(status.uptime_ms)}  seed ${status.seed}  ` +
    `nodes ${status.nodes.filter((n) => n.status === 'up').length}/${status.nodes.length} up  ` +
    `leader ${status.leader ?? '-'}`;
  const faults = `faults: ${status.faults.length ? status.faults.join('; ') : 'none'}${status.nemesis?.running ? `  (nemesis seed ${status.nemesis.seed} running)` : ''}`;
  const rows = [['NODE', 'PID', 'STATUS', 'IN', 'OUT', 'PROBLEMS', 'STATE']];
  for (const node of status.nodes) {
    const problems = [
      node.garbage_lines && `${node.garbage_lines} garbage`,
      node.oversized_lines && `${node.oversized_lines} oversized`,
      node.unknown_dest && `${node.unknown_dest} unknown-dest`,
      node.backpressure_drops && `${node.backpressure_drops} dropped`,
    ].filter(Boolean);
    rows.push([
      node.id,
      node.pid === null ? '-' : String(node.pid),
      describeNodeStatus(node),
      String(node.msgs_in),
      String(node.msgs_out),
      problems.length ? problems.join(', ') : '-',
      stateSummary(node.state) || '-',
    ]);
  }
  const body = table(rows, (cell, r, c) => {
    if (r === 0) return chalk.bold(cell);
    const node = status.nodes[r - 1]!;
    if (c === 2) return colourStatus(cell, node.status);
    if (c === 5 && cell.trim() !== '-') return chalk.yellow(cell);
    return cell;
  });
  const crashed = status.nodes.filter((n) => n.status === 'down' && n.stderr_tail.length > 0);
  const tails = crashed.map((n) => `${n.id} last stderr: ${explainingLine(n.stderr_tail)}`);
  const services = formatServices(status);
  return [header, faults, ...(services ? [services] : []), '', body, ...(tails.length ? ['', ...tails] : [])].join('\n');
}

/** The services nodes have used, e.g. "services: lin-kv 12 in, 12 out (3 errors)"; null when none has had a message. */
export function formatServices(status: ClusterStatus): string | null {
  const used = (status.services ?? []).filter((s) => s.msgs_in > 0);
  if (used.length === 0) return null;
  const parts = used.map((s) => `${s.name} ${s.msgs_in} in, ${s.msgs_out} out${s.errors ? ` (${s.errors} error${s.errors === 1 ? '' : 's'})` : ''}`);
  return `services: ${parts.join(' · ')}`;
}

/** One line per event, for `up` in the foreground and `nemesis`. Null for events not worth a line. */
export function formatEvent(event: ClusterEvent): string | null {
  const time = new Date(event.t).toISOString().slice(11, 23);
  const line = (text: string) => `${chalk.dim(time)} ${text}`;
  switch (event.type) {
    case 'cluster_up':
      return line(chalk.bold(`cluster ${event.name} up: ${event.system}, nodes ${event.nodes.join(',')}, seed ${event.seed}`));
    case 'cluster_down':
      return line(chalk.bold(`cluster ${event.name} down`));
    case 'node_up':
      return line(chalk.green(`${event.node} up (pid ${event.pid}${event.restarts ? `, restart ${event.restarts}` : ''})`));
    case 'node_down': {
      const how = event.signal ? `signal ${event.signal}` : `exit code ${event.exit_code}`;
      const tail = !event.expected && event.stderr_tail.length ? `: ${explainingLine(event.stderr_tail)}` : '';
      return line(chalk.red(`${event.node} down (${how})${event.expected ? '' : ' unexpectedly'}${tail}`));
    }
    case 'node_paused':
      return line(chalk.yellow(`${event.node} paused`));
    case 'node_resumed':
      return line(chalk.green(`${event.node} resumed`));
    case 'node_state':
      return line(`${event.node} ${stateSummary(event.state)}`);
    case 'node_misbehaved':
      return line(chalk.yellow(`${event.node} misbehaved (${event.problem}, ${event.count} so far): ${event.detail}`));
    case 'fault':
      return line(chalk.magenta(`${event.source === 'nemesis' ? 'nemesis: ' : ''}${event.description}`));
    case 'nemesis':
      return line(chalk.magenta(`nemesis ${event.phase} (seed ${event.seed})`));
    case 'notice':
      return line(event.text);
    case 'load':
      return event.phase === 'progress' ? null : line(`load ${event.phase}: ${formatLoadProgress(event.stats)}`);
    case 'client_result':
    case 'node_apply':
    case 'rates':
      return null;
  }
}

/** One line of workload progress, e.g. "1520 ops (ok 1490, fail 20, unknown 10), 498 ok/s, p50 3.1ms p99 12ms". */
export function formatLoadProgress(stats: LoadStats): string {
  const latency = stats.latency_ms ? `, p50 ${stats.latency_ms.p50}ms p99 ${stats.latency_ms.p99}ms` : '';
  const skipped = stats.skipped ? `, ${stats.skipped} skipped (all clients busy)` : '';
  return `${stats.completed} ops (ok ${stats.ok}, fail ${stats.fail}, unknown ${stats.unknown}), ${stats.throughput_per_s} ok/s${latency}${skipped}`;
}

export function formatLoadSummary(stats: LoadStats): string {
  const rows = [['OP', 'OK', 'FAIL', 'UNKNOWN']];
  for (const [f, tally] of Object.entries(stats.by_function).sort()) rows.push([f, String(tally.ok), String(tally.fail), String(tally.unknown)]);
  rows.push(['total', String(stats.ok), String(stats.fail), String(stats.unknown)]);
  const latency = stats.latency_ms
    ? `latency of ok ops: p50 ${stats.latency_ms.p50} ms, p90 ${stats.latency_ms.p90} ms, p99 ${stats.latency_ms.p99} ms, max ${stats.latency_ms.max} ms`
    : 'latency: no ok operations';
  return [
    `${stats.completed} operations in ${formatDurationMs(stats.elapsed_ms)}: ${stats.throughput_per_s} ok/s (offered ${stats.offered}${stats.skipped ? `, ${stats.skipped} skipped because every client was busy` : ''})`,
    latency,
    '',
    table(rows, (cell, r) => (r === 0 ? chalk.bold(cell) : cell)),
  ].join('\n');
}
