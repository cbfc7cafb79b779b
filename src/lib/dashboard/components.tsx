import chalk from 'chalk';
import { Box, Text } from 'ink';
import { formatDurationMs } from '../util/units.js';
import { describeMembersUp } from '../cluster/members.js';
import { electsLeaders } from '../roles.js';
import { availableColumns, column_gap, fit, fitColumns, fitOptionalLines, link_rates_label, linkRatesText, loadCells, zk_clients_label, zkClientsText, type Cell, type CellContext, type OptionalLine } from './layout.js';
import type { DashboardModel, LogEntry, LogKind } from './model.js';
import { leaderTermWord, verdictOf } from './model.js';

/**
 * The dashboard's Ink components. Each is a pure function of its props: the
 * model, the time to measure ages against, the width and whether colour is
 * allowed. The app supplies those; tests pass fixed ones.
 */

export interface ViewProps {
  model: DashboardModel;
  now_ms: number;
  width: number;
  /** False under NO_COLOR: text only, no colours (bold and inverse still mark things). */
  color: boolean;
}

/** One key and what it does, for the help panel, the key bar and the README. */
export interface KeyBinding {
  keys: string;
  does: string;
}

export const key_bindings: readonly KeyBinding[] = [
  { keys: '↑ ↓ j 1-9', does: 'select a node (j moves down; k is kill, so only ↑ moves up)' },
  { keys: 'k', does: 'kill the selected node (SIGKILL)' },
  { keys: 'r', does: 'restart the selected node' },
  { keys: 'p', does: 'pause the selected node, or resume it if paused' },
  { keys: 'i', does: 'isolate the selected node from the others' },
  { keys: 's', does: 'split the cluster into two random halves' },
  { keys: 'h', does: 'heal: remove partitions and link faults' },
  { keys: 'l', does: 'show or hide the event log' },
  { keys: '?', does: 'show or hide this help' },
  { keys: 'q', does: 'quit the view (in `up`: asks before stopping the cluster)' },
];

/** Fits 80 columns exactly; narrower terminals cut it from the right. */
const key_bar = '↑↓j:select k:kill r:restart p:pause i:isolate s:split h:heal l:log ?:help q:quit';

function Styled({ cell, color }: { cell: Cell & { text: string }; color: boolean }) {
  return (
    <Text color={color ? cell.color : undefined} bold={cell.bold} dimColor={cell.dim}>
      {cell.text}
    </Text>
  );
}

export function Header({ model, now_ms, width, color }: ViewProps) {
  const uptime = model.started_at_ms === null ? '-' : formatDurationMs(Math.max(0, now_ms - model.started_at_ms));
  const title = [
    `cluster ${model.name ?? '?'}`,
    model.system ?? '?',
    `up ${uptime}`,
    `seed ${model.seed ?? '-'}`,
    `nodes ${describeMembersUp(model.nodes)}`,
  ].join(' · ');
  const faults = model.faults.length ? model.faults.join('; ') : 'none';
  let leader: Cell;
  if (model.cluster_down) leader = { text: 'cluster down', color: 'red', bold: true };
  else if (!electsLeaders(model.view.roles)) leader = { text: 'leaderless system', dim: true };
  else if (model.leader && model.leader_inferred) leader = { text: `leader ${model.leader} (inferred from client replies)`, color: 'green' };
  else if (model.leader) leader = { text: `leader ${model.leader}${model.leader_term === null ? '' : ` · ${leaderTermWord(model)} ${model.leader_term}`}`, color: 'green', bold: true };
  else {
    const since = model.no_leader_since_t === null ? '' : ` for ${formatDurationMs(Math.max(0, now_ms - model.no_leader_since_t))}`;
    leader = { text: `no leader${since}`, color: 'red', bold: true };
  }
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">
        {fit(title, width).trimEnd()}
      </Text>
      <Text wrap="truncate-end">
        <Styled cell={leader} color={color} />
      </Text>
      <Text wrap="truncate-end">
        <Text dimColor>faults: </Text>
        <Text color={color && model.faults.length ? 'magenta' : undefined}>{faults}</Text>
      </Text>
    </Box>
  );
}

