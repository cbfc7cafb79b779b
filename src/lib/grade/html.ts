import { existsSync } from 'node:fs';
import path from 'node:path';
import { type Arrow, lamportSvg, type OpBar } from '../report/lamport.js';
import { countOf, escapeXml, inClusterOrder, nodeTest, relativeMs } from '../report/markup.js';
import { type TraceRecord, traceTail, traceWindow } from '../report/trace-file.js';
import type { HistoryOperation as Operation } from '../plugin.js';
import type { LabResult } from './grade.js';
import type { NodeStatusChange, TimelinePoint } from './recorder.js';
import type { TestResult } from './runner.js';

/**
 * The grader's self-contained HTML report (no scripts, fonts or links outside
 * the page): a summary table, then per test run its outcome, a timeline of
 * roles, node starts, kills and faults on a time axis, and for a failure a
 * message diagram. Every time on the page is measured from the test's start.
 */

/** Messages drawn in one message diagram. */
export const diagram_messages_max = 150;
/** History operations on the offending key listed around a linearizability violation (the violation's own always are). */
export const context_ops_max = 12;
/** Of those, the nearest this many are also drawn in the message diagram, so it stays short enough to read. */
export const diagram_context_ops_max = 4;
/** Operations on the offending key this long before the violation's first call or after its last return are context. */
export const diagram_context_ms = 250;
/** Fault labels stack in at most this many rows above the timeline's lanes; the list below the timeline has them all. */
const fault_label_rows_max = 4;
/** Longest fault label drawn on the timeline, in characters. */
const fault_label_chars_max = 44;
/** Time-axis ticks aimed for across a timeline. */
const axis_ticks_target = 10;
/** Fault lists longer than this start folded. */
const fault_list_open_max = 30;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

// ---------------------------------------------------------------------------
// Timeline

const role_colours: Record<string, string> = {
  leader: '#2e7d32',
  leading: '#2e7d32',
  candidate: '#ef6c00',
  looking: '#ef6c00',
  pre_candidate: '#f9a825',
  follower: '#90a4ae',
  following: '#90a4ae',
};
const unknown_role_colour = '#cfd8dc';

const start_colour = '#2e7d32';
const kill_colour = '#4e342e';
const crash_colour = '#d50000';
const fault_colour = '#6a1b9a';

/** A tick step in seconds giving about axis_ticks_target ticks over the span. */
function tickStepMs(span_ms: number): number {
  const steps_s = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600];
  return (steps_s.find((s) => span_ms / (s * 1000) <= axis_ticks_target) ?? steps_s.at(-1)!) * 1000;
}

function tickLabel(ms: number, step_ms: number): string {
  return `${(ms / 1000).toFixed(step_ms < 1000 ? 1 : 0)} s`;
}

/** Marks drawn for a status change, centred at (x, y); each kind has its own shape so a start never looks like a crash. */
function statusMark(change: NodeStatusChange, x: number, y: number, title: string): string {
  const t = `<title>${escapeXml(title)}</title>`;
  switch (change) {
    case 'started':
    case 'restarted':
      // A right-pointing triangle: the process begins here.
      return `<path class="mark-start" d="M${(x - 1).toFixed(1)},${y - 6} L${(x + 7).toFixed(1)},${y} L${(x - 1).toFixed(1)},${y + 6} z" fill="${start_colour}" stroke="#fff" stroke-width="1">${t}</path>`;
    case 'killed':
      return `<path class="mark-kill" d="M${(x - 5).toFixed(1)},${y - 5} L${(x + 5).toFixed(1)},${y + 5} M${(x - 5).toFixed(1)},${y + 5} L${(x + 5).toFixed(1)},${y - 5}" stroke="${kill_colour}" stroke-width="2.5">${t}</path>`;
    case 'crashed':
      return `<g class="mark-crash"><circle cx="${x.toFixed(1)}" cy="${y}" r="7" fill="${crash_colour}"/><path d="M${(x - 3.5).toFixed(1)},${y - 3.5} L${(x + 3.5).toFixed(1)},${y + 3.5} M${(x - 3.5).toFixed(1)},${y + 3.5} L${(x + 3.5).toFixed(1)},${y - 3.5}" stroke="#fff" stroke-width="2"/>${t}</g>`;
    case 'paused':
    case 'resumed':
      return `<g class="mark-${change}"><rect x="${(x - 4).toFixed(1)}" y="${y - 6}" width="3" height="12" fill="#f57f17"/>${change === 'paused' ? `<rect x="${(x + 1).toFixed(1)}" y="${y - 6}" width="3" height="12" fill="#f57f17"/>` : ''}${t}</g>`;
  }
}

