import type { ColumnSpec } from '../plugin.js';
import { electsLeaders, liveRole, longestRole, type RoleKind, roleKind, type RoleVocabulary } from '../roles.js';
import { formatDurationMs } from '../util/units.js';
import { lagBehindLeader, numberField, roleOf, termOf, type DashboardModel, type LinkRateView, type LoadView, type NodeView } from './model.js';

/**
 * Which node-table columns exist (from the state fields that arrived) and
 * which fit the terminal. Pure, so the narrow-terminal behaviour is testable
 * without a terminal.
 */

/** Width the dashboard assumes when the terminal does not say. */
export const terminal_columns_default = 80;
/** Narrowest layout we try to keep tidy; below this lines are cut off. */
export const terminal_columns_min = 40;
/** Marker before each row: "> " on the selected node. */
export const row_marker_width = 2;
/** Spaces between columns. */
export const column_gap = 1;

export interface Cell {
  text: string;
  /** An Ink colour name; ignored when colour is off. */
  color?: string;
  bold?: boolean;
  dim?: boolean;
  /** History rather than the present (a stopped node's last role): dimmed, and shown as "-" where there is no colour to dim with. */
  stale?: boolean;
}

export interface CellContext {
  model: DashboardModel;
  now_ms: number;
}

export interface TableColumn {
  key: string;
  title: string;
  width: number;
  /** An elastic column may narrow to this (cutting its text with an ellipsis) before any column is dropped. */
  min_width?: number;
  /** Narrow terminals drop the lowest rank first; 0 is never dropped. */
  drop_rank: number;
  cell(node: NodeView, context: CellContext): Cell;
}

const none: Cell = { text: '-', dim: true };

