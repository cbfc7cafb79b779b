/**
 * The report's anomalies section for the transactional workloads: each
 * anomaly type's first cycle drawn as a small graph (transactions as boxes on
 * a circle, edges labelled ww, wr, rw, rt or process) with each edge's reason
 * beneath, and its transactions placed on the run's timeline (a bar from call
 * to return, the faults shaded behind). Pure SVG and markup; no script.
 */
import { escapeXml } from '../../lib/report/markup.js';
import type { FaultSpan, RunHistoryEntry, TestRunResult } from '../run/result.js';
import { fault_colours } from './chart-data.js';

/** Anomaly types drawn (the first cycle of each). */
export const anomaly_graphs_max = 6;
const box_width = 150;
const box_height = 34;
const graph_radius_min = 125;
/** How far an edge bows from the straight line, so a → b and b → a are two arcs. */
const edge_bow = 22;
const timeline_width = 760;
const timeline_row_height = 22;
const timeline_margin_left = 70;

const edge_colours: Record<string, string> = { ww: '#6a1b9a', wr: '#1565c0', rw: '#c62828', rt: '#455a64', process: '#2e7d32' };

interface CycleEdge {
  from: number;
  to: number;
  kind: string;
  why: string;
}

interface AnomalyDetails {
  count: number;
  examples?: string[];
  txns?: number[];
  lines?: (number | null)[];
  cycle?: CycleEdge[];
}