/** The periods a node spent down (or paused), from its status changes: [from, to) in epoch ms. */
function periods(points: readonly TimelinePoint[], begins: (s: NodeStatusChange) => boolean, ends: (s: NodeStatusChange) => boolean, end_ms: number): [number, number][] {
  const out: [number, number][] = [];
  let open: number | null = null;
  for (const p of points) {
    if (!p.status) continue;
    if (open === null && begins(p.status)) open = p.t;
    else if (open !== null && ends(p.status)) {
      out.push([open, p.t]);
      open = null;
    }
  }
  if (open !== null) out.push([open, end_ms]);
  return out;
}

/** [a, b) minus the given periods. */
function subtract(a: number, b: number, holes: readonly [number, number][]): [number, number][] {
  let pieces: [number, number][] = [[a, b]];
  for (const [h1, h2] of holes) {
    pieces = pieces.flatMap(([p1, p2]): [number, number][] => {
      if (h2 <= p1 || h1 >= p2) return [[p1, p2]];
      return [...(h1 > p1 ? [[p1, h1] as [number, number]] : []), ...(h2 < p2 ? [[h2, p2] as [number, number]] : [])];
    });
  }
  return pieces;
}

const legend_swatch = (svg: string) => `<svg width="16" height="14" viewBox="0 0 16 14" aria-hidden="true">${svg}</svg>`;

function timelineLegend(): string {
  const role = (colour: string, name: string) => `<span class="key"><span class="swatch" style="background:${colour}"></span>${name}</span>`;
  return (
    `<p class="legend">${role(role_colours.leader!, 'leader')}${role(role_colours.candidate!, 'candidate')}${role(role_colours.pre_candidate!, 'pre_candidate')}${role(role_colours.follower!, 'follower')}` +
    `<span class="key">${legend_swatch('<rect x="1" y="2" width="14" height="10" fill="#fafafa" stroke="#bbb"/><path d="M3,12 L9,2 M8,12 L14,2" stroke="#bbb" stroke-width="2"/>')}down</span>` +
    `<span class="key">${legend_swatch(statusMark('started', 5, 7, 'started'))}started or restarted</span>` +
    `<span class="key">${legend_swatch(statusMark('killed', 8, 7, 'killed'))}killed by the test</span>` +
    `<span class="key">${legend_swatch(statusMark('crashed', 8, 7, 'crashed'))}crashed (exited on its own)</span>` +
    `<span class="key">${legend_swatch(statusMark('paused', 8, 7, 'paused'))}paused</span>` +
    `<span class="key">${legend_swatch(`<line x1="8" y1="0" x2="8" y2="14" stroke="${fault_colour}" stroke-dasharray="3,2"/>`)}fault (numbered as in the list below)</span></p>`
  );
}

