import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkHistoryFile, linearizable_check } from '../../src/workloads/lin-kv/check-file.js';
import type { ClusterEvent } from '../../src/lib/control/api.js';
import type { LabResult } from '../../src/lib/grade/grade.js';
import { Recorder, type TimelinePoint } from '../../src/lib/grade/recorder.js';
import { toHtml } from '../../src/lib/grade/reports.js';
import type { TestResult } from '../../src/lib/grade/runner.js';
import { raft } from '../../src/systems/raft/plugin.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const scratchDir = tempDirs('dslab-html-report-');

/** When every fabricated test started, in epoch milliseconds (13 digits, like Date.now()). */
const t0 = 1_700_000_000_000;
const epochMs = /\b\d{13}\b/;

function testResult(fields: Partial<TestResult> & Pick<TestResult, 'test'>): TestResult {
  return {
    lab: 'fabricated',
    description: `what ${fields.test} checks`,
    points: 10,
    earned: 0,
    passed: false,
    seed: 42,
    elapsed_ms: 5000,
    failure: null,
    replay: `dslab grade fabricated --reference --only ${fields.test} --seed 42`,
    kept_dir: null,
    timeline: [],
    nodes: ['n1', 'n2', 'n3'],
    bad_ops: [],
    nonlinearizable: null,
    started_at_ms: t0,
    ...fields,
  };
}

function labResult(results: TestResult[]): LabResult {
  return {
    lab: 'fabricated',
    title: 'A fabricated lab',
    submission: 'reference',
    target: '--reference',
    score: results.filter((r) => r.passed).reduce((sum, r) => sum + r.points, 0),
    max_score: results.reduce((sum, r) => sum + r.points, 0),
    results,
    elapsed_ms: results.reduce((sum, r) => sum + r.elapsed_ms, 0),
  };
}

const state = (ms: number, node: string, role: string, term: number): TimelinePoint => ({ t: t0 + ms, node, kind: 'state', text: `${role} t${term}`, role, term });
const fault = (ms: number, text: string): TimelinePoint => ({ t: t0 + ms, node: '*', kind: 'fault', text });

/** The events of an election test: three nodes start, n1 leads, is partitioned, killed and restarted; n2 crashes on its own. */
function electionEvents(): ClusterEvent[] {
  let seq = 0;
  const e = (ms: number, event: Record<string, unknown>) => ({ t: t0 + ms, seq: ++seq, ...event }) as ClusterEvent;
  return [
    e(50, { type: 'node_up', node: 'n1', pid: 11, restarts: 0 }),
    e(60, { type: 'node_up', node: 'n2', pid: 12, restarts: 0 }),
    e(70, { type: 'node_up', node: 'n3', pid: 13, restarts: 0 }),
    e(100, { type: 'node_state', node: 'n1', state: { role: 'follower', term: 0 } }),
    e(100, { type: 'node_state', node: 'n2', state: { role: 'follower', term: 0 } }),
    e(100, { type: 'node_state', node: 'n3', state: { role: 'follower', term: 0 } }),
    e(400, { type: 'node_state', node: 'n1', state: { role: 'leader', term: 1 } }),
    e(1500, { type: 'fault', action: 'partition', fault: { action: 'partition', groups: [['n1'], ['n2', 'n3']] }, description: 'partition {n1} | {n2,n3}', faults: [], active: { partition: [['n1'], ['n2', 'n3']], links: [], paused: [], clock_offsets_ms: {} }, source: 'cli' }),
    e(2000, { type: 'fault', action: 'kill', fault: { action: 'kill', node: 'n1' }, description: 'killed n1 (leader)', faults: [], active: { partition: null, links: [], paused: [], clock_offsets_ms: {} }, source: 'cli' }),
    e(2001, { type: 'node_down', node: 'n1', exit_code: null, signal: 'SIGKILL', stderr_tail: [], expected: true }),
    e(2300, { type: 'node_state', node: 'n2', state: { role: 'leader', term: 2 } }),
    e(3000, { type: 'fault', action: 'restart', fault: { action: 'restart', node: 'n1' }, description: 'restarted n1 with its data directory', faults: [], active: { partition: null, links: [], paused: [], clock_offsets_ms: {} }, source: 'cli' }),
    e(3050, { type: 'node_up', node: 'n1', pid: 14, restarts: 1 }),
    e(3500, { type: 'node_down', node: 'n2', exit_code: 1, signal: null, stderr_tail: ['boom'], expected: false }),
  ];
}