function cycleSvg(cycle: readonly CycleEdge[], labels: ReadonlyMap<number, string>): string {
  const nodes = [...new Set(cycle.map((e) => e.from))];
  const radius = Math.max(graph_radius_min, (nodes.length * (box_width + 20)) / (2 * Math.PI));
  const width = 2 * radius + box_width + 40;
  const height = 2 * radius + box_height + 60;
  const cx = width / 2;
  const cy = height / 2;
  const at = new Map(nodes.map((n, i) => [n, { x: cx + radius * Math.sin((2 * Math.PI * i) / nodes.length), y: cy - radius * Math.cos((2 * Math.PI * i) / nodes.length) }]));
  const parts: string[] = [
    `<defs>${Object.entries(edge_colours)
      .map(([kind, colour]) => `<marker id="arrow-${kind}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="${colour}"/></marker>`)
      .join('')}</defs>`,
  ];
  for (const edge of cycle) {
    const a = at.get(edge.from)!;
    const b = at.get(edge.to)!;
    // Stop the arrow at the target box's edge, along the line between centres.
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const length = Math.hypot(dx, dy) || 1;
    const cut = Math.min(Math.abs((box_width / 2) * (length / (Math.abs(dx) || 1e-9))), Math.abs((box_height / 2) * (length / (Math.abs(dy) || 1e-9)))) + 4;
    const sx = a.x + (dx / length) * cut;
    const sy = a.y + (dy / length) * cut;
    const ex = b.x - (dx / length) * cut;
    const ey = b.y - (dy / length) * cut;
    const colour = edge_colours[edge.kind] ?? '#000';
    // Bowed to its left: the edge back, bowed to its own left, takes the other side.
    const mx = (sx + ex) / 2 + (dy / length) * edge_bow;
    const my = (sy + ey) / 2 - (dx / length) * edge_bow;
    parts.push(
      `<g class="cycle-edge" data-kind="${escapeXml(edge.kind)}"><title>${escapeXml(edge.why)}</title><path d="M${sx.toFixed(1)},${sy.toFixed(1)} Q${mx.toFixed(1)},${my.toFixed(1)} ${ex.toFixed(1)},${ey.toFixed(1)}" fill="none" stroke="${colour}" stroke-width="2" marker-end="url(#arrow-${escapeXml(edge.kind)})"/>` +
        `<text x="${((sx + ex) / 4 + mx / 2).toFixed(1)}" y="${((sy + ey) / 4 + my / 2 - 3).toFixed(1)}" font-size="12" fill="${colour}" text-anchor="middle" font-weight="bold">${escapeXml(edge.kind)}</text></g>`,
    );
  }
  for (const node of nodes) {
    const { x, y } = at.get(node)!;
    parts.push(
      `<g class="cycle-txn"><rect x="${(x - box_width / 2).toFixed(1)}" y="${(y - box_height / 2).toFixed(1)}" width="${box_width}" height="${box_height}" rx="4" fill="#fff" stroke="#37474f"/>` +
        `<text x="${x.toFixed(1)}" y="${(y + 4).toFixed(1)}" font-size="12" text-anchor="middle">${escapeXml(labels.get(node) ?? `T${node}`)}</text></g>`,
    );
  }
  return `<svg class="cycle-graph" width="${width.toFixed(0)}" height="${height.toFixed(0)}" viewBox="0 0 ${width.toFixed(0)} ${height.toFixed(0)}" role="img">${parts.join('')}</svg>`;
}

/** The cycle's transactions as bars on the run's time axis, faults shaded behind. */
function timelineSvg(rows: readonly { label: string; entry: RunHistoryEntry }[], faults: readonly FaultSpan[], end_ms: number): string {
  const span = Math.max(1, end_ms);
  const x = (ms: number) => timeline_margin_left + (Math.max(0, Math.min(span, ms)) / span) * (timeline_width - timeline_margin_left - 10);
  const height = rows.length * timeline_row_height + 24;
  const parts: string[] = [];
  for (const fault of faults) {
    const colour = fault_colours[fault.kind] ?? fault_colours.other;
    parts.push(`<rect class="timeline-fault" x="${x(fault.start_ms).toFixed(1)}" y="0" width="${Math.max(1, x(fault.end_ms ?? span) - x(fault.start_ms)).toFixed(1)}" height="${height - 20}" fill="${colour}"><title>${escapeXml(fault.description)}</title></rect>`);
  }
  rows.forEach(({ label, entry }, i) => {
    const y = i * timeline_row_height + 4;
    const end = entry.return_ms ?? span;
    parts.push(
      `<text x="4" y="${y + 13}" font-size="12">${escapeXml(label)}</text>` +
        `<rect class="timeline-txn" x="${x(entry.call_ms).toFixed(1)}" y="${y}" width="${Math.max(2, x(end) - x(entry.call_ms)).toFixed(1)}" height="${timeline_row_height - 8}" fill="${entry.outcome === 'ok' ? '#2e7d32' : entry.outcome === 'fail' ? '#c62828' : '#f9a825'}"><title>${escapeXml(`${label} ${entry.client} on ${entry.node}: ${(entry.call_ms / 1000).toFixed(3)} s to ${entry.return_ms === null ? 'no answer' : `${(entry.return_ms / 1000).toFixed(3)} s`}`)}</title></rect>`,
    );
  });
  parts.push(`<text x="${timeline_margin_left}" y="${height - 4}" font-size="11" fill="#666">0 s</text><text x="${timeline_width - 10}" y="${height - 4}" font-size="11" fill="#666" text-anchor="end">${(span / 1000).toFixed(1)} s</text>`);
  return `<svg class="cycle-timeline" width="${timeline_width}" height="${height}" viewBox="0 0 ${timeline_width} ${height}" role="img">${parts.join('')}</svg>`;
}

/** The section, or '' for a run whose checker reported no anomalies. */
export function anomaliesSection(r: TestRunResult, history: readonly RunHistoryEntry[]): string {
  const check = r.checks[0];
  const anomalies = (check?.details.anomalies ?? null) as Record<string, AnomalyDetails> | null;
  if (!anomalies || Object.keys(anomalies).length === 0) return '';
  const blocks: string[] = [];
  for (const [type, details] of Object.entries(anomalies).slice(0, anomaly_graphs_max)) {
    const txns = details.txns ?? [];
    const lines = details.lines ?? [];
    const labels = new Map<number, string>();
    const rows: { label: string; entry: RunHistoryEntry }[] = [];
    txns.forEach((txn, i) => {
      const line = lines[i];
      const entry = line !== null && line !== undefined ? history[line] : undefined;
      labels.set(txn, entry ? `T${txn} ${entry.client}` : `T${txn}`);
      if (entry) rows.push({ label: `T${txn}`, entry });
    });
    const graph = details.cycle && details.cycle.length > 0 ? cycleSvg(details.cycle, labels) : '';
    const reasons = details.cycle?.length ? `<ul class="cycle-reasons">${details.cycle.map((e) => `<li><b>T${e.from} →${escapeXml(e.kind)} T${e.to}</b>: ${escapeXml(e.why)}</li>`).join('')}</ul>` : '';
    const example = details.examples?.[0] ? `<pre>${escapeXml(details.examples[0])}</pre>` : '';
    blocks.push(
      `<div class="anomaly" data-type="${escapeXml(type)}"><h3>${escapeXml(type)} <small>× ${details.count}</small></h3>${graph}${reasons}${rows.length ? timelineSvg(rows, r.faults, r.end_ms) : ''}${graph ? '' : example}</div>`,
    );
  }
  return `<section id="anomalies"><h2>Anomalies</h2><p class="note">The first of each kind: its transactions and the dependencies that make the cycle (ww: a write then a later write of the key; wr: a read saw the write; rw: a read missed a write the order puts after it; rt: one finished before the other began; process: one client's order), then the transactions on the run's timeline.</p>${blocks.join('')}</section>`;
}