/** A lane per node across the test: role segments, down and paused periods, status marks; numbered, labelled faults; a time axis in seconds from the test's start. */
function timelineSvg(r: TestResult, id: string): string {
  const nodes = [...new Set(r.timeline.filter((p) => p.node !== '*').map((p) => p.node))].sort(inClusterOrder(r.nodes));
  const faults = r.timeline.filter((p) => p.node === '*');
  if (nodes.length === 0 && faults.length === 0) return '<p>No state reports or faults were recorded.</p>';
  const width = 960;
  const left = 44;
  const right = 16;
  const lane = 24;
  const label_row = 14;
  const start = r.started_at_ms;
  const span = Math.max(1, r.elapsed_ms, ...r.timeline.map((p) => p.t - start));
  const end = start + span;
  const x = (t: number) => left + (Math.min(Math.max(t, start), end) - start) / span * (width - left - right);
  const parts: string[] = [];

  // Fault labels: each in the first row where it does not run into the previous label; past the last row, just its number.
  const rowEnds: number[] = [];
  const labels: string[] = [];
  faults.forEach((fault, i) => {
    const fx = x(fault.t);
    const full = `${i + 1} ${fault.text}`;
    const text = full.length > fault_label_chars_max ? `${full.slice(0, fault_label_chars_max - 1)}…` : full;
    const text_width = text.length * 5.6 + 6;
    // Right of its line, or left of it where it would run off the right edge.
    const flipped = fx + 2 + text_width > width;
    const from = flipped ? fx - 2 - text_width : fx;
    let row = rowEnds.findIndex((edge) => edge < from);
    if (row === -1 && rowEnds.length < fault_label_rows_max) row = rowEnds.length;
    if (row === -1) {
      labels.push(`<text class="fault-number" x="${(fx + 2).toFixed(1)}" y="{TOP}" font-size="10" fill="${fault_colour}">${i + 1}</text>`);
      return;
    }
    rowEnds[row] = from + text_width;
    const anchor = flipped ? `x="${(fx - 2).toFixed(1)}" text-anchor="end"` : `x="${(fx + 2).toFixed(1)}"`;
    labels.push(`<text class="fault-label" ${anchor} y="${10 + row * label_row}" font-size="10" fill="${fault_colour}">${escapeXml(text)}<title>${escapeXml(`${relativeMs(fault.t - start)}: ${fault.text}`)}</title></text>`);
  });
  const top = 6 + Math.max(1, rowEnds.length) * label_row;
  parts.push(...labels.map((l) => l.replace('{TOP}', String(top - 2))));

  nodes.forEach((node, i) => {
    const y = top + i * lane;
    const mid = y + 9;
    parts.push(`<text x="4" y="${mid + 4}" font-size="12">${escapeXml(node)}</text>`);
    const points = r.timeline.filter((p) => p.node === node);
    const down = periods(points, (s) => s === 'killed' || s === 'crashed', (s) => s === 'started' || s === 'restarted', end);
    const paused = periods(points, (s) => s === 'paused', (s) => s !== 'paused', end);
    // A role lasts until the node's next state report, except while the node is down.
    const states = points.filter((p) => p.kind === 'state');
    states.forEach((p, j) => {
      const until = states[j + 1]?.t ?? end;
      for (const [a, b] of subtract(p.t, until, down)) {
        const w = Math.max(1, x(b) - x(a));
        const colour = role_colours[p.role ?? ''] ?? unknown_role_colour;
        parts.push(`<rect class="role" x="${x(a).toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="18" fill="${colour}"><title>${escapeXml(`${node} ${p.text} from ${relativeMs(a - start)}`)}</title></rect>`);
        // The term, clear of a start mark at the segment's left edge.
        if (p.term !== undefined && w > 34) {
          parts.push(`<text x="${(x(a) + 10).toFixed(1)}" y="${y + 13}" font-size="10" fill="${p.role === 'leader' || p.role === 'leading' ? '#fff' : '#263238'}">t${p.term}</text>`);
        }
      }
    });
    for (const [a, b] of down) {
      parts.push(`<rect class="down" x="${x(a).toFixed(1)}" y="${y}" width="${Math.max(1, x(b) - x(a)).toFixed(1)}" height="18" fill="url(#${id}-down)" stroke="#bbb"><title>${escapeXml(`${node} down from ${relativeMs(a - start)} to ${relativeMs(b - start)}`)}</title></rect>`);
    }
    for (const [a, b] of paused) {
      parts.push(`<rect class="paused" x="${x(a).toFixed(1)}" y="${y + 14}" width="${Math.max(1, x(b) - x(a)).toFixed(1)}" height="4" fill="#f57f17"><title>${escapeXml(`${node} paused from ${relativeMs(a - start)} to ${relativeMs(b - start)}`)}</title></rect>`);
    }
    for (const p of points) {
      if (p.kind === 'status' && p.status) parts.push(statusMark(p.status, x(p.t), mid, `${node} ${p.text} at ${relativeMs(p.t - start)}`));
    }
  });

  const lanes_bottom = top + nodes.length * lane;
  faults.forEach((fault, i) => {
    const fx = x(fault.t).toFixed(1);
    parts.push(`<line class="fault-line" x1="${fx}" x2="${fx}" y1="${top - label_row + 2}" y2="${lanes_bottom}" stroke="${fault_colour}" stroke-dasharray="3,2"><title>${escapeXml(`${i + 1}. ${relativeMs(fault.t - start)}: ${fault.text}`)}</title></line>`);
  });

  // The axis: seconds from the test's start.
  const axis_y = lanes_bottom + 4;
  parts.push(`<line x1="${left}" x2="${width - right}" y1="${axis_y}" y2="${axis_y}" stroke="#555"/>`);
  const step = tickStepMs(span);
  for (let ms = 0; ms <= span + 1e-6; ms += step) {
    const tx = x(start + ms).toFixed(1);
    parts.push(`<line x1="${tx}" x2="${tx}" y1="${axis_y}" y2="${axis_y + 5}" stroke="#555"/><text class="tick-label" x="${tx}" y="${axis_y + 17}" font-size="10" text-anchor="middle">${tickLabel(ms, step)}</text>`);
  }
  parts.push(`<text class="axis-title" x="${(left + (width - left - right) / 2).toFixed(0)}" y="${axis_y + 32}" font-size="11" text-anchor="middle" fill="#444">seconds from the test's start</text>`);
  const height = axis_y + 38;
  const defs = `<defs><pattern id="${id}-down" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fafafa"/><line x1="0" y1="0" x2="0" y2="6" stroke="#bbb" stroke-width="2"/></pattern></defs>`;
  return `<svg class="timeline" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">${defs}${parts.join('')}</svg>`;
}

