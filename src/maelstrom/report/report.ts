/**
 * The self-contained HTML report of one `dslab test` run: the verdict first,
 * then the plan, the checks and the figures, charts of latency and throughput
 * over time with the faults drawn on the time axis, and a message diagram
 * around each failure point. One file that works opened from disk: uPlot's
 * script and stylesheet are inside it, and the chart data is a JSON block.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { countOf, escapeXml, relativeMs } from '../../lib/report/markup.js';
import type { TraceRecord } from '../../lib/report/trace-file.js';
import { history_header_type } from '../../lib/plugin.js';
import { formatDurationMs, formatPercent } from '../../lib/util/units.js';
import { describeTestPlan } from '../plan-text.js';
import { type NetCounts, type RunHistoryEntry, run_files, type TestRunResult } from '../run/result.js';
import { anomaliesSection } from './anomalies.js';
import { chartAssets, inlineElementText } from './assets.js';
import { chartData, fault_colours, jsonForScript, latency_floor_ms, latency_not_ok_points_max, latency_ok_points_max } from './chart-data.js';
import { drawnFailures, failureSection, failure_diagrams_max, readFailureWindows } from './messages.js';
import { page_script } from './page-script.js';

export interface RunReportInput {
  result: TestRunResult;
  /** The history's operations (without its header line). */
  history: readonly RunHistoryEntry[];
  /** Trace records around the failure points (records elsewhere are ignored); empty when no trace was kept. */
  trace: readonly TraceRecord[];
  /** Whether a trace was kept at all, for the diagrams' note; true when not said. */
  trace_kept?: boolean;
}

function verdictSection(r: TestRunResult): string {
  const list = (items: readonly string[], cls: string) => (items.length ? `<ul class="${cls}">${items.map((item) => `<li>${escapeXml(item)}</li>`).join('')}</ul>` : '');
  return (
    `<section id="verdict" class="verdict verdict-${escapeXml(r.verdict)}"><h1><span class="verdict-word">${escapeXml(r.verdict)}</span> ${escapeXml(r.headline)}</h1>` +
    list(r.reasons, 'reasons') +
    (r.warnings.length ? `<h4>Read differently from Maelstrom</h4>${list(r.warnings, 'warnings')}` : '') +
    `</section>`
  );
}

function planSection(r: TestRunResult): string {
  // The same lines `dslab test --dry-run` prints, split at the padding between label and value.
  const rows = describeTestPlan(r.plan).map((line) => {
    const match = /^(\S.*?)\s{2,}(.*)$/.exec(line);
    return match ? `<tr><th>${escapeXml(match[1]!)}</th><td>${escapeXml(match[2]!)}</td></tr>` : `<tr><td colspan="2">${escapeXml(line)}</td></tr>`;
  });
  rows.push(
    `<tr><th>seed</th><td>${r.seed}${r.plan.test_count > 1 ? `, run ${r.run_index} of ${r.plan.test_count}` : ''}</td></tr>`,
    `<tr><th>started</th><td>${escapeXml(new Date(r.started_at_ms).toISOString())}, ran ${formatDurationMs(r.end_ms)} (main phase ${formatDurationMs(r.main_phase_end_ms)})</td></tr>`,
    `<tr><th>folder</th><td><code>${escapeXml(r.dir)}</code></td></tr>`,
  );
  if (r.process_cpu) rows.push(`<tr><th>dslab's CPU</th><td>${r.process_cpu.share.toFixed(2)} of a core (supervisor, clients and checker; not the nodes)</td></tr>`);
  return `<section id="plan"><h2>The plan</h2><table class="plan">${rows.join('')}</table></section>`;
}

function checksSection(r: TestRunResult): string {
  if (r.checks.length === 0) return '<section id="checks"><h2>Checks</h2><p class="note">No check ran.</p></section>';
  const items = r.checks.map((c) => `<li class="check check-${escapeXml(c.result)}"><span class="verdict-word">${escapeXml(c.result)}</span> <b>${escapeXml(c.name)}</b><pre>${escapeXml(c.text)}</pre></li>`);
  return `<section id="checks"><h2>Checks</h2><ul class="checks">${items.join('')}</ul></section>`;
}

const formatLatencyMs = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(1));

