// The metastable scenario's HTML report: one self-contained file with the verdict side by side, the plan,
// and each run's timeline per second (offered, goodput, failed, short-circuited, calls reaching d1, d1's
// queue) with the spike shaded. It reuses the `dslab test` report's machinery: uPlot inlined from the
// installed package, the chart data as an escaped JSON block, and the band overlay script.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { escapeXml } from '../../lib/report/markup.js';
import { chartAssets, inlineElementText } from '../../maelstrom/report/assets.js';
import { type ChartBand, fault_colours, jsonForScript } from '../../maelstrom/report/chart-data.js';
import { band_overlay_script } from '../../maelstrom/report/page-script.js';
import { degraded_goodput_pct, recovered_goodput_pct, type ArmResult, type ScenarioResult } from './scenario.js';

export const scenario_report_file = 'report.html';

/** What the page's script draws for one run: aligned per-second columns and the spike. */
export interface ArmChartData {
  name: string;
  title: string;
  x: number[];
  offered: number[];
  ok: number[];
  failed: number[];
  short_circuited: number[];
  calls: number[];
  queue: (number | null)[];
  bands: ChartBand[];
  end_s: number;
  queue_axis_min_top: number;
}

/** The queue axis reaches at least this high, so a queue of 2 is drawn near the bottom, not across the top. */
export const queue_axis_min_top = 20;

export function armChartData(arm: ArmResult, spike_latency_ms: number): ArmChartData {
  // Each second is drawn as a step from its start to the next one's: the last second needs a point at its end too.
  const rows = arm.rows.length ? [...arm.rows, { ...arm.rows.at(-1)!, second: arm.rows.length }] : [];
  return {
    name: arm.name,
    title: arm.title,
    x: rows.map((row) => row.second),
    offered: rows.map((row) => row.offered),
    ok: rows.map((row) => row.ok),
    failed: rows.map((row) => row.failed),
    short_circuited: rows.map((row) => row.short_circuited),
    calls: rows.map((row) => row.calls),
    queue: rows.map((row) => row.queue),
    bands: [{ kind: 'latency', label: `spike: d1 answered ${spike_latency_ms} ms later`, from_s: arm.spike.from_s, to_s: arm.spike.to_s, colour: fault_colours.latency }],
    end_s: arm.rows.length,
    queue_axis_min_top,
  };
}

/** The series' colours; the page's script reads them from the data, and the test looks for them on the canvas. */
export const series_colours = { offered: '#455a64', ok: '#2e7d32', failed: '#c62828', short_circuited: '#f9a825', calls: '#1565c0', queue: '#6a1b9a' } as const;

const yesNo = (value: boolean) => (value ? 'yes' : 'no');
const orDash = (value: number | null, unit = '') => (value === null ? '—' : `${value}${unit}`);

function figuresTable(result: ScenarioResult): string {
  const rows: [string, (arm: ArmResult) => string][] = [
    ['what it runs', (arm) => escapeXml(arm.title)],
    ['goodput before the spike (of offered)', (arm) => orDash(arm.figures.before_goodput_pct, '%')],
    ['goodput after the spike (of offered)', (arm) => orDash(arm.figures.after_goodput_pct, '%')],
    [`stayed degraded (below ${degraded_goodput_pct}% in every second after)`, (arm) => yesNo(arm.figures.stayed_degraded)],
    [`recovered (at or above ${recovered_goodput_pct}% from then on)`, (arm) => (arm.figures.recovered_after_s === null ? 'no' : `${arm.figures.recovered_after_s} s after the spike ended`)],
    ["d1's queue at the heal", (arm) => orDash(arm.figures.queue_at_heal)],
    ["d1's queue at the end", (arm) => orDash(arm.figures.queue_at_end)],
    ['calls to d1 per request, from the spike on', (arm) => orDash(arm.figures.amplification)],
    ['requests offered / answered ok', (arm) => `${arm.figures.offered} / ${arm.figures.ok}`],
    ['calls that reached d1', (arm) => String(arm.figures.calls)],
  ];
  const head = `<tr><th></th>${result.arms.map((arm) => `<th>run ${escapeXml(arm.name)}</th>`).join('')}</tr>`;
  const body = rows.map(([label, cell]) => `<tr><th>${escapeXml(label)}</th>${result.arms.map((arm) => `<td>${cell(arm)}</td>`).join('')}</tr>`).join('');
  return `<section id="figures"><h2>Side by side</h2><table class="figures">${head}${body}</table></section>`;
}