function faultList(r: TestResult): string {
  const faults = r.timeline.filter((p) => p.node === '*');
  if (faults.length === 0) return '<p class="note">No faults were applied in this test.</p>';
  const items = faults.map((f) => `<li>${relativeMs(f.t - r.started_at_ms)}: ${escapeXml(f.text)}</li>`).join('');
  return `<details class="faults"${faults.length <= fault_list_open_max ? ' open' : ''}><summary>${countOf(faults.length, 'fault')}</summary><ol>${items}</ol></details>`;
}

// ---------------------------------------------------------------------------
// The trace

// ---------------------------------------------------------------------------
// Message diagrams

/** A value in a message: 1 and "1" stay apart. */
function scalar(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? JSON.stringify(value) : value === null ? 'null' : JSON.stringify(value) ?? '?';
}

/** A client message in a few words: "cas k0 6→11", "read_ok 5", "error 11". */
function clientLabel(body: TraceRecord['msg']['body']): string {
  switch (body.type) {
    case 'read':
    case 'delete':
      return `${body.type} ${String(body.key)}`;
    case 'write':
      return `write ${String(body.key)} ${scalar(body.value)}`;
    case 'cas':
      return `cas ${String(body.key)} ${scalar(body.from)}→${scalar(body.to)}`;
    case 'read_ok':
      return `read_ok ${scalar(body.value)}`;
    case 'error':
      return `error ${String(body.code)}`;
    default:
      return body.type;
  }
}

function nodeLabel(body: TraceRecord['msg']['body']): string {
  return Array.isArray(body.entries) && body.entries.length > 0 ? `${body.type} (${countOf(body.entries.length, 'entry', 'entries')})` : body.type;
}

function toArrow(record: TraceRecord, origin_ms: number, kind: Arrow['kind']): Arrow {
  const { src, dest, body } = record.msg;
  const label = kind === 'node' ? nodeLabel(body) : clientLabel(body);
  return { t: record.t, src, dest, label, kind, dropped: record.fate.startsWith('dropped'), title: `${relativeMs(record.t - origin_ms)} ${src}→${dest} ${label} (${record.fate})` };
}