/** Short elapsed time for narrow cells: 0.4s, 12s, 3m05s, 2h10m. */
export function shortDuration(ms: number): string {
  const clamped = Math.max(0, ms);
  if (clamped < 10_000) return `${(clamped / 1000).toFixed(1)}s`;
  const s = Math.floor(clamped / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function shortSignal(signal: string): string {
  return signal.replace(/^SIG/, '');
}

export function statusCell(node: NodeView): Cell {
  switch (node.status) {
    case 'up':
      return { text: 'up', color: 'green' };
    case 'paused':
      return { text: 'paused', color: 'yellow' };
    case 'starting':
      return { text: 'starting', dim: true };
    case 'down': {
      const how = node.exit_signal ? shortSignal(node.exit_signal) : node.exit_code === null ? '' : String(node.exit_code);
      return { text: how ? `down ${how}` : 'down', color: 'red' };
    }
  }
}

const role_colours: Record<RoleKind, string> = { leading: 'green', electing: 'yellow', following: 'cyan', other: 'blue' };

/** Wide enough for every role word the vocabulary knows, written out exactly as nodes report it. */
export function roleColumnWidth(roles: RoleVocabulary): number {
  return Math.max('ROLE'.length, longestRole(roles));
}
/** Where room is short the role column narrows to this first: the common words (follower, candidate, following) still fit. */
export const role_column_width_min = 9;

export function roleCell(node: NodeView, { model }: CellContext): Cell {
  const role = roleOf(node);
  if (!role) return none;
  // A stopped or paused process's last words (or an old process's, before a restart) are history, not a role.
  if (liveRole(node) === null) return { text: role, dim: true, stale: true };
  const kind = roleKind(model.view.roles, role);
  return { text: role, color: kind ? role_colours[kind] : undefined, bold: kind === 'leading' };
}

function numberCell(value: number | null): Cell {
  return value === null ? none : { text: String(value) };
}

function anyNode(model: DashboardModel, test: (node: NodeView) => boolean): boolean {
  return model.nodes.some(test);
}

function hasField(model: DashboardModel, ...keys: string[]): boolean {
  return anyNode(model, (n) => keys.some((k) => n.state[k] !== undefined));
}

/** A column a system's plugin declares: the first of its fields a node reports, and how far it trails the leader's when asked. */
function systemColumn(spec: ColumnSpec): TableColumn {
  return {
    key: spec.key,
    title: spec.title,
    width: spec.width,
    drop_rank: spec.drop_rank,
    cell: (n, { model }) => {
      const field = spec.fields.find((f) => n.state[f] !== undefined && n.state[f] !== null);
      if (field === undefined) return none;
      const value = n.state[field];
      const lag = spec.lag_behind_leader ? lagBehindLeader(model, n, field) : null;
      if (lag !== null) return { text: `${String(value)} -${lag}`, color: 'yellow' };
      return typeof value === 'number' || typeof value === 'string' ? { text: String(value) } : none;
    },
  };
}

/** Every column this model has data for, in display order: the generic ones around the system's own. */
export function availableColumns(model: DashboardModel): TableColumn[] {
  const idWidth = Math.max(4, ...model.nodes.map((n) => n.id.length));
  const columns: TableColumn[] = [
    { key: 'node', title: 'NODE', width: idWidth, drop_rank: 0, cell: (n) => ({ text: n.id, bold: true }) },
    { key: 'status', title: 'STATUS', width: 9, drop_rank: 0, cell: statusCell },
  ];
  const roles = model.view.roles;
  if (hasField(model, 'role')) {
    const width = roleColumnWidth(roles);
    columns.push({ key: 'role', title: 'ROLE', width, min_width: Math.min(width, role_column_width_min), drop_rank: 0, cell: roleCell });
  }
  const termField = roles.term_fields.find((field) => hasField(model, field));
  if (termField !== undefined) {
    columns.push({ key: 'term', title: termField.toUpperCase(), width: 5, drop_rank: 5, cell: (n, { model: m }) => numberCell(termOf(m, n)) });
  }
  for (const spec of model.view.columns) {
    if (hasField(model, ...spec.fields)) columns.push(systemColumn(spec));
  }
  if (hasField(model, 'role') && electsLeaders(roles)) {
    columns.push({
      key: 'contact',
      title: 'CONTACT',
      width: 7,
      drop_rank: 2,
      cell: (n, { model: m, now_ms }) => {
        if (n.id === m.leader) return { text: 'leader', dim: true };
        if (n.status !== 'up' && n.status !== 'paused') return none;
        const ago = leaderContactAge(n, m, now_ms);
        if (ago === null) return none;
        return { text: contactAge(ago), color: ago > contact_stale_ms ? 'yellow' : undefined };
      },
    });
  }
  columns.push({
    key: 'rates',
    title: 'IN/OUT/s',
    width: 9,
    drop_rank: 4,
    cell: (n) => (n.in_per_s === null || n.out_per_s === null ? none : { text: `${Math.round(n.in_per_s)}/${Math.round(n.out_per_s)}` }),
  });
  return columns;
}

/**
 * Longer than this without hearing from the leader is shown as a warning: a
 * follower cut off from its leader shows it at the router's next report or the one after.
 */
export const contact_stale_ms = 1500;
/** Contact ages are shown to this step, rounded up: what a heartbeat's phase adds below it is noise. */
export const contact_age_step_ms = 100;

/**
 * How long the node had gone without a message from the leader when the router last reported its
 * deliveries (about once a second), or null when unknown. Not the age at this frame: the router's
 * report is the only fresh news, so an age counted on from it climbs for a second and falls back at
 * the next report, and a follower under steady 75 ms heartbeats would flip between 0.1 s and 0.9 s.
 * Read as of the report, it stays below the heartbeat interval while the leader reaches the follower,
 * and climbs a second per report once it does not: what a student compares with the election timeout.
 */
export function leaderContactAge(node: NodeView, model: DashboardModel, now_ms: number): number | null {
  if (node.leader_contact_t === null) return null;
  return Math.max(0, (model.contact_reported_t ?? now_ms) - node.leader_contact_t);
}

/** A contact age rounded up to contact_age_step_ms: "<0.1s" below the first step (every 75 ms heartbeat reads alike), then 0.2s, 1.4s, 12s. */
export function contactAge(ms: number): string {
  if (ms < contact_age_step_ms) return `<${shortDuration(contact_age_step_ms)}`;
  return shortDuration(Math.ceil(ms / contact_age_step_ms) * contact_age_step_ms);
}

export function tableWidth(columns: readonly TableColumn[]): number {
  return row_marker_width + columns.reduce((sum, c) => sum + c.width, 0) + column_gap * Math.max(0, columns.length - 1);
}

function narrowest(column: TableColumn): number {
  return Math.min(column.width, column.min_width ?? column.width);
}

function narrowestWidth(columns: readonly TableColumn[]): number {
  return tableWidth(columns.map((c) => ({ ...c, width: narrowest(c) })));
}

/**
 * Fits the table into `width`: elastic columns narrow first, then columns are
 * dropped, lowest rank first; elastic columns then take back what room is left.
 */
export function fitColumns(columns: readonly TableColumn[], width: number): TableColumn[] {
  let kept = [...columns];
  while (narrowestWidth(kept) > width) {
    const droppable = kept.filter((c) => c.drop_rank > 0);
    if (droppable.length === 0) break;
    const victim = droppable.reduce((a, b) => (b.drop_rank < a.drop_rank ? b : a));
    kept = kept.filter((c) => c !== victim);
  }
  let spare = Math.max(0, width - narrowestWidth(kept));
  return kept.map((column) => {
    const min = narrowest(column);
    if (min === column.width) return column;
    const grow = Math.min(column.width - min, spare);
    spare -= grow;
    return { ...column, width: min + grow };
  });
}

/** Fits `text` into `width` characters, cutting with an ellipsis. */
export function fit(text: string, width: number): string {
  if (text.length <= width) return text.padEnd(width);
  if (width <= 1) return text.slice(0, width);
  return `${text.slice(0, width - 1)}…`;
}

/** Between the items of a one-line list (links, load figures). */
export const list_separator = ' · ';
/** What a link's end reads when it is the clients taken together. */
export const clients_end_name = 'clients';

/**
 * As many of `items` as fit in `width` characters, in order, joined by the separator; when some
 * are left out (`more` counts items not even given), "+N more" says how many. Pure, for the tests.
 */
export function fitList(items: readonly string[], width: number, more = 0): string {
  for (let shown = items.length; shown >= 0; shown--) {
    const left_out = items.length - shown + more;
    const parts = [...items.slice(0, shown), ...(left_out > 0 ? [`+${left_out} more`] : [])];
    const text = parts.join(list_separator);
    if (text.length <= width) return text;
  }
  return '';
}

/** A rate in messages per second: whole above 10, one decimal below ("0.5", "7.5", "120"). */
export function formatRate(per_s: number): string {
  return per_s >= 10 || Number.isInteger(per_s) ? String(Math.round(per_s)) : per_s.toFixed(1);
}

export function describeLinkRate(link: LinkRateView): string {
  return `${link.src ?? clients_end_name}→${link.dest ?? clients_end_name} ${formatRate(link.per_s)}`;
}

/** The label of the link rates line. */
export const link_rates_label = 'msgs/s per link: ';

/**
 * The link rates line after its label, fitted to `width`: the busiest links first, as many as fit,
 * how many more carried messages, and what the network dropped per second (kept whatever the width,
 * as it is the figure a fault changes).
 */
export function linkRatesText(model: DashboardModel, width: number): { links: string; dropped: string } | null {
  // Before the router's first report, or from a supervisor that names no links.
  if (model.links === null) return null;
  const dropped = model.dropped_per_s === null ? '' : `${list_separator}dropped ${formatRate(model.dropped_per_s)}/s`;
  const room = Math.max(0, width - link_rates_label.length - dropped.length);
  const links = model.links;
  if (links.length === 0) return { links: 'none', dropped };
  return { links: fitList(links.map(describeLinkRate), room, Math.max(0, model.links_active - links.length)), dropped };
}

/**
 * The workload's running figures in one line, most telling first so a narrow terminal cuts the least:
 * "load 12s of 20s: 240 ops · ok 238 · fail 0 · unknown 2 · avg 20/s · latency now p50 3.1ms p99 12ms".
 * Unknown is Maelstrom's "info": no answer in time. Latency is of answered operations.
 */
/** A latency as the load figures give it (to a tenth of a millisecond): "3.1ms", "250ms", "1.2s". */
function latencyText(ms: number): string {
  return ms < 1000 ? `${ms}ms` : formatDurationMs(ms);
}

export function loadCells(load: LoadView): Cell[] {
  const { stats } = load;
  const when = load.running ? `load ${formatDurationMs(stats.elapsed_ms)} of ${formatDurationMs(load.duration_ms)}` : `load done after ${formatDurationMs(stats.elapsed_ms)}`;
  const cells: Cell[] = [{ text: `${when}: `, dim: true }, { text: `${stats.completed} ops` }];
  const figure = (text: string, color?: string): void => void cells.push({ text: list_separator, dim: true }, { text, color });
  if (stats.outcomes) {
    // A workload with outcomes of its own (the breaker load): ok first, then each other outcome that happened.
    figure(`ok ${stats.outcomes.counts.ok ?? 0}`, 'green');
    for (const [outcome, n] of Object.entries(stats.outcomes.counts)) if (outcome !== 'ok' && n > 0) figure(`${outcome.replaceAll('_', ' ')} ${n}`, 'yellow');
    for (const [why, n] of Object.entries(stats.outcomes.not_sent)) if (n > 0) figure(`${why.replaceAll('_', ' ')} ${n}`, 'red');
  } else {
    figure(`ok ${stats.ok}`, 'green');
    // A kv load's expected refusals; other workloads never have them.
    if (stats.not_found) figure(`not found ${stats.not_found}`);
    if (stats.mismatched) figure(`mismatched ${stats.mismatched}`);
    figure(`fail ${stats.fail}`, stats.fail > 0 ? 'red' : undefined);
    figure(`unknown ${stats.unknown}`, stats.unknown > 0 ? 'yellow' : undefined);
  }
  figure(`avg ${stats.throughput_per_s}/s`);
  // While it runs, the latency now (of the last seconds' answers) where the load keeps it; over the whole load otherwise.
  const recent = load.running ? stats.recent_latency_ms : undefined;
  if (recent !== undefined) figure(recent === null ? 'nothing answered lately' : `latency now p50 ${latencyText(recent.p50)} p99 ${latencyText(recent.p99)}`, recent === null ? 'yellow' : undefined);
  else if (stats.latency_ms) figure(`p50 ${latencyText(stats.latency_ms.p50)} p99 ${latencyText(stats.latency_ms.p99)}`);
  return cells;
}

/** The label of the ZooKeeper clients line. */
export const zk_clients_label = 'ZooKeeper ';

/**
 * The ZooKeeper line after its label, fitted to `width`: the connect string, then each connected
 * client as "c13001→n1", as many as fit ("no clients" when none is). Null without Zab servers.
 */
export function zkClientsText(model: DashboardModel, width: number): string | null {
  if (!model.zk) return null;
  const head = `${model.zk.connect_string || '(ports not known yet)'}: `;
  const clients = model.zk.clients.map((client) => `${client.id}→${client.server}`);
  return head + (clients.length === 0 ? 'no clients' : fitList(clients, Math.max(0, width - zk_clients_label.length - head.length)));
}

/** The lines under the table that only some views have, in the order they give way on a short terminal. */
export type OptionalLine = 'throughput' | 'links' | 'zk' | 'load';
/** The sparkline goes first (the load line says the throughput too), then the link rates, the ZooKeeper clients; the load's figures last. */
export const optional_lines_drop_order: readonly OptionalLine[] = ['throughput', 'links', 'zk', 'load'];

/**
 * Which of the wanted optional lines fit beside `fixed_lines` in a terminal of `rows` rows (null:
 * unknown, all fit). Ink redraws a frame as tall as the terminal by clearing the whole screen, so
 * the view stays at least one row shorter; the lines that do not fit go in optional_lines_drop_order.
 */
export function fitOptionalLines(wanted: readonly OptionalLine[], fixed_lines: number, rows: number | null): Set<OptionalLine> {
  const shown = new Set(wanted);
  if (rows === null) return shown;
  for (const line of optional_lines_drop_order) {
    if (fixed_lines + shown.size <= rows - 1) break;
    shown.delete(line);
  }
  return shown;
}