export interface NodeTableProps extends ViewProps {
  /** Index into model.nodes of the selected row, or -1 for none. */
  selected: number;
}

/** A cell as one styled string; rows are built as single strings because Ink's per-node cost dominates a frame. */
function paint(cell: Cell, text: string, color: boolean): string {
  let styled = text;
  if (color && cell.color) styled = (chalk as unknown as Record<string, (t: string) => string>)[cell.color]?.(styled) ?? styled;
  if (cell.bold) styled = chalk.bold(styled);
  if (cell.dim) styled = chalk.dim(styled);
  return styled;
}

/** A group section's title: its name, what servers it runs if any, and how many of its members are up ("workers 3/4 up", "redis (redis servers) 1/1 up"). */
function GroupTitle({ model, group, color }: { model: DashboardModel; group: string; color: boolean }) {
  const members = model.nodes.filter((n) => n.group === group);
  const up = members.filter((n) => n.status === 'up').length;
  const kind = members.find((n) => n.server !== null)?.server;
  return (
    <Text wrap="truncate-end" bold={color}>
      {`  ${group}${kind ? ` (${kind} servers)` : ''} ${up}/${members.length} up`}
    </Text>
  );
}

export function NodeTable({ model, now_ms, width, color, selected }: NodeTableProps) {
  const sectioned = model.groups.length > 1;
  const columns = fitColumns(availableColumns(model), width);
  const context: CellContext = { model, now_ms };
  const gap = ' '.repeat(column_gap);
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">
        {'  '}
        {columns.map((c) => fit(c.title, c.width)).join(gap).trimEnd()}
      </Text>
      {model.nodes.flatMap((node, row) => {
        const isSelected = row === selected;
        const cells = columns.map((column) => {
          const cell = column.cell(node, context);
          return paint(cell, fit(!color && cell.stale ? '-' : cell.text, column.width), color);
        });
        const line = (
          <Text key={node.id} wrap="truncate-end" inverse={isSelected && color}>
            {(isSelected ? '> ' : '  ') + cells.join(gap)}
          </Text>
        );
        // With several node groups, each starts its own section (model.nodes is in group order); one group shows as it always did.
        const startsGroup = sectioned && node.group !== null && model.nodes[row - 1]?.group !== node.group;
        return startsGroup ? [<GroupTitle key={`group:${node.group}`} model={model} group={node.group!} color={color} />, line] : [line];
      })}
    </Box>
  );
}

export function PartitionMap({ model, width, color }: ViewProps) {
  const linkText = model.link_faults.map((l) => `${l.scope}: ${l.words.join(', ')}`).join(' · ');
  if (!model.partition) {
    return (
      <Text wrap="truncate-end">
        <Text dimColor>network: </Text>
        {model.link_faults.length ? <Text color={color ? 'magenta' : undefined}>{linkText}</Text> : <Text>connected, no link faults</Text>}
      </Text>
    );
  }
  const groups = model.partition;
  const nodeMark = (id: string) => {
    const node = model.nodes.find((n) => n.id === id);
    const mark = id === model.leader ? '*' : node?.status === 'down' ? '✗' : node?.status === 'paused' ? '‖' : '';
    return `${id}${mark}`;
  };
  return (
    <Box flexDirection="column" width={width}>
      <Box flexDirection="row">
        <Box paddingTop={1} marginRight={1}>
          <Text dimColor>network:</Text>
        </Box>
        {groups.map((group, i) => (
          <Box key={group.join(',')} flexDirection="row">
            {i > 0 && (
              <Box paddingTop={1} marginX={1}>
                <Text color={color ? 'red' : undefined}>✕</Text>
              </Box>
            )}
            <Box borderStyle="single" borderColor={color ? 'magenta' : undefined} paddingX={1}>
              <Text>{group.map(nodeMark).join(' ')}</Text>
            </Box>
          </Box>
        ))}
      </Box>
      {model.link_faults.length > 0 && (
        <Text wrap="truncate-end" color={color ? 'magenta' : undefined}>
          links: {linkText}
        </Text>
      )}
    </Box>
  );
}