/** The last node-to-node messages before the failure. */
function lastMessagesDiagram(r: TestResult, id: string): string {
  if (!r.kept_dir) return '';
  const isNode = nodeTest(r);
  const file = path.join(r.kept_dir, 'cluster', 'trace.jsonl');
  if (!existsSync(file)) return '<p class="note">No trace was kept.</p>';
  const shown = traceTail(file)
    .filter((m) => isNode(m.msg.src) && isNode(m.msg.dest))
    .slice(-diagram_messages_max);
  if (shown.length === 0) return '<p class="note">No node-to-node messages in the trace.</p>';
  return `<h4>The last ${countOf(shown.length, 'message')} between nodes before the failure</h4><p class="legend">Arrows from sender to receiver, one per row, time downwards; dashed red: dropped by the network.</p>${lamportSvg(shown.map((m) => toArrow(m, r.started_at_ms, 'node')), [], r.started_at_ms, id, r.nodes)}`;
}

/** When an operation stopped: its return, or for one with no answer, when its client gave up on it. */
const opEnd = (op: Operation) => op.end_ms;

/** A table of operations with their history lines; the ones that cannot be ordered are marked. */
function operationsTable(ops: readonly Operation[], bad: ReadonlySet<number | undefined>): string {
  const rows = ops.map(
    (op) =>
      `<tr class="${bad.has(op.line) ? 'op-bad' : 'op'}"><td>${op.line ?? ''}</td><td>${escapeXml(op.client)}</td><td>${escapeXml(op.action)}</td><td>${escapeXml(op.result)}</td><td>${relativeMs(op.call_ms)}</td><td>${op.return_ms === null ? '—' : relativeMs(op.return_ms)}</td><td>${bad.has(op.line) ? 'cannot be ordered' : ''}</td></tr>`,
  );
  return `<table class="ops"><thead><tr><th>line</th><th>client</th><th>operation</th><th>result</th><th>called</th><th>returned</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/**
 * For a linearizability failure: the client operations on the offending key
 * around the violation (the violation's own and their neighbours in time), and
 * every message in the trace while they ran: the requests and replies of those
 * operations and the node-to-node traffic between.
 */
function linearizabilitySection(r: TestResult, id: string): string {
  const v = r.nonlinearizable!;
  const isNode = nodeTest(r);
  const file = path.basename(v.history_file);
  const badLines = new Set(v.ops.map((op) => op.line));
  const focusStart = Math.min(...v.ops.map((op) => op.call_ms));
  const focusEnd = Math.max(...v.ops.map(opEnd));
  const all = v.key_history;
  const distance = (op: Operation) => Math.max(0, focusStart - opEnd(op), op.call_ms - focusEnd);
  const context = (all ?? [])
    .filter((op) => !badLines.has(op.line) && distance(op) <= diagram_context_ms)
    .sort((a, b) => distance(a) - distance(b))
    .slice(0, context_ops_max);
  const byCall = (a: Operation, b: Operation) => a.call_ms - b.call_ms || (a.line ?? 0) - (b.line ?? 0);
  const listed = [...v.ops, ...context].sort(byCall);
  const shown = [...v.ops, ...context.slice(0, diagram_context_ops_max)].sort(byCall);
  const lines = v.ops.map((op) => op.line).filter((line): line is number => line !== undefined);
  const heading =
    `<h4>Operations on key ${escapeXml(v.key)} around the violation</h4>` +
    `<p>History <code>${escapeXml(file)}</code> (in the kept folder), ${lines.length === 1 ? 'line' : 'lines'} ${lines.join(', ')}: ` +
    `the ${countOf(v.ops.length, 'operation')} marked below cannot be ordered with the rest of the key's ${countOf(v.key_ops, 'operation')}` +
    `${context.length ? `; shown with the ${countOf(context.length, 'operation')} on the key nearest to ${v.ops.length === 1 ? 'it' : 'them'} in time` : ''}. Times are milliseconds from the test's start.</p>` +
    operationsTable(listed, badLines);
  if (!r.kept_dir) return heading;
  const traceFile = path.join(r.kept_dir, 'cluster', 'trace.jsonl');
  if (!existsSync(traceFile)) return `${heading}<p class="note">No trace was kept.</p>`;

  // History times come from the load generator's clock and trace times from the supervisor's: the same clock, to a millisecond or two.
  const slack_ms = 2;
  const windowStart = Math.min(...shown.map((op) => op.call_ms)) - slack_ms;
  const windowEnd = Math.max(...shown.map(opEnd)) + slack_ms;
  const records = traceWindow(traceFile, r.started_at_ms + windowStart, r.started_at_ms + windowEnd);
  // A client runs one operation at a time, so its requests on the key while an operation ran are that operation's.
  const opOf = (record: TraceRecord): Operation | undefined => {
    const t = record.t - r.started_at_ms;
    return shown.find((op) => op.client === record.msg.src && String(record.msg.body.key) === v.key && t >= op.call_ms - slack_ms && t <= opEnd(op) + slack_ms);
  };
  const requestOp = new Map<unknown, Operation>();
  const clientArrows: { record: TraceRecord; op: Operation }[] = [];
  const nodeRecords: TraceRecord[] = [];
  for (const record of records) {
    const { src, dest, body } = record.msg;
    if (isNode(src) && isNode(dest)) nodeRecords.push(record);
    else if (isNode(dest)) {
      const op = opOf(record);
      if (!op) continue;
      requestOp.set(body.msg_id, op);
      clientArrows.push({ record, op });
    } else if (isNode(src)) {
      const op = requestOp.get(body.in_reply_to);
      if (op && op.client === dest) clientArrows.push({ record, op });
    }
  }
  // The node messages nearest the violation fill what the client messages leave of the diagram.
  const room = Math.max(0, diagram_messages_max - clientArrows.length);
  const nearness = (t: number) => Math.max(0, r.started_at_ms + focusStart - t, t - (r.started_at_ms + focusEnd));
  const keptNode = new Set(
    nodeRecords
      .map((record, i) => ({ record, i, d: nearness(record.t) }))
      .sort((a, b) => a.d - b.d || a.i - b.i)
      .slice(0, room)
      .map((e) => e.record),
  );
  const opArrows = new Map(clientArrows.map(({ record, op }) => [record, op]));
  const drawn = records.filter((record) => opArrows.has(record) || keptNode.has(record));
  if (drawn.length === 0) return `${heading}<p class="note">The trace has no messages while these operations ran.</p>`;
  const arrows = drawn.map((record) => {
    const op = opArrows.get(record);
    return toArrow(record, r.started_at_ms, op ? (badLines.has(op.line) ? 'bad' : 'op') : 'node');
  });
  const bars: OpBar[] = [];
  for (const op of shown) {
    const rows = drawn.map((record, i) => (opArrows.get(record) === op ? i : -1)).filter((i) => i >= 0);
    if (rows.length === 0) continue;
    const last = drawn[rows.at(-1)!]!;
    const answered = op.outcome !== 'unknown' && !isNode(last.msg.dest);
    bars.push({
      client: op.client,
      from_row: rows[0]!,
      to_row: answered ? rows.at(-1)! : null,
      bad: badLines.has(op.line),
      title: `line ${op.line}: ${op.client} ${op.action} → ${op.result}, ${relativeMs(op.call_ms)} to ${op.return_ms === null ? '(no answer)' : relativeMs(op.return_ms)}`,
    });
  }
  const omitted = nodeRecords.length - keptNode.size;
  return (
    heading +
    `<h4>Messages while ${shown.length === 1 ? 'it' : `the ${shown.length} operations on lines ${shown.map((op) => op.line).join(', ')}`} ran</h4>` +
    `<p class="legend">Each client operation is a bar on its client's line (pink: cannot be ordered); its requests and replies are the dark and pink arrows, node-to-node messages the blue ones (dashed red: dropped by the network). ` +
    `${countOf(drawn.length, 'message')} from ${relativeMs(windowStart)} to ${relativeMs(windowEnd)}${omitted > 0 ? `; ${countOf(omitted, 'node-to-node message')} farther from the violation left out` : ''}.</p>` +
    lamportSvg(arrows, bars, r.started_at_ms, id, r.nodes)
  );
}

