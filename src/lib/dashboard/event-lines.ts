/** The dashboard's event log as plain lines: for `dslab up` in the foreground, `events`/`watch` and the supervisor's own log. */

import chalk from 'chalk';
import type { ClusterEvent, ClusterEventType } from '../control/api.js';
import { NodeStateCoalescer } from '../control/state-coalescer.js';
import type { EventHub } from '../supervisor/event-hub.js';
import { dashboardReducer, emptyModel, type DashboardInput, type DashboardModel, type LogKind } from './model.js';

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