/** Each node's judgement of the run so far (the locks resource's lock check), one line per node that reports one. */
export function Verdicts({ model, color }: ViewProps) {
  const lines = model.nodes.flatMap((node) => {
    const verdict = verdictOf(node);
    return verdict ? [{ id: node.id, ...verdict }] : [];
  });
  if (lines.length === 0) return null;
  return (
    <Box flexDirection="column">
      {lines.map((line) => (
        <Text key={line.id} wrap="truncate-end">
          <Text dimColor>{`${line.id}: `}</Text>
          <Text color={color ? (line.ok ? 'green' : 'red') : undefined} bold={!line.ok}>
            {line.text}
          </Text>
        </Text>
      ))}
    </Box>
  );
}

/** What replaces the last frame when the dashboard closes (farewellLines): the live view is not left behind as if it were still live. */
export function Farewell({ lines }: { lines: readonly string[] }) {
  return (
    <Box flexDirection="column">
      {lines.map((line, i) => (
        <Text key={i}>{line}</Text>
      ))}
    </Box>
  );
}

/** The busiest links at the router's last report, as many as the width holds, and what the network dropped per second. */
export function LinkRates({ model, width, color }: ViewProps) {
  const text = linkRatesText(model, width);
  if (text === null) return null;
  const dropping = model.dropped_per_s !== null && model.dropped_per_s > 0;
  return (
    <Text wrap="truncate-end">
      <Text dimColor>{link_rates_label}</Text>
      <Text>{text.links}</Text>
      <Text color={color && dropping ? 'magenta' : undefined} dimColor={!dropping}>
        {text.dropped}
      </Text>
    </Text>
  );
}

/** Where ZooKeeper clients connect, and the clients connected (each its endpoint id and server). */
export function ZkClients({ model, width }: ViewProps) {
  const text = zkClientsText(model, width);
  if (text === null) return null;
  return (
    <Text wrap="truncate-end">
      <Text dimColor>{zk_clients_label}</Text>
      <Text>{text}</Text>
    </Text>
  );
}

/** The running load's figures (or the last load's, said done), from its progress events. */
export function LoadFigures({ model, color }: ViewProps) {
  if (!model.load) return null;
  return (
    <Text wrap="truncate-end">
      {loadCells(model.load).map((cell, i) => (
        <Styled key={i} cell={cell} color={color} />
      ))}
    </Text>
  );
}

const spark_levels = '▁▂▃▄▅▆▇█';

/** Block characters for the last `width` samples, scaled to the largest shown. */
export function sparkline(samples: readonly number[], width: number): string {
  const shown = samples.slice(-Math.max(0, width));
  const peak = Math.max(0, ...shown);
  if (peak === 0) return shown.map(() => spark_levels[0]).join('');
  return shown.map((v) => spark_levels[Math.min(spark_levels.length - 1, Math.floor((v / peak) * (spark_levels.length - 1)))]).join('');
}

export function Throughput({ model, width, color }: ViewProps) {
  if (!model.load && model.throughput_per_s.length === 0) return null;
  const last = model.throughput_per_s.at(-1) ?? 0;
  const label = 'committed ops/s ';
  const tail = ` ${Math.round(last)}${model.load?.running ? '' : ' (load done)'}`;
  const room = Math.max(0, width - label.length - tail.length);
  return (
    <Text wrap="truncate-end">
      <Text dimColor>{label}</Text>
      <Text color={color ? 'cyan' : undefined}>{sparkline(model.throughput_per_s, room)}</Text>
      <Text bold>{tail}</Text>
    </Text>
  );
}

const log_colours: Record<LogKind, string | undefined> = {
  cluster: undefined,
  election: 'yellow',
  violation: 'red',
  leader: 'green',
  no_leader: 'red',
  rollback: 'yellow',
  sync: 'cyan',
  expiry: 'yellow',
  fault: 'magenta',
  heal: 'green',
  crash: 'red',
  restart: 'green',
  load: 'cyan',
  note: undefined,
  error: 'red',
};

/** Wall-clock time of day, HH:MM:SS.mmm (UTC, as the plain event lines print it). */
export function clockTime(t: number): string {
  return new Date(t).toISOString().slice(11, 23);
}