function recordedTimeline(): TimelinePoint[] {
  const recorder = new Recorder(new Set(), raft.roles);
  for (const event of electionEvents()) recorder.onEvent(event);
  return recorder.timeline;
}

const traceLine = (ms: number, fate: string, src: string, dest: string, body: Record<string, unknown>) => JSON.stringify({ t: t0 + ms, fate, msg: { src, dest, body } });

/** A kept folder as the grader leaves it: cluster/trace.jsonl and, for a linearizability test, history-1.jsonl. */
function keptDir(trace: string[], history?: Record<string, unknown>[]): string {
  const dir = scratchDir();
  mkdirSync(path.join(dir, 'cluster'), { recursive: true });
  writeFileSync(path.join(dir, 'cluster', 'trace.jsonl'), trace.map((l) => `${l}\n`).join(''));
  if (history) writeFileSync(path.join(dir, 'history-1.jsonl'), history.map((op) => `${JSON.stringify(op)}\n`).join(''));
  return dir;
}

function electionFailure(): TestResult {
  const trace = [
    traceLine(4900, 'delivered', 'n3', 'n1', { type: 'request_vote', term: 3, msg_id: 1 }),
    traceLine(4950, 'dropped:partition', 'n3', 'n2', { type: 'request_vote', term: 3, msg_id: 2 }),
  ];
  return testResult({
    test: 'rejoining-node-does-not-disrupt',
    failure: 'leader n2 (term 2) was disrupted: now n3 leads in term 3',
    kept_dir: keptDir(trace),
    timeline: recordedTimeline(),
  });
}

/**
 * A history on key k0 where c1 reads 2, which nobody wrote (line 3), next to
 * operations on k0 that are fine and one on k1 that is not about the violation.
 */
function linearizabilityFailure(): TestResult {
  const op = (client: string, f: string, key: string, call: number, ret: number, extra: Record<string, unknown>) => ({ client, f, key, call_ms: t0 + call, return_ms: t0 + ret, outcome: 'ok', ...extra });
  const history = [
    op('c1', 'write', 'k0', 1000.25, 1010.5, { value: 1 }),
    op('c2', 'write', 'k1', 1005, 1015, { value: 5 }),
    op('c1', 'read', 'k0', 1020, 1030, { result: 2 }),
    op('c3', 'read', 'k0', 1040, 1050, { result: 1 }),
  ];
  const trace = [
    traceLine(1001, 'client', 'c1', 'n1', { type: 'write', key: 'k0', value: 1, msg_id: 1 }),
    traceLine(1003, 'delivered', 'n1', 'n2', { type: 'append_entries', entries: [{ op: 'w' }], msg_id: 91 }),
    traceLine(1005, 'delivered', 'n2', 'n1', { type: 'append_entries_ok', in_reply_to: 91, msg_id: 92 }),
    traceLine(1006, 'client', 'c2', 'n1', { type: 'write', key: 'k1', value: 5, msg_id: 2 }),
    traceLine(1009, 'client', 'n1', 'c1', { type: 'write_ok', in_reply_to: 1, msg_id: 93 }),
    traceLine(1014, 'client', 'n1', 'c2', { type: 'write_ok', in_reply_to: 2, msg_id: 94 }),
    traceLine(1021, 'client', 'c1', 'n1', { type: 'read', key: 'k0', msg_id: 3 }),
    traceLine(1025, 'dropped:partition', 'n1', 'n3', { type: 'append_entries', entries: [], msg_id: 95 }),
    traceLine(1029, 'client', 'n1', 'c1', { type: 'read_ok', value: 2, in_reply_to: 3, msg_id: 96 }),
    traceLine(1041, 'client', 'c3', 'n2', { type: 'read', key: 'k0', msg_id: 4 }),
    traceLine(1042, 'client', 'n2', 'c3', { type: 'error', code: 11, text: 'not the leader', in_reply_to: 4, msg_id: 97 }),
    traceLine(1043, 'client', 'c3', 'n1', { type: 'read', key: 'k0', msg_id: 5 }),
    traceLine(1049, 'client', 'n1', 'c3', { type: 'read_ok', value: 1, in_reply_to: 5, msg_id: 98 }),
  ];
  // Megabytes of node traffic before and after, so finding the operations' window in the trace takes a search across read chunks.
  const padding = (from: number, count: number) => Array.from({ length: count }, (_, i) => traceLine(from + i * 0.04, 'delivered', 'n2', 'n3', { type: 'padding_heartbeat', term: 1, msg_id: 1000 + i }));
  const dir = keptDir([...padding(0, 20_000), ...trace, ...padding(1100, 20_000)], history);
  const file = path.join(dir, 'history-1.jsonl');
  // The grader's own check (lin-kv's, through the workload plugin's hook): times from the test's start.
  const check = linearizable_check.check(file, 10_000, t0);
  expect(check.result).toBe('invalid');
  const violation = check.violation!;
  return testResult({
    test: 'healthy-cluster',
    points: 20,
    failure: `the history is not linearizable on key ${violation.key} (history-1.jsonl): ${violation.explanation}`,
    kept_dir: dir,
    timeline: [state(200, 'n1', 'leader', 1), state(200, 'n2', 'follower', 1), state(200, 'n3', 'follower', 1)],
    bad_ops: violation.ops.map((o) => `history-1.jsonl line ${o.line}`),
    nonlinearizable: { history_file: file, ...violation },
  });
}