function operationsSection(r: TestRunResult): string {
  const quantiles = ['0', '0.5', '0.95', '0.99', '1'] as const;
  const rows = r.operations.map(
    (op) =>
      `<tr><td>${escapeXml(op.f)}</td><td class="num">${op.count}</td><td class="num">${op.ok}</td><td class="num">${op.fail}</td><td class="num">${op.unknown}</td>` +
      quantiles.map((q) => `<td class="num">${op.latency_ms ? formatLatencyMs(op.latency_ms[q]) : '—'}</td>`).join('') +
      '</tr>',
  );
  const table = r.operations.length
    ? `<table class="operations"><thead><tr><th rowspan="2">operation</th><th rowspan="2">count</th><th rowspan="2">ok</th><th rowspan="2">fail</th><th rowspan="2">unknown</th><th colspan="5">latency of ok ones (ms) at quantile</th></tr><tr>${quantiles.map((q) => `<th>${q}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`
    : '<p class="note">No client operation was invoked.</p>';
  const required = r.plan.availability === null ? '' : r.plan.availability === 'total' ? ' (required: every operation)' : ` (required: at least ${formatPercent(r.plan.availability)})`;
  const availability = `<p id="availability"><b>Availability</b>: ${r.availability === null ? 'no operation was invoked' : `${formatPercent(r.availability)} of operations ok`}${required}.</p>`;
  return `<section id="operations"><h2>Operations</h2>${table}${availability}</section>`;
}

function netSection(r: TestRunResult): string {
  const row = (name: string, c: NetCounts) =>
    `<tr><th>${name}</th><td class="num">${c.send_count}</td><td class="num">${c.recv_count}</td><td class="num">${c.msg_count}</td><td class="num">${c.msgs_per_op === null ? '—' : c.msgs_per_op.toFixed(2)}</td></tr>`;
  return (
    `<section id="network"><h2>Network</h2><table class="net"><thead><tr><th>messages</th><th>sends</th><th>receives</th><th>messages</th><th>msgs-per-op</th></tr></thead>` +
    `<tbody>${row('all', r.net.all)}${row('clients', r.net.clients)}${row('servers', r.net.servers)}</tbody></table>` +
    `<p class="legend">Counted as Maelstrom counts them: clients are messages with a client at either end, servers those between nodes and to services.</p></section>`
  );
}

function faultLegend(): string {
  return (Object.keys(fault_colours) as (keyof typeof fault_colours)[])
    .map((kind) => `<span class="key"><span class="swatch" style="background:${fault_colours[kind]}"></span>${kind}</span>`)
    .join('');
}

function chartsSection(r: TestRunResult, history: readonly RunHistoryEntry[]): { html: string; data: string } {
  const data = chartData(r, history);
  const c = data.latency_counts;
  const sampled =
    c.ok > c.ok_drawn || c.not_ok > c.not_ok_drawn
      ? ` Drawn: ${c.ok_drawn} of ${countOf(c.ok, 'ok operation')} (at most ${latency_ok_points_max}, spread evenly over them in call order) and ${c.not_ok_drawn} of the ${c.not_ok} others (at most ${latency_not_ok_points_max}).`
      : '';
  const faults = r.faults.length
    ? `<table class="faults"><thead><tr><th>fault</th><th>kind</th><th>from</th><th>to</th><th>by</th></tr></thead><tbody>${r.faults
        .map(
          (f) =>
            `<tr class="fault-row"><td>${escapeXml(f.description)}</td><td><span class="swatch" style="background:${fault_colours[f.kind]}"></span>${escapeXml(f.kind)}</td><td>${relativeMs(f.start_ms)}</td><td>${f.end_ms === null ? 'the end' : relativeMs(f.end_ms)}</td><td>${f.source === 'nemesis' ? 'the nemesis' : 'a dslab command'}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p class="note">No faults during this run.</p>';
  const html =
    `<section id="charts"><h2>Over time</h2>` +
    `<p class="legend">Shaded: faults while they lasted (${faultLegend()}); the dashed line: the time limit's end${data.final_reads ? ', after which every fault healed and each client read once more' : ''}. Drag across a chart to zoom, double-click to zoom out.</p>` +
    `<h3>Latency</h3><p class="legend">Each operation at its call time, by outcome; an operation that got no answer is drawn at its client's timeout (${formatDurationMs(data.timeout_ms)}), one answered within its call's millisecond at ${latency_floor_ms} ms.${sampled}</p><div id="latency-chart" class="chart"></div>` +
    `<h3>Throughput</h3><p class="legend">Operations completed per second, by outcome.</p><div id="throughput-chart" class="chart"></div>` +
    `<h3>Faults</h3>${faults}</section>`;
  return { html, data: jsonForScript(data) };
}

function failuresSection(input: RunReportInput): string {
  const r = input.result;
  if (r.failures.length === 0) return '';
  const drawn = drawnFailures(r);
  const rest = r.failures.slice(drawn.length);
  const sections =
    input.trace_kept === false
      ? `<p class="note">No trace was kept, so no message diagrams.</p>${drawn.map((f, i) => `<h3 id="failure-${i + 1}">${i + 1}. ${escapeXml(f.description)} <small>at ${relativeMs(f.at_ms)}</small></h3>`).join('')}`
      : drawn.map((f, i) => failureSection(input.trace, r, f, i)).join('');
  const more = rest.length
    ? `<h3>${countOf(rest.length, 'more failure point')} (diagrams for the first ${failure_diagrams_max} only)</h3><ul>${rest.map((f) => `<li>${relativeMs(f.at_ms)}: ${escapeXml(f.description)}</li>`).join('')}</ul>`
    : '';
  return `<section id="failures"><h2>Messages around each failure</h2>${sections}${more}</section>`;
}

const style = [
  'body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#212121}',
  'section{border-top:1px solid #ddd;padding:.5em 0 1em}',
  'h1{font-size:1.4em}h2{font-size:1.2em}h3{font-size:1.05em}',
  '.verdict{border-top:none;padding:.2em 1em;border-left:6px solid}.verdict-valid{border-color:#2e7d32;background:#e8f5e9}.verdict-invalid{border-color:#c62828;background:#ffebee}.verdict-unknown{border-color:#f9a825;background:#fff8e1}',
  '.verdict-word{text-transform:uppercase;font-weight:bold;margin-right:.4em}.verdict-valid .verdict-word,.check-valid .verdict-word{color:#2e7d32}.verdict-invalid .verdict-word,.check-invalid .verdict-word{color:#c62828}.verdict-unknown .verdict-word,.check-unknown .verdict-word{color:#b58100}',
  'ul.checks{list-style:none;padding:0}.check pre{margin:.2em 0 .8em 1em;white-space:pre-wrap}',
  'code,pre{background:#f5f5f5;padding:2px 4px}small{color:#666;font-weight:normal}',
  'table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}th{background:#f5f5f5}td.num{text-align:right}',
  '.legend{font-size:.85em;color:#444}.key{margin-right:1em;white-space:nowrap}.note{color:#666}.scroll{overflow-x:auto}',
  '.swatch{display:inline-block;width:12px;height:12px;margin-right:3px;vertical-align:middle;border:1px solid #ccc}',
  '.chart{margin:.5em 0 1em}.fault-band{position:absolute;top:0;bottom:0;pointer-events:none}',
  '.phase-mark{position:absolute;top:0;bottom:0;width:0;border-left:2px dashed #455a64;pointer-events:none}.phase-mark span{position:absolute;top:2px;left:4px;font-size:11px;color:#455a64;white-space:nowrap;background:rgba(255,255,255,.8)}',
].join('');

/** The report as one HTML document. Pure: everything it shows comes from `input` (and uPlot's files). */
export function renderRunReport(input: RunReportInput): string {
  const r = input.result;
  const assets = chartAssets();
  const charts = chartsSection(r, input.history);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>dslab test ${escapeXml(r.plan.workload)}: ${escapeXml(r.verdict)}</title>
<style>${inlineElementText(assets.style)}</style>
<style>${style}</style>
</head><body>
${verdictSection(r)}
${planSection(r)}
${checksSection(r)}
${operationsSection(r)}
${netSection(r)}
${charts.html}
${anomaliesSection(r, input.history)}
${failuresSection(input)}
<script type="application/json" id="report-data">${charts.data}</script>
<script>${inlineElementText(assets.script)}</script>
<script>${inlineElementText(page_script)}</script>
</body></html>
`;
}

/** The operations of a history.jsonl: its header line and any line that is not a complete operation (a run cut short) skipped. */
export function parseHistoryLines(text: string): RunHistoryEntry[] {
  const entries: RunHistoryEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (record?.type === history_header_type || typeof record?.f !== 'string' || typeof record.call_ms !== 'number') continue;
    entries.push(record as unknown as RunHistoryEntry);
  }
  return entries;
}

/**
 * Writes report.html into a run's folder from the results.json, history.jsonl
 * and trace.jsonl there (the trace read only around the failure points), and
 * returns its path.
 */
export function writeRunReport(dir: string): string {
  const result = JSON.parse(readFileSync(path.join(dir, run_files.results), 'utf8')) as TestRunResult;
  const historyFile = path.join(dir, run_files.history);
  const history = existsSync(historyFile) ? parseHistoryLines(readFileSync(historyFile, 'utf8')) : [];
  const traceFile = path.join(dir, run_files.trace);
  const trace_kept = existsSync(traceFile);
  const trace = trace_kept ? readFailureWindows(traceFile, result) : [];
  const file = path.join(dir, run_files.report);
  writeFileSync(file, renderRunReport({ result, history, trace, trace_kept }));
  return file;
}