export function LogLine({ entry, color }: { entry: LogEntry; color: boolean }) {
  return (
    <Text wrap="truncate-end">
      <Text dimColor>{clockTime(entry.t)} </Text>
      <Text color={color ? log_colours[entry.kind] : undefined}>{entry.text}</Text>
    </Text>
  );
}

/** The newest `limit` entries, newest last. */
export function EventLog({ entries, color, limit }: { entries: readonly LogEntry[]; color: boolean; limit: number }) {
  return (
    <Box flexDirection="column">
      {entries.slice(-limit).map((entry) => (
        <LogLine key={entry.id} entry={entry} color={color} />
      ))}
    </Box>
  );
}

export function KeyBar({ width }: { width: number }) {
  return (
    <Text dimColor wrap="truncate-end">
      {fit(key_bar, width).trimEnd()}
    </Text>
  );
}

export function HelpPanel() {
  const keyWidth = Math.max(...key_bindings.map((k) => k.keys.length));
  return (
    <Box flexDirection="column" borderStyle="single" paddingX={1}>
      <Text bold>keys</Text>
      {key_bindings.map((k) => (
        <Text key={k.keys} wrap="truncate-end">
          <Text bold>{k.keys.padEnd(keyWidth)}</Text> {k.does}
        </Text>
      ))}
    </Box>
  );
}

export interface DashboardViewProps extends NodeTableProps {
  /** One line under the table: a prompt, the action in flight or its error. */
  message: { text: string; error?: boolean } | null;
  showHelp: boolean;
  /** The terminal's rows, when known: the optional lines give way where the view would not fit. */
  height?: number | null;
}

/** Header lines, the blank line above the table, and the key bar. */
const view_frame_lines = 3 + 1 + 1;
/** The help panel's lines beyond its keys: the border's two and the title. */
const help_panel_extra_lines = 3;

/** How many lines the view takes without its optional lines (each part's height as drawn below). */
function fixedViewLines({ model, message, showHelp }: DashboardViewProps): number {
  const sectioned = model.groups.length > 1;
  const groupTitles = sectioned ? model.nodes.filter((node, row) => node.group !== null && model.nodes[row - 1]?.group !== node.group).length : 0;
  const table = 1 + model.nodes.length + groupTitles;
  const verdicts = model.nodes.filter((node) => verdictOf(node) !== null).length;
  // A partition is drawn as boxes three lines high, with the link faults under them.
  const network = model.partition ? 3 + (model.link_faults.length > 0 ? 1 : 0) : 1;
  const help = showHelp ? key_bindings.length + help_panel_extra_lines : 0;
  return view_frame_lines + table + verdicts + network + help + (message ? 1 : 0);
}

/** The optional lines this model has something to show on. */
function wantedOptionalLines(model: DashboardModel): OptionalLine[] {
  const wanted: OptionalLine[] = [];
  if (model.links !== null) wanted.push('links');
  if (model.zk !== null) wanted.push('zk');
  if (model.load) wanted.push('load');
  if (model.load || model.throughput_per_s.length > 0) wanted.push('throughput');
  return wanted;
}

/** The redrawn region: everything except the event log, which the app prints above it once. */
export function DashboardView(props: DashboardViewProps) {
  const { message, showHelp, color, width } = props;
  const shown = fitOptionalLines(wantedOptionalLines(props.model), fixedViewLines(props), props.height ?? null);
  return (
    <Box flexDirection="column" width={width}>
      <Header {...props} />
      <Box marginTop={1}>
        <NodeTable {...props} />
      </Box>
      <Verdicts {...props} />
      <PartitionMap {...props} />
      {shown.has('links') && <LinkRates {...props} />}
      {shown.has('zk') && <ZkClients {...props} />}
      {shown.has('load') && <LoadFigures {...props} />}
      {shown.has('throughput') && <Throughput {...props} />}
      {showHelp && <HelpPanel />}
      {message && (
        <Text wrap="truncate-end" color={color && message.error ? 'red' : undefined} bold>
          {message.text}
        </Text>
      )}
      <KeyBar width={width} />
    </Box>
  );
}