// ---------------------------------------------------------------------------
// The page

function resultCell(r: TestResult): string {
  return r.passed ? '<span class="pass">passed</span>' : '<span class="fail">failed</span>';
}

function summaryTable(result: LabResult): string {
  const rows = result.results.map(
    (r, i) => `<tr><td><a href="#run-${i + 1}">${escapeXml(r.test)}</a></td><td class="num">${r.earned}/${r.points}</td><td>${resultCell(r)}</td><td class="num">${r.seed}</td><td class="num">${seconds(r.elapsed_ms)}</td></tr>`,
  );
  return `<table class="summary"><thead><tr><th>Test</th><th>Points</th><th>Result</th><th>Seed</th><th>Time</th></tr></thead><tbody>${rows.join('')}</tbody><tfoot><tr><td>Score</td><td class="num">${result.score}/${result.max_score}</td><td colspan="3"></td></tr></tfoot></table>`;
}

function section(r: TestResult, index: number): string {
  const id = `run-${index + 1}`;
  const failure = r.passed
    ? ''
    : `<p class="failure">${escapeXml(r.failure ?? '')}</p><p>Replay: <code>${escapeXml(r.replay)}</code></p>${r.kept_dir ? `<p>Logs, trace and history kept in <code>${escapeXml(r.kept_dir)}</code></p>` : ''}`;
  // The timeline tells the test's story; a failure's operations and messages are its detail, so they come after.
  const detail = r.passed ? '' : r.nonlinearizable ? linearizabilitySection(r, id) : lastMessagesDiagram(r, id);
  return (
    `<section id="${id}"><h2>${escapeXml(r.test)} ${resultCell(r)} <small>${r.earned}/${r.points} points, seed ${r.seed}, ${seconds(r.elapsed_ms)}</small></h2>` +
    `<p>${escapeXml(r.description)}</p>${failure}<h4>Roles, terms and faults over time</h4>${timelineLegend()}${timelineSvg(r, id)}${faultList(r)}${detail}</section>`
  );
}

