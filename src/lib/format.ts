import chalk from 'chalk';
import type { ClusterEvent, ClusterEventType, ClusterStatus, NodeStatus, ServerRow } from './control/api.js';
import type { ServerLinkStatus } from './proxy/server-member.js';
import { NodeStateCoalescer } from './control/state-coalescer.js';
import { dashboardReducer, describeClientMessage, emptyModel, type DashboardInput, type DashboardModel, type LogKind } from './dashboard/model.js';
import { describeLeader, electsLeaders, isLive } from './roles.js';
import type { EventHub } from './supervisor/event-hub.js';
import { formatDurationMs } from './util/units.js';
import { explainingLine } from './util/stderr.js';
import { describeLoadTally, type LoadStats } from './load-stats.js';

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

function stateSummary(state: Record<string, unknown>, hideRole = false): string {
  const entries = Object.entries(state).map(([k, v]): [string, unknown] => (hideRole && k === 'role' ? [k, '-'] : [k, v]));
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
    `nodes ${status.nodes.filter((n) => n.status === 'up').length}/${status.nodes.length} up` +
    // A system without leaders (echo, unique-ids) has no leader to name or miss.
    (status.view && !electsLeaders(status.view.roles) ? '' : `  leader ${describeLeader(status.leader, status.leader_inferred)}`);
  const faults = `faults: ${status.faults.length ? status.faults.join('; ') : 'none'}${status.nemesis?.running ? `  (nemesis seed ${status.nemesis.seed} running)` : ''}`;
  // Forwarding (a node passing a client's request on under the client's id) gets a column once it happens.
  const forwarding = status.nodes.some((n) => n.forwarded > 0);
  // A cluster of several node groups names each node's group; a single-group cluster's table is as it always was.
  const grouped = new Set(status.nodes.map((n) => n.group)).size > 1;
  const lead = grouped ? 1 : 0;
  const rows = [['NODE', ...(grouped ? ['GROUP'] : []), 'PID', 'STATUS', 'IN', 'OUT', ...(forwarding ? ['FWD'] : []), 'PROBLEMS', 'STATE']];
  const problemsColumn = (forwarding ? 6 : 5) + lead;
  // A stopped node's role, or one left from before a restart, is history: dimmed, or "-" where there is no colour to dim with.
  const staleRole = (node: NodeStatus) => !isLive(node.status) || node.role_stale;
  for (const node of status.nodes) {
    const problems = [
      node.garbage_lines && `${node.garbage_lines} garbage`,
      node.oversized_lines && `${node.oversized_lines} oversized`,
      node.unknown_dest && `${node.unknown_dest} unknown-dest`,
      node.backpressure_drops && `${node.backpressure_drops} dropped`,
    ].filter(Boolean);
    rows.push([
      node.id,
      ...(grouped ? [node.group ?? '-'] : []),
      node.pid === null ? '-' : String(node.pid),
      describeNodeStatus(node),
      String(node.msgs_in),
      String(node.msgs_out),
      ...(forwarding ? [String(node.forwarded)] : []),
      problems.length ? problems.join(', ') : '-',
      stateSummary(node.state, staleRole(node) && chalk.level === 0) || '-',
    ]);
  }
  const body = table(rows, (cell, r, c) => {
    if (r === 0) return chalk.bold(cell);
    const node = status.nodes[r - 1]!;
    if (c === 2 + lead) return colourStatus(cell, node.status);
    if (c === problemsColumn && cell.trim() !== '-') return chalk.yellow(cell);
    if (c === problemsColumn + 1 && staleRole(node)) return chalk.dim(cell);
    return cell;
  });
  const crashed = status.nodes.filter((n) => n.status === 'down' && n.stderr_tail.length > 0);
  const tails = crashed.map((n) => `${n.id} crashed: ${explainingLine(n.stderr_tail)}`);
  const services = formatServices(status);
  const servers = formatServers(status);
  return [header, faults, ...(services ? [services] : []), '', body, ...(servers ? ['', servers] : []), ...(tails.length ? ['', ...tails] : [])].join('\n');
}

