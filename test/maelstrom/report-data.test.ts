/**
 * The report's pure parts without a browser: sampling the history, the JSON
 * block's escaping, which trace messages a failure's diagram draws, reading
 * those windows from a large trace, and the page's structure.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lamportSvg } from '../../src/lib/report/lamport.js';
import { relativeMs } from '../../src/lib/report/markup.js';
import type { TraceRecord } from '../../src/lib/report/trace-file.js';
import { chartAssets, inlineElementText } from '../../src/maelstrom/report/assets.js';
import { chartData, evenSample, jsonForScript, latency_floor_ms, latency_not_ok_points_max, latency_ok_points_max } from '../../src/maelstrom/report/chart-data.js';
import { diagram_arrows_max, diagramMessages, failure_diagrams_max, failure_window_ms, readFailureWindow, readFailureWindows, window_records_per_side_max } from '../../src/maelstrom/report/messages.js';
import { parseHistoryLines, renderRunReport, writeRunReport } from '../../src/maelstrom/report/report.js';
import { rpcTimeoutMs } from '../../src/maelstrom/timing.js';
import type { FailurePoint, RunHistoryEntry } from '../../src/maelstrom/run/result.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { fixtureHistory, fixtureResult, fixtureTrace, hostile_text, t0, writeFixtureRun } from './report-fixture.js';

const scratchDir = tempDirs('dslab-run-report-data-');

const op = (i: number, outcome: RunHistoryEntry['outcome'], latency: number | null = 10): RunHistoryEntry => ({
  client: 'c1',
  node: 'n0',
  f: 'add',
  value: i,
  call_ms: i,
  return_ms: latency === null ? null : i + latency,
  outcome,
});

const message = (ms: number, src: string, dest: string, type = 'gossip', fate = 'delivered'): TraceRecord => ({ t: t0 + ms, fate, msg: { src, dest, body: { type } } });

/** The chart data a page carries, read back out of its JSON block. */
function pageData(html: string): ReturnType<typeof chartData> {
  const match = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  expect(match).not.toBeNull();
  return JSON.parse(match![1]!) as ReturnType<typeof chartData>;
}

describe('evenSample', () => {
  it('keeps at most the bound, spread evenly from the first', () => {
    const items = Array.from({ length: 100_000 }, (_, i) => i);
    const sample = evenSample(items, 4000);
    expect(sample).toHaveLength(4000);
    expect(sample[0]).toBe(0);
    const gaps = sample.slice(1).map((v, i) => v - sample[i]!);
    expect(Math.min(...gaps)).toBe(25);
    expect(Math.max(...gaps)).toBe(25);
    expect(evenSample(items.slice(0, 10), 4000)).toEqual(items.slice(0, 10));
  });
});

describe('chartData', () => {
  const dir = '/nonexistent';

  it('draws a bounded sample of ok operations and every other one, in call order', () => {
    const history = [...Array.from({ length: 50_000 }, (_, i) => op(i * 2, 'ok')), op(7, 'fail'), op(9, 'unknown', null), op(11, 'ok', 0)];
    const data = chartData(fixtureResult(dir, history), history);
    const ok = data.latency.ok.filter((v) => v !== null);
    expect(ok).toHaveLength(latency_ok_points_max);
    expect(data.latency.fail.filter((v) => v !== null)).toEqual([10]);
    // No answer: drawn at the client's timeout.
    expect(data.latency.unknown.filter((v) => v !== null)).toEqual([rpcTimeoutMs('broadcast', 100)]);
    expect(data.latency.x).toEqual([...data.latency.x].sort((a, b) => a - b));
    expect(data.latency_counts).toEqual({ ok: 50_001, ok_drawn: latency_ok_points_max, not_ok: 2, not_ok_drawn: 2 });
  });

  it('bounds the failed ones too, and never draws a latency below the log axis floor', () => {
    const history = [...Array.from({ length: 10_000 }, (_, i) => op(i, 'fail')), op(3, 'ok', 0)];
    const data = chartData(fixtureResult(dir, history), history);
    expect(data.latency.fail.filter((v) => v !== null)).toHaveLength(latency_not_ok_points_max);
    expect(data.latency.ok.filter((v) => v !== null)).toEqual([latency_floor_ms]);
  });

  it('gives every second of the run a throughput value, zero where the timeline has none', () => {
    const history = fixtureHistory();
    const result = fixtureResult(dir, history);
    result.timeline = [{ second: 2, ok: 5, fail: 1, unknown: 0, latency_ms_median: 3, latency_ms_max: 4 }];
    result.end_ms = 4500;
    const data = chartData(result, history);
    expect(data.throughput.x).toEqual([0, 1, 2, 3, 4]);
    expect(data.throughput.ok).toEqual([0, 0, 5, 0, 0]);
    expect(data.throughput.fail).toEqual([0, 0, 1, 0, 0]);
  });

  it('turns faults into bands, a fault still in force lasting to the run’s end', () => {
    const history = fixtureHistory();
    const result = fixtureResult(dir, history);
    const bands = chartData(result, history).bands;
    expect(bands.map((b) => [b.kind, b.from_s, b.to_s])).toEqual([
      ['partition', 5, 9],
      ['kill', 12, 13],
      ['other', 15, result.end_ms / 1000],
    ]);
  });
});