function passing(): TestResult {
  return testResult({ test: 'initial-election', points: 15, earned: 15, passed: true, timeline: [state(300, 'n1', 'leader', 1), state(300, 'n2', 'follower', 1)] });
}

/** Outer markup of every element with this tag whose class list has `cls`. */
function elements(html: string, tag: string, cls: string): string[] {
  const found: string[] = [];
  const open = new RegExp(`<${tag}\\b[^>]*\\bclass="(?:[^"]* )?${cls}(?: [^"]*)?"[^>]*?(/?)>`, 'g');
  for (const match of html.matchAll(open)) {
    if (match[1] === '/') {
      found.push(match[0]);
      continue;
    }
    const end = html.indexOf(`</${tag}>`, match.index! + match[0].length);
    found.push(html.slice(match.index, end + tag.length + 3));
  }
  return found;
}

/** The text of an element, without its tags and tooltip titles. */
const textOf = (markup: string) => markup.replace(/<title>[^<]*<\/title>/g, '').replace(/<[^>]+>/g, '').replace(/&amp;/g, '&').trim();

function sectionOf(html: string, run: number): string {
  const start = html.indexOf(`<section id="run-${run}">`);
  expect(start, `section run-${run}`).toBeGreaterThan(-1);
  return html.slice(start, html.indexOf('</section>', start));
}