/** A server's state as its row shows it: an exited one is "down", with how it ended. */
export function describeServerState(server: ServerRow): string {
  if (server.state !== 'exited') return server.state;
  const exit = server.last_exit;
  if (!exit) return 'down';
  return exit.signal ? `down (${exit.signal})` : `down (exit ${String(exit.exit_code)})`;
}

/** What one node's proxied link to a server has carried: "n1 3 conns (1 open), 120 B in, 340 B out, 2 resets, 40 B held". */
export function describeServerLink(link: ServerLinkStatus): string {
  const c = link.counters;
  const words = [`${link.client} ${c.connections} conn${c.connections === 1 ? '' : 's'} (${c.connections_open} open)`, `${c.bytes_to_server} B in`, `${c.bytes_to_client} B out`];
  if (c.resets) words.push(`${c.resets} reset${c.resets === 1 ? '' : 's'}`);
  if (c.upstream_failures) words.push(`${c.upstream_failures} refused`);
  if (c.connections_refused) words.push(`${c.connections_refused} over limit`);
  if (c.held_bytes) words.push(`${c.held_bytes} B held`);
  return words.join(', ');
}

/** The table of real servers (server groups' members) and their links; null when the cluster has none. */
export function formatServers(status: ClusterStatus): string | null {
  const servers = status.servers ?? [];
  if (servers.length === 0) return null;
  const rows = [['SERVER', 'GROUP', 'KIND', 'PID', 'STATE', 'PORT', 'RESTARTS', 'LINKS']];
  for (const server of servers) {
    rows.push([server.id, server.group, server.kind, server.pid === null ? '-' : String(server.pid), describeServerState(server), String(server.port), String(server.restarts), server.links.map(describeServerLink).join('; ') || '-']);
  }
  return table(rows, (cell, r, c) => {
    if (r === 0) return chalk.bold(cell);
    const state = servers[r - 1]!.state;
    if (c === 4) return colourStatus(cell, state === 'running' ? 'up' : state === 'exited' ? 'down' : state === 'paused' ? 'paused' : 'starting');
    return cell;
  });
}

/** The services nodes have used, e.g. "services: lin-kv 12 in, 12 out (3 errors)"; null when none has had a message. */
export function formatServices(status: ClusterStatus): string | null {
  const used = (status.services ?? []).filter((s) => s.msgs_in > 0);
  if (used.length === 0) return null;
  const parts = used.map((s) => `${s.name} ${s.msgs_in} in, ${s.msgs_out} out${s.errors ? ` (${s.errors} error${s.errors === 1 ? '' : 's'})` : ''}`);
  return `services: ${parts.join(' · ')}`;
}

/** Event types that never make a plain event line: per-operation results and per-second progress. */
export const lineless_event_types: readonly ClusterEventType[] = ['client_result', 'node_apply', 'rates'];

/**
 * A reader of plain lines needs no more than this many state reports per node per
 * second: reports that change the role, term or leader still come at once (see
 * NodeStateCoalescer), and the rest only move commit indexes, which make no line.
 */
export const event_lines_state_coalesce_ms = 100;

export interface EventLine {
  t: number;
  /** The dashboard's log kinds, plus `start` for a node's first start (the dashboard's table shows that instead). */
  kind: LogKind | 'start';
  text: string;
}

/**
 * Turns the event stream into the dashboard's plain event lines ("n2 is leader
 * (term 5)", "n3 rolled back 2 uncommitted entries", faults, crashes) instead
 * of a line per state report. Events are folded through the dashboard's own
 * reducer and each entry it adds to its event log becomes a line, so the lines
 * and the dashboard never disagree. A stream of lines has no node table, so it
 * also says when each node first comes up.
 */