function planSection(result: ScenarioResult): string {
  const p = result.plan;
  const rows = [
    ['dependency d1', `${p.dep_capacity} workers, ${p.dep_service_ms} ms each: ${result.capacity_per_s} requests/s`],
    ['load', `${result.rate_per_s} requests/s open loop (${p.load_pct}% of d1's capacity) over ${p.services} services`],
    ['spike', `d1 answers ${p.spike_latency_ms} ms later for ${p.spike_ms / 1000} s, ${p.before_spike_ms / 1000} s into the load; then healed and the load goes on ${p.after_spike_ms / 1000} s`],
    ['calls', `a service gives up on a call after ${p.call_timeout_ms} ms and retries it up to ${p.retries_max} times`],
    ['folder', `<code>${escapeXml(result.dir)}</code>`],
  ];
  return `<section id="plan"><h2>The plan</h2><table class="plan">${rows.map(([k, v]) => `<tr><th>${escapeXml(k!)}</th><td>${k === 'folder' ? v : escapeXml(v!)}</td></tr>`).join('')}</table></section>`;
}

function timelineSection(result: ScenarioResult): string {
  const charts = result.arms
    .map((arm) => `<h3>Run ${escapeXml(arm.name)}: ${escapeXml(arm.title)}</h3><div id="timeline-${escapeXml(arm.name.toLowerCase())}" class="chart timeline"></div>`)
    .join('');
  const key = (Object.keys(series_colours) as (keyof typeof series_colours)[])
    .map((name) => `<span class="key"><span class="swatch" style="background:${series_colours[name]}"></span>${name === 'ok' ? 'goodput (ok)' : name === 'calls' ? 'calls to d1' : name === 'queue' ? "d1's queue (right axis)" : name.replace('_', '-')}</span>`)
    .join('');
  return (
    `<section id="timeline"><h2>Per second</h2><p class="legend">${key}<span class="key"><span class="swatch" style="background:${fault_colours.latency}"></span>the spike</span></p>` +
    `<p class="legend">Requests offered by when they left, answers by when they came, calls to d1 by when they left; d1's queue from its state reports. Drag across a chart to zoom, double-click to zoom out.</p>${charts}</section>`
  );
}

function secondsTables(result: ScenarioResult): string {
  const tables = result.arms.map((arm) => {
    const body = arm.rows
      .map((row) => `<tr><td class="num">${row.second}</td><td class="num">${row.offered}</td><td class="num">${row.ok}</td><td class="num">${row.failed}</td><td class="num">${row.short_circuited}</td><td class="num">${row.calls}</td><td class="num">${orDash(row.queue)}</td></tr>`)
      .join('');
    return `<details><summary>Run ${escapeXml(arm.name)}, second by second</summary><table class="seconds"><thead><tr><th>s</th><th>offered</th><th>ok</th><th>failed</th><th>short-circuited</th><th>calls to d1</th><th>queue</th></tr></thead><tbody>${body}</tbody></table></details>`;
  });
  return `<section id="seconds"><h2>The numbers</h2>${tables.join('')}</section>`;
}

const style = [
  'body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#212121}',
  'section{border-top:1px solid #ddd;padding:.5em 0 1em}h1{font-size:1.3em}h2{font-size:1.2em}h3{font-size:1.05em}',
  '.verdict{border-top:none;padding:.2em 1em;border-left:6px solid}.verdict-shown{border-color:#2e7d32;background:#e8f5e9}.verdict-not-shown{border-color:#f9a825;background:#fff8e1}',
  'code{background:#f5f5f5;padding:2px 4px}table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}th{background:#f5f5f5}td.num{text-align:right}',
  '.legend{font-size:.85em;color:#444}.key{margin-right:1em;white-space:nowrap}',
  '.swatch{display:inline-block;width:12px;height:12px;margin-right:3px;vertical-align:middle;border:1px solid #ccc}',
  '.chart{margin:.5em 0 1em}.fault-band{position:absolute;top:0;bottom:0;pointer-events:none}',
].join('');