describe('escaping', () => {
  it('jsonForScript writes no < > & and reads back the same value', () => {
    const value = { text: hostile_text, more: '<!-- & \u2028 \u2029 -->' };
    const json = jsonForScript(value);
    expect(json).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(json)).toEqual(value);
  });

  it('inlineElementText keeps an end tag from closing the element, and uPlot needs none of it', () => {
    expect(inlineElementText('a="</script>";b="</STYLE>"')).toBe('a="<\\/script>";b="<\\/STYLE>"');
    const { script, style } = chartAssets();
    expect(script.length).toBeGreaterThan(10_000);
    expect(inlineElementText(script)).toBe(script);
    expect(style).toContain('.uplot');
  });

  it('the page holds hostile text as escaped text and no script of its own', () => {
    const { result, history, trace } = (() => {
      const history = fixtureHistory();
      return { result: fixtureResult('/tmp/x', history), history, trace: fixtureTrace() };
    })();
    const html = renderRunReport({ result, history, trace });
    expect(html.match(/<script\b/g)).toHaveLength(3);
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(pageData(html).bands.some((b) => b.label.includes(hostile_text))).toBe(true);
  });
});

describe('the page', () => {
  it('starts with the verdict and carries every section, the figures in tables', () => {
    const history = fixtureHistory();
    const result = fixtureResult('/tmp/x', history);
    const html = renderRunReport({ result, history, trace: fixtureTrace() });
    const ids = [...html.matchAll(/<section id="([^"]+)"/g)].map((m) => m[1]);
    expect(ids).toEqual(['verdict', 'plan', 'checks', 'operations', 'network', 'charts', 'failures']);
    expect(html).toContain('<tr><th>rate</th><td>100 requests/s</td></tr>');
    expect(html).not.toContain("dslab's CPU");
    expect(renderRunReport({ result: { ...result, process_cpu: { user_ms: 900, system_ms: 300, wall_ms: 10_000, share: 0.12 } }, history, trace: [] })).toContain("<tr><th>dslab's CPU</th><td>0.12 of a core");
    const add = result.operations.find((o) => o.f === 'add')!;
    expect(html).toContain(`<tr><td>add</td><td class="num">${add.count}</td><td class="num">${add.ok}</td><td class="num">${add.fail}</td><td class="num">${add.unknown}</td>`);
    expect(html).toContain('<tr><th>servers</th><td class="num">3000</td><td class="num">2960</td><td class="num">3000</td><td class="num">1.00</td></tr>');
    expect(html).toContain('<tr><th>clients</th><td class="num">6000</td><td class="num">5960</td><td class="num">6000</td><td class="num">—</td></tr>');
  });

  it('draws the first failure_diagrams_max failure points and lists the rest', () => {
    const history = fixtureHistory();
    const result = fixtureResult('/tmp/x', history);
    const extra = failure_diagrams_max + 2 - result.failures.length;
    result.failures = [...result.failures, ...Array.from({ length: extra }, (_, i) => ({ at_ms: 20_000 + i * 100, description: `extra ${i}`, endpoints: ['n0'] }))];
    const html = renderRunReport({ result, history, trace: fixtureTrace() });
    expect(html.match(/<h3 id="failure-\d+">/g)).toHaveLength(failure_diagrams_max);
    expect(html).toContain('2 more failure points');
    expect(html).toContain(`extra ${extra - 1}`);
  });

  it('carries a bounded sample of a long history, not every operation', () => {
    const history = [...Array.from({ length: 200_000 }, (_, i) => op(i, 'ok')), ...Array.from({ length: 20_000 }, (_, i) => op(i * 10 + 1, 'fail'))];
    const html = renderRunReport({ result: fixtureResult('/tmp/x', history), history, trace: [] });
    expect(pageData(html).latency.x).toHaveLength(latency_ok_points_max + latency_not_ok_points_max);
    // uPlot's ~50 kB and the bounded sample; the whole history would be megabytes.
    expect(html.length).toBeLessThan(600_000);
    expect(html).toContain(`Drawn: ${latency_ok_points_max} of 200000 ok operations`);
  });

  it('for a valid run without faults or failure points, says so and draws no diagram', () => {
    const history = fixtureHistory().filter((e) => e.outcome === 'ok');
    const result = { ...fixtureResult('/tmp/x', history), verdict: 'valid' as const, headline: 'every broadcast was read', reasons: [], warnings: [], faults: [], failures: [] };
    const html = renderRunReport({ result, history, trace: fixtureTrace() });
    expect(html).toContain('<section id="verdict" class="verdict verdict-valid"><h1><span class="verdict-word">valid</span> every broadcast was read</h1></section>');
    expect(html).toContain('No faults during this run.');
    expect(html).not.toContain('id="failures"');
    expect(pageData(html).bands).toEqual([]);
  });

  it('says when no trace was kept', () => {
    const history = fixtureHistory();
    const html = renderRunReport({ result: fixtureResult('/tmp/x', history), history, trace: [], trace_kept: false });
    expect(html).toContain('No trace was kept');
    expect(html).not.toContain('<svg class="messages"');
  });
});