export class EventLinePrinter {
  private model: DashboardModel = emptyModel();

  /** The lines this input adds, usually none. A `snapshot` input sets the starting state silently. */
  push(input: DashboardInput): EventLine[] {
    const first_new_id = this.model.next_log_id;
    this.model = dashboardReducer(this.model, input);
    const lines: EventLine[] = [];
    if (input.type === 'node_up' && input.restarts === 0) lines.push({ t: input.t, kind: 'start', text: `${input.node} up (pid ${input.pid})` });
    const log = this.model.log;
    let from = log.length;
    while (from > 0 && log[from - 1]!.id >= first_new_id) from--;
    for (const entry of log.slice(from)) lines.push({ t: entry.t, kind: entry.kind, text: entry.text });
    return lines;
  }
}

const line_colours: Record<EventLine['kind'], ((text: string) => string) | null> = {
  cluster: chalk.bold,
  start: chalk.green,
  election: chalk.yellow,
  violation: chalk.red.bold,
  leader: chalk.green,
  no_leader: chalk.red,
  rollback: chalk.yellow,
  sync: chalk.cyan,
  expiry: chalk.yellow,
  fault: chalk.magenta,
  heal: chalk.green,
  crash: chalk.red,
  restart: chalk.green,
  load: chalk.cyan,
  note: null,
  error: chalk.red,
};

/** Time of day in UTC, HH:MM:SS.mmm, as the dashboard's event log shows it. */
function timeOfDay(t: number): string {
  return new Date(t).toISOString().slice(11, 23);
}

/** One plain event line for a terminal: the time of day, then the text (coloured when chalk colours). */
export function formatEventLine(line: EventLine): string {
  const colour = line_colours[line.kind];
  return `${chalk.dim(timeOfDay(line.t))} ${colour ? colour(line.text) : line.text}`;
}

/**
 * Follows an in-process event hub (foreground `up`, the supervisor's own log)
 * with plain event lines, state reports merged as a reader of lines needs.
 * Returns the function that stops following.
 */
export function followEventLines(hub: Pick<EventHub, 'history' | 'subscribe'>, onLine: (line: EventLine) => void, options: { history: boolean }): () => void {
  const printer = new EventLinePrinter();
  const deliver = (event: ClusterEvent) => {
    for (const line of printer.push(event)) onLine(line);
  };
  const skipped = new Set(lineless_event_types);
  if (options.history) for (const event of hub.history()) if (!skipped.has(event.type)) deliver(event);
  const coalescer = new NodeStateCoalescer(event_lines_state_coalesce_ms, deliver);
  const unsubscribe = hub.subscribe((event) => {
    if (!skipped.has(event.type)) coalescer.push(event);
  });
  return () => {
    unsubscribe();
    coalescer.flush();
    coalescer.close();
  };
}

/** One line per event, for `nemesis`'s fault lines. Null for events not worth a line. */
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
    case 'client_message':
      return line(describeClientMessage(event.node, event.client, event.body));
    case 'leader_inferred':
      return line(event.node ? `${event.node} is leader (inferred from client replies: ${event.reason})` : `no inferred leader any more (${event.reason})`);
    case 'load':
      return event.phase === 'progress' ? null : line(`load ${event.phase}: ${formatLoadProgress(event.stats)}`);
    case 'client_result':
    case 'node_apply':
    case 'rates':
      return null;
  }
}

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

/** What a load's outcome columns mean, in the words of its workload. */
export interface LoadLegend {
  expected: string;
  failures: string;
}

export const kv_load_legend: LoadLegend = {
  expected: 'NOT FOUND (error 20: the key did not exist) and MISMATCHED (error 22: a cas whose from was not the current value) are definite answers a correct cluster gives.',
  failures: 'Failures: FAILED got another error (it did not take effect); UNKNOWN got no answer in time (a write or cas may or may not have taken effect).',
};

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