describe('grader HTML report', () => {
  const results = [passing(), electionFailure(), linearizabilityFailure()];
  const html = toHtml(labResult(results));

  it('opens with a summary table: one row per test run with its points and result', () => {
    const summary = elements(html, 'table', 'summary');
    expect(summary).toHaveLength(1);
    expect(html.indexOf('<table class="summary"')).toBeLessThan(html.indexOf('<section'));
    const rows = [...summary[0]!.matchAll(/<tbody>([\s\S]*)<\/tbody>/g)][0]![1]!.split('</tr>').filter(Boolean);
    const cells = rows.map((row) => [...row.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].slice(0, 3).map((m) => textOf(m[1]!)));
    expect(cells).toEqual([
      ['initial-election', '15/15', 'passed'],
      ['rejoining-node-does-not-disrupt', '0/10', 'failed'],
      ['healthy-cluster', '0/20', 'failed'],
    ]);
    expect(summary[0]).toMatch(/<tfoot>.*15\/45/);
  });

  it('draws node starts differently from kills and crashes', () => {
    const timeline = recordedTimeline();
    expect(timeline.filter((p) => p.kind === 'status').map((p) => [p.node, p.status])).toEqual([
      ['n1', 'started'],
      ['n2', 'started'],
      ['n3', 'started'],
      ['n1', 'killed'],
      ['n1', 'restarted'],
      ['n2', 'crashed'],
    ]);
    const svg = elements(sectionOf(html, 2), 'svg', 'timeline')[0]!;
    const starts = elements(svg, 'path', 'mark-start');
    const kills = elements(svg, 'path', 'mark-kill');
    const crashes = elements(svg, 'g', 'mark-crash');
    expect(starts.map((m) => /<title>(\w+ \w+)/.exec(m)![1])).toEqual(['n1 started', 'n1 restarted', 'n2 started', 'n3 started']);
    expect(kills.map((m) => /<title>(\w+ \w+)/.exec(m)![1])).toEqual(['n1 killed']);
    expect(crashes.map((m) => /<title>(\w+ \w+)/.exec(m)![1])).toEqual(['n2 crashed']);
    // Different shapes and colours, not one marker with different tooltips.
    const shape = (markup: string) => markup.replace(/<title>[\s\S]*?<\/title>/g, '').replace(/-?\d+(\.\d+)?/g, '#');
    expect(new Set([shape(starts[0]!), shape(kills[0]!), shape(crashes[0]!)]).size).toBe(3);
    // n1's lane is hatched as down from its kill to its restart; the passing test's lanes have no down period.
    expect(elements(svg, 'rect', 'down').map((m) => /<title>([^<]*)/.exec(m)![1])).toEqual(['n1 down from +2001.0 ms to +3050.0 ms', 'n2 down from +3500.0 ms to +5000.0 ms']);
    expect(elements(sectionOf(html, 1), 'rect', 'down')).toEqual([]);
  });

  it('has a time axis in seconds from the test start and labels every fault', () => {
    const section = sectionOf(html, 2);
    const svg = elements(section, 'svg', 'timeline')[0]!;
    expect(elements(svg, 'text', 'tick-label').map(textOf)).toEqual(['0.0 s', '0.5 s', '1.0 s', '1.5 s', '2.0 s', '2.5 s', '3.0 s', '3.5 s', '4.0 s', '4.5 s', '5.0 s']);
    expect(textOf(elements(svg, 'text', 'axis-title')[0]!)).toBe("seconds from the test's start");
    expect(elements(svg, 'line', 'fault-line')).toHaveLength(3);
    expect(elements(svg, 'text', 'fault-label').map(textOf)).toEqual(['1 partition {n1} | {n2,n3}', '2 killed n1 (leader)', '3 restarted n1 with its data directory']);
    const list = elements(section, 'details', 'faults')[0]!;
    expect([...list.matchAll(/<li>([^<]*)<\/li>/g)].map((m) => m[1])).toEqual(['+1500.0 ms: partition {n1} | {n2,n3}', '+2000.0 ms: killed n1 (leader)', '+3000.0 ms: restarted n1 with its data directory']);
    expect(textOf(/<summary>[^<]*<\/summary>/.exec(list)![0])).toBe('3 faults');
  });

  it('stacks fault labels that would overlap, and numbers the rest', () => {
    const crowded = testResult({ test: 'nemesis', timeline: [state(0, 'n1', 'leader', 1), ...Array.from({ length: 8 }, (_, i) => fault(1000 + i * 10, `paused n${i + 1}`))] });
    const svg = elements(toHtml(labResult([crowded])), 'svg', 'timeline')[0]!;
    const labels = elements(svg, 'text', 'fault-label');
    const ys = labels.map((l) => Number(/ y="(\d+)"/.exec(l)![1]));
    expect(new Set(ys).size).toBe(ys.length);
    expect(labels.length + elements(svg, 'text', 'fault-number').length).toBe(8);
  });

  it('keeps a fault label near the end of the test on the page, left of its line', () => {
    const late = testResult({ test: 'late', timeline: [state(0, 'n1', 'leader', 1), fault(4990, 'healed: no partitions or link faults')] });
    const label = elements(elements(toHtml(labResult([late])), 'svg', 'timeline')[0]!, 'text', 'fault-label')[0]!;
    expect(label).toContain('text-anchor="end"');
    expect(textOf(label)).toBe('1 healed: no partitions or link faults');
  });

  it('for a linearizability failure, draws the client operations on the offending key and the messages around them', () => {
    const section = sectionOf(html, 3);
    const table = elements(section, 'table', 'ops')[0]!;
    const rows = [...table.matchAll(/<tr class="(op|op-bad)">([\s\S]*?)<\/tr>/g)].map((m) => [m[1], ...[...m[2]!.matchAll(/<td>([^<]*)<\/td>/g)].slice(0, 3).map((c) => c[1])]);
    // Key k0 only, in call order; the read that saw a value nobody wrote is marked; line numbers are the history file's.
    expect(rows).toEqual([
      ['op', '1', 'c1', 'write k0 1'],
      ['op-bad', '3', 'c1', 'read k0'],
      ['op', '4', 'c3', 'read k0'],
    ]);
    const svg = elements(section, 'svg', 'messages')[0]!;
    const labels = [...svg.matchAll(/<text x="[^"]*" y="[^"]*" font-size="9" text-anchor="middle"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(labels).toEqual(['write k0 1', 'append_entries (1 entry)', 'append_entries_ok', 'write_ok', 'read k0', 'append_entries', 'read_ok 2', 'read k0', 'error 11', 'read k0', 'read_ok 1']);
    // The other key's traffic and the node traffic long before and after are not in the diagram.
    expect(svg).not.toContain('k1');
    expect(svg).not.toContain('padding_heartbeat');
    // Operations are bars on their client's line; the bad one stands out, and its messages too.
    expect(elements(svg, 'rect', 'op-bar')).toHaveLength(3);
    expect(elements(svg, 'rect', 'op-bad').map((b) => /<title>([^<]*)/.exec(b)![1])).toEqual(['line 3: c1 read k0 → ok: 2, +1020.0 ms to +1030.0 ms']);
    expect(elements(svg, 'line', 'msg-bad')).toHaveLength(2);
    expect(elements(svg, 'line', 'msg-op')).toHaveLength(6);
    expect(elements(svg, 'line', 'msg-node').filter((l) => l.includes('stroke-dasharray'))).toHaveLength(1);
    expect(elements(svg, 'text', 'time').map(textOf)[0]).toBe('+1001.0 ms');
  });

  it('names the history file and its lines, and counts in words that agree', () => {
    const section = sectionOf(html, 3);
    expect(section).toContain("History <code>history-1.jsonl</code> (in the kept folder), line 3: the 1 operation marked below cannot be ordered with the rest of the key's 3 operations");
    expect(section).toContain('shown with the 2 operations on the key nearest to it in time');
    expect(html).toContain('3 test runs in 15.0 s');
    const single = toHtml(labResult([passing()]));
    expect(single).toContain('1 test run in 5.0 s');
    for (const page of [html, single]) expect(page).not.toMatch(/\b1 (operations|test runs|messages|faults|entries)\b/);
    expect(textOf(elements(sectionOf(html, 1), 'p', 'note')[0]!)).toBe('No faults were applied in this test.');
  });

  it('gives every time from the test start, never in epoch milliseconds', () => {
    // Everything fabricated above carries epoch times; none may reach the page.
    expect(html).not.toMatch(epochMs);
    const lastMessages = sectionOf(html, 2);
    expect(lastMessages).toContain('The last 2 messages between nodes before the failure');
    expect(elements(lastMessages, 'text', 'time').map(textOf)).toEqual(['+4900.0 ms', '+4950.0 ms']);
    expect(lastMessages).toContain('+1500.0 ms: partition');
  });

  it("draws the nodes of every group (a coordinator's z1 beside worker w1) as nodes, in the cluster's order, and clients apart", () => {
    const trace = [
      traceLine(100, 'delivered', 'w1', 'z2', { type: 'create', path: '/workers/0', msg_id: 1 }),
      traceLine(110, 'delivered', 'z2', 'z1', { type: 'propose', zxid: 5, msg_id: 2 }),
      traceLine(120, 'delivered', 'c1', 'w1', { type: 'generate', msg_id: 3 }),
    ];
    const failed = testResult({ test: 'two-groups', failure: 'it broke', kept_dir: keptDir(trace), nodes: ['z1', 'z2', 'z3', 'w1', 'w2'] });
    const section = sectionOf(toHtml(labResult([failed])), 1);
    expect(section).toContain('The last 2 messages between nodes before the failure');
    const svg = elements(section, 'svg', 'messages')[0]!;
    const columns = [...svg.matchAll(/<text x="[^"]*" y="16" font-size="12" text-anchor="middle" font-weight="bold">([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(columns).toEqual(['z1', 'z2', 'w1']);
    expect(svg).not.toContain('>c1<');
  });

  it('is self-contained: no scripts, stylesheets, fonts or images from elsewhere', () => {
    expect(html).not.toMatch(/<script|<link|<img|@import|url\((?!#)|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });
});

describe("the grader's history check", () => {
  it('explains a violation in milliseconds from the given time origin', () => {
    const dir = scratchDir();
    const file = path.join(dir, 'history-1.jsonl');
    writeFileSync(file, [{ client: 'c1', f: 'read', key: 'k', call_ms: t0 + 20.5, return_ms: t0 + 30, outcome: 'ok', result: 7 }].map((op) => JSON.stringify(op)).join('\n'));
    const relative = checkHistoryFile(file, 10_000, t0);
    expect(relative.violation!.explanation).toContain('line 1: c1 read k → 7, 20.5–30 ms');
    expect(relative.violation!.explanation).not.toMatch(epochMs);
    expect(relative.violation!.ops[0]).toMatchObject({ call_ms: 20.5, return_ms: 30, line: 1 });
    // Without an origin (dslab check on a file), the file's own times.
    expect(checkHistoryFile(file, 10_000).violation!.explanation).toMatch(epochMs);
  });
});