/** Draws each run's timeline: the rates on the left axis, d1's queue on the right, the spike shaded. */
const scenario_page_script = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('scenario-data').textContent);
  var colours = data.colours;
  var chart_height_px = 320;
${band_overlay_script}
  function chartWidth(element) {
    return Math.max(320, Math.min(1060, element.clientWidth || 960));
  }
  function line(label, colour, scale) {
    return { label: label, stroke: colour, width: 1.5, scale: scale, paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } };
  }
  var charts = [];
  data.arms.forEach(function (arm) {
    var element = document.getElementById('timeline-' + arm.name.toLowerCase());
    var draw = function (u) { drawBands(u, arm.bands); };
    charts.push(new uPlot({
      width: chartWidth(element),
      height: chart_height_px,
      hooks: { ready: [draw], setScale: [draw], setSize: [draw] },
      cursor: { sync: { key: 'scenario' } },
      scales: {
        x: { time: false, range: function (u, min, max) { return min == null ? [0, arm.end_s] : [min, max]; } },
        rate: { range: function (u, min, max) { return [0, Math.max(1, max || 0)]; } },
        queue: { range: function (u, min, max) { return [0, Math.max(arm.queue_axis_min_top, max || 0)]; } },
      },
      axes: [
        { label: 'seconds since the load began' },
        { scale: 'rate', label: 'per second', size: 70 },
        { scale: 'queue', side: 1, label: "d1's queue", size: 70, grid: { show: false } },
      ],
      series: [
        { label: 'second' },
        line('offered', colours.offered, 'rate'),
        line('goodput (ok)', colours.ok, 'rate'),
        line('failed', colours.failed, 'rate'),
        line('short-circuited', colours.short_circuited, 'rate'),
        line('calls to d1', colours.calls, 'rate'),
        line("d1's queue", colours.queue, 'queue'),
      ],
    }, [arm.x, arm.offered, arm.ok, arm.failed, arm.short_circuited, arm.calls, arm.queue], element));
  });
  window.addEventListener('resize', function () {
    charts.forEach(function (u) { u.setSize({ width: chartWidth(u.root.parentElement), height: chart_height_px }); });
  });
})();
`;

/** The report as one HTML document; pure: everything it shows comes from the result (and uPlot's files). */
export function renderScenarioReport(result: ScenarioResult): string {
  const assets = chartAssets();
  const data = { colours: series_colours, arms: result.arms.map((arm) => armChartData(arm, result.plan.spike_latency_ms)) };
  const lines = result.summary.map((line) => `<li>${escapeXml(line)}</li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>dslab breaker scenario metastable: ${result.shown ? 'shown' : 'not shown'}</title>
<style>${inlineElementText(assets.style)}</style>
<style>${style}</style>
</head><body>
<section id="verdict" class="verdict verdict-${result.shown ? 'shown' : 'not-shown'}"><h1>Metastable failure: ${result.shown ? 'A stayed degraded after the spike, B recovered' : 'not shown this time'}</h1><ul>${lines}</ul></section>
${figuresTable(result)}
${planSection(result)}
${timelineSection(result)}
${secondsTables(result)}
<script type="application/json" id="scenario-data">${jsonForScript(data)}</script>
<script>${inlineElementText(assets.script)}</script>
<script>${inlineElementText(scenario_page_script)}</script>
</body></html>
`;
}

/** Writes report.html into the scenario's folder; returns its path. */
export function writeScenarioReport(result: ScenarioResult): string {
  const file = path.join(result.dir, scenario_report_file);
  writeFileSync(file, renderScenarioReport(result));
  return file;
}