const style = [
  'body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#212121}',
  'section{border-top:1px solid #ddd;padding:1em 0}',
  'h2{font-size:1.25em}',
  '.pass{color:#2e7d32;font-weight:bold}.fail{color:#c62828;font-weight:bold}',
  '.failure{background:#ffebee;padding:.5em;border-left:4px solid #c62828}',
  'code,pre{background:#f5f5f5;padding:2px 4px}small{color:#666;font-weight:normal}',
  'table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}th{background:#f5f5f5}td.num{text-align:right}',
  'tfoot td{font-weight:bold}tr.op-bad td{background:#fce4ec;font-weight:bold}',
  '.legend{font-size:.85em;color:#444}.key{margin-right:1em;white-space:nowrap}.key svg{vertical-align:middle;margin-right:3px}',
  '.swatch{display:inline-block;width:12px;height:12px;margin-right:3px;vertical-align:middle}',
  '.note{color:#666}.scroll{overflow-x:auto}details.faults{font-size:.9em}',
].join('');

/** A self-contained HTML report: summary table, then per test run its outcome, timeline and, for failures, a message diagram. */
export function toHtml(result: LabResult): string {
  const failed = result.results.filter((r) => !r.passed).length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dslab grade: ${escapeXml(result.submission)}, ${escapeXml(result.lab)}</title>
<style>${style}</style>
</head><body>
<h1>${escapeXml(result.title)}: ${result.score}/${result.max_score} points</h1>
<p>Submission <code>${escapeXml(result.submission)}</code>, lab <code>${escapeXml(result.lab)}</code>, target <code>${escapeXml(result.target)}</code>: ${countOf(result.results.length, 'test run')} in ${seconds(result.elapsed_ms)}, ${failed} failed.</p>
${summaryTable(result)}
${result.results.map(section).join('\n')}
</body></html>
`;
}