describe('the diagram around a failure point', () => {
  const failure: FailurePoint = { at_ms: 5000, description: 'lost', endpoints: ['c1', 'n2'] };
  const result = { started_at_ms: t0 };

  it('draws only messages within the window, in time order', () => {
    const records = [message(3999 - failure_window_ms + 1000, 'n0', 'n1'), message(4000, 'n0', 'n1'), message(5000, 'n1', 'n0'), message(6000, 'n2', 'n3'), message(6001, 'n3', 'n2')];
    const { drawn, in_window } = diagramMessages(records, result, failure);
    expect(drawn.map((r) => r.t - t0)).toEqual([4000, 5000, 6000]);
    expect(in_window).toBe(3);
  });

  it('past its bound keeps the endpoints’ messages first, then the others nearest the failure', () => {
    const endpointMessages = Array.from({ length: 20 }, (_, i) => message(4100 + i * 40, 'c1', 'n2', 'broadcast'));
    const others = Array.from({ length: 400 }, (_, i) => message(4000 + i * 5, 'n0', 'n1'));
    const { drawn, in_window } = diagramMessages([...others, ...endpointMessages].sort((a, b) => a.t - b.t), result, failure);
    expect(in_window).toBe(420);
    expect(drawn).toHaveLength(diagram_arrows_max);
    expect(drawn.filter((r) => r.msg.src === 'c1')).toHaveLength(20);
    const otherTimes = drawn.filter((r) => r.msg.src === 'n0').map((r) => Math.abs(r.t - t0 - failure.at_ms));
    const farthestKept = Math.max(...otherTimes);
    const nearestLeftOut = Math.min(...others.filter((r) => !drawn.includes(r)).map((r) => Math.abs(r.t - t0 - failure.at_ms)));
    expect(farthestKept).toBeLessThanOrEqual(nearestLeftOut);
    expect(drawn.map((r) => r.t)).toEqual([...drawn.map((r) => r.t)].sort((a, b) => a - b));
  });

  it('the shared diagram draws the endpoints first and marks the failure above its first arrow at or after it', () => {
    const arrows = [4000, 5000, 6000].map((ms) => ({ t: t0 + ms, src: 'n0', dest: 'n1', label: 'gossip', title: 'gossip', kind: 'node' as const, dropped: false }));
    const svg = lamportSvg(arrows, [], t0, 'x', ['n0', 'n1', 'n2'], { first: ['n2', 'c1'], marks: [{ t: t0 + 4500, label: 'failure' }] });
    const columns = [...svg.matchAll(/<text x="[^"]*" y="16"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(columns).toEqual(['n2', 'c1', 'n0', 'n1']);
    const mark_y = Number(/<g class="diagram-mark"><line [^>]*y1="([\d.]+)"/.exec(svg)![1]);
    const arrow_ys = [...svg.matchAll(/<line class="msg[^"]*" x1="[^"]*" y1="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(mark_y).toBeGreaterThan(arrow_ys[0]!);
    expect(mark_y).toBeLessThan(arrow_ys[1]!);
  });
});

describe('relativeMs', () => {
  it('writes a time before the run’s start (a node’s init) with a minus, not "+-"', () => {
    expect(relativeMs(-167)).toBe('-167.0 ms');
    expect(relativeMs(1520.26)).toBe('+1520.3 ms');
    expect(relativeMs(-0.01)).toBe('+0.0 ms');
  });
});

describe('reading the trace around failure points', () => {
  /** A trace of `count` records one every `step_ms`, with padding so it spans many of the reader's chunks. */
  function writeTrace(file: string, count: number, step_ms: number): TraceRecord[] {
    const records = Array.from({ length: count }, (_, i) => ({ t: t0 + i * step_ms, fate: 'delivered', msg: { src: 'n0', dest: 'n1', body: { type: 'gossip', msg_id: i, padding: 'x'.repeat(60) } } }));
    writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    return records;
  }

  it('reads exactly the window of a large trace', () => {
    const file = path.join(scratchDir(), 'trace.jsonl');
    const records = writeTrace(file, 120_000, 2); // about 15 MB, 240 s
    const failure: FailurePoint = { at_ms: 150_001, description: 'x', endpoints: [] };
    const window = readFailureWindow(file, { started_at_ms: t0 }, failure);
    const expected = records.filter((r) => Math.abs(r.t - t0 - failure.at_ms) <= failure_window_ms);
    expect(window.map((r) => r.msg.body.msg_id)).toEqual(expected.map((r) => r.msg.body.msg_id));
  });

  it('keeps at most window_records_per_side_max on each side: the ones nearest the failure', () => {
    const file = path.join(scratchDir(), 'trace.jsonl');
    const per_ms = 10;
    const dense = Array.from({ length: 3000 * per_ms }, (_, i) => ({ t: t0 + 1000 + Math.floor(i / per_ms), fate: 'delivered', msg: { src: 'n0', dest: 'n1', body: { type: 'gossip', msg_id: i } } }));
    writeFileSync(file, dense.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const failure: FailurePoint = { at_ms: 2500, description: 'x', endpoints: [] };
    const window = readFailureWindow(file, { started_at_ms: t0 }, failure);
    const at = t0 + failure.at_ms;
    const before = window.filter((r) => r.t < at);
    const after = window.filter((r) => r.t >= at);
    expect(before).toHaveLength(window_records_per_side_max);
    expect(after).toHaveLength(window_records_per_side_max);
    expect(before.at(-1)!.t).toBe(at - 1);
    expect(after[0]!.t).toBe(at);
  });

  it('reads overlapping windows once', () => {
    const dir = scratchDir();
    const { result, trace } = writeFixtureRun(dir);
    result.failures = [result.failures[0]!, { ...result.failures[0]!, at_ms: result.failures[0]!.at_ms + 500 }];
    const records = readFailureWindows(path.join(dir, 'trace.jsonl'), result);
    const from = t0 + result.failures[0]!.at_ms - failure_window_ms;
    const to = t0 + result.failures[1]!.at_ms + failure_window_ms;
    expect(records).toEqual(trace.filter((r) => r.t >= from && r.t <= to));
  });
});

describe('writeRunReport', () => {
  it('reads the run folder, skipping the history header, and writes report.html there', () => {
    const dir = scratchDir();
    const { history } = writeFixtureRun(dir);
    // A run cut short leaves a partial last line.
    writeFileSync(path.join(dir, 'history.jsonl'), readFileSync(path.join(dir, 'history.jsonl'), 'utf8') + '{"client":"c1","f":"ad');
    const file = writeRunReport(dir);
    expect(file).toBe(path.join(dir, 'report.html'));
    const data = pageData(readFileSync(file, 'utf8'));
    expect(data.latency.x).toHaveLength(history.length);
    expect(parseHistoryLines(readFileSync(path.join(dir, 'history.jsonl'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(history)));
  });
});
