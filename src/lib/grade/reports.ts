import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { LabResult } from './grade.js';
import type { TestResult } from './runner.js';

/** Messages drawn in a failure's message diagram, the last ones before the failure. */
export const diagram_messages_max = 150;
/** Trace bytes read from the end of the file for the diagram. */
const trace_tail_bytes_max = 4 * 1024 * 1024;

const escapeXml = (text: string) => text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

/** One test run as scripts read it: the JSON report's results and each line of the NDJSON summary. */
export interface TestSummary {
  lab: string;
  test: string;
  description: string;
  passed: boolean;
  points: number;
  earned: number;
  seed: number;
  elapsed_ms: number;
  failure: string | null;
  cause: string | null;
  replay: string;
  kept_dir: string | null;
  bad_ops: string[];
}

export function testSummary(r: TestResult): TestSummary {
  return { lab: r.lab, test: r.test, description: r.description, passed: r.passed, points: r.points, earned: r.earned, seed: r.seed, elapsed_ms: r.elapsed_ms, failure: r.failure, cause: r.cause, replay: r.replay, kept_dir: r.kept_dir, bad_ops: r.bad_ops };
}

/** The whole grade as one JSON document (the timelines stay in the HTML report). */
export function toJson(result: LabResult): string {
  const { results, ...rest } = result;
  return JSON.stringify({ ...rest, results: results.map(testSummary) }, null, 2) + '\n';
}

/** One JSON object per test run, one per line, with the grade's target: easy to collect per student and concatenate. */
export function toNdjson(result: LabResult): string {
  return result.results.map((r) => JSON.stringify({ target: result.target, ...testSummary(r) }) + '\n').join('');
}

const property = (name: string, value: string | number) => `<property name="${escapeXml(name)}" value="${escapeXml(String(value))}"/>`;

/**
 * JUnit XML, one testcase per test run, for classroom CI. Test names stay the
 * same from run to run (CI tools track tests by name); seed, points and
 * earned points are testcase properties, the score a suite property.
 */
export function toJunit(result: LabResult): string {
  const failures = result.results.filter((r) => !r.passed).length;
  const tests = result.results.length + result.not_run.length;
  const classname = escapeXml(result.lab);
  const cases = result.results.map((r) => {
    const head = `    <testcase classname="${classname}" name="${escapeXml(r.test)}" time="${(r.elapsed_ms / 1000).toFixed(3)}">`;
    const properties = `      <properties>${property('seed', r.seed)}${property('points', r.points)}${property('earned', r.earned)}</properties>`;
    const lines = [head, properties];
    if (!r.passed) {
      const detail = escapeXml([r.failure ?? '', `replay: ${r.replay}`, r.kept_dir ? `kept: ${r.kept_dir}` : '', ...r.bad_ops].filter(Boolean).join('\n'));
      lines.push(`      <failure message="${escapeXml(r.failure ?? 'failed')}">${detail}</failure>`);
    }
    return [...lines, '    </testcase>'].join('\n');
  });
  const skipped = result.not_run.map((test) => `    <testcase classname="${classname}" name="${escapeXml(test)}" time="0.000">\n      <skipped message="not run: --bail stopped at the first failure"/>\n    </testcase>`);
  const time = (result.elapsed_ms / 1000).toFixed(3);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="dslab" tests="${tests}" failures="${failures}" time="${time}">`,
    `  <testsuite name="${classname}" tests="${tests}" failures="${failures}" skipped="${result.not_run.length}" time="${time}">`,
    `    <properties>${property('score', result.score)}${property('max_score', result.max_score)}${property('target', result.target)}</properties>`,
    ...cases,
    ...skipped,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

const role_colours: Record<string, string> = { leader: '#2e7d32', candidate: '#ef6c00', pre_candidate: '#f9a825', follower: '#90a4ae' };

/** A lane per node across the test's duration: role segments, status marks, faults as vertical lines. */
function timelineSvg(r: TestResult): string {
  const nodes = [...new Set(r.timeline.filter((p) => p.node !== '*').map((p) => p.node))].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  if (nodes.length === 0) return '<p>No state reports.</p>';
  const width = 900;
  const lane = 22;
  const left = 40;
  const start = r.started_at_ms;
  const span = Math.max(1, r.elapsed_ms);
  const x = (t: number) => left + ((t - start) / span) * (width - left - 10);
  const parts: string[] = [];
  nodes.forEach((node, i) => {
    const y = 20 + i * lane;
    parts.push(`<text x="2" y="${y + 14}" font-size="12">${escapeXml(node)}</text>`);
    const points = r.timeline.filter((p) => p.node === node);
    // A role lasts until the node's next state report, whatever status marks fall in between.
    const states = points.filter((p) => p.kind === 'state');
    states.forEach((p, j) => {
      const end = states[j + 1]?.t ?? start + span;
      parts.push(`<rect x="${x(p.t).toFixed(1)}" y="${y}" width="${Math.max(1, x(end) - x(p.t)).toFixed(1)}" height="16" fill="${role_colours[p.role ?? ''] ?? '#cfd8dc'}"><title>${escapeXml(`${node} ${p.text} at +${p.t - start} ms`)}</title></rect>`);
    });
    for (const p of points.filter((point) => point.kind !== 'state')) {
      parts.push(`<circle cx="${x(p.t).toFixed(1)}" cy="${y + 8}" r="4" fill="#c62828"><title>${escapeXml(`${node} ${p.text} at +${p.t - start} ms`)}</title></circle>`);
    }
  });
  const height = 30 + nodes.length * lane;
  for (const fault of r.timeline.filter((p) => p.node === '*')) {
    parts.push(`<line x1="${x(fault.t).toFixed(1)}" x2="${x(fault.t).toFixed(1)}" y1="10" y2="${height - 5}" stroke="#6a1b9a" stroke-dasharray="3,2"><title>${escapeXml(`+${fault.t - start} ms: ${fault.text}`)}</title></line>`);
  }
  return `<svg width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`;
}

interface TraceRecord {
  t: number;
  fate: string;
  msg: { src: string; dest: string; body: { type: string } };
}

/** The last messages before a failure as a Lamport diagram: one vertical line per node, time downwards. */
function messageDiagramSvg(r: TestResult): string {
  if (!r.kept_dir) return '';
  const file = path.join(r.kept_dir, 'cluster', 'trace.jsonl');
  if (!existsSync(file)) return '<p>No trace was kept.</p>';
  const text = readFileSync(file, 'utf8');
  const tail = text.length > trace_tail_bytes_max ? text.slice(text.length - trace_tail_bytes_max) : text;
  const records: TraceRecord[] = [];
  for (const line of tail.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const record = JSON.parse(line) as TraceRecord;
      if (/^n\d+$/.test(record.msg?.src) && /^n\d+$/.test(record.msg?.dest)) records.push(record);
    } catch {
      // a line cut by the tail window
    }
  }
  const shown = records.slice(-diagram_messages_max);
  if (shown.length === 0) return '<p>No node-to-node messages in the trace.</p>';
  const nodes = [...new Set(shown.flatMap((m) => [m.msg.src, m.msg.dest]))].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  const column = 120;
  const row = 14;
  const x = (node: string) => 60 + nodes.indexOf(node) * column;
  const parts = nodes.map((n) => `<text x="${x(n) - 8}" y="14" font-size="12">${escapeXml(n)}</text><line x1="${x(n)}" x2="${x(n)}" y1="20" y2="${30 + shown.length * row}" stroke="#999"/>`);
  shown.forEach((m, i) => {
    const y = 30 + i * row;
    const dropped = m.fate.startsWith('dropped');
    const colour = dropped ? '#c62828' : '#1565c0';
    const x1 = x(m.msg.src);
    const x2 = x(m.msg.dest);
    parts.push(
      `<line x1="${x1}" y1="${y}" x2="${x2}" y2="${y + row - 4}" stroke="${colour}" ${dropped ? 'stroke-dasharray="4,3"' : ''} marker-end="url(#arrow)"><title>${escapeXml(`+${m.t - r.started_at_ms} ms ${m.msg.src}→${m.msg.dest} ${m.msg.body.type} (${m.fate})`)}</title></line>`,
      `<text x="${Math.min(x1, x2) + Math.abs(x2 - x1) / 2 - 30}" y="${y + 6}" font-size="9" fill="${colour}">${escapeXml(m.msg.body.type)}</text>`,
    );
  });
  const width = 80 + nodes.length * column;
  const height = 40 + shown.length * row;
  return `<svg width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg"><defs><marker id="arrow" markerWidth="6" markerHeight="6" refX="5" refY="3" orient="auto"><path d="M0,0 L6,3 L0,6 z" fill="#555"/></marker></defs>${parts.join('')}</svg>`;
}

/** A self-contained HTML report: score, then per test its outcome, timeline and, for failures, the message diagram. */
export function toHtml(result: LabResult): string {
  const sections = result.results.map((r) => {
    const status = r.passed ? '<span class="pass">passed</span>' : '<span class="fail">failed</span>';
    const failure = r.passed
      ? ''
      : `<p class="failure">${escapeXml(r.failure ?? '')}</p><p>Replay: <code>${escapeXml(r.replay)}</code></p>${r.kept_dir ? `<p>Logs, trace and history: <code>${escapeXml(r.kept_dir)}</code></p>` : ''}` +
        (r.bad_ops.length ? `<h4>Operations that cannot be ordered</h4><pre>${escapeXml(r.bad_ops.join('\n'))}</pre>` : '') +
        `<h4>Last messages before the failure (dashed red: dropped)</h4>${messageDiagramSvg(r)}`;
    return `<section><h3>${escapeXml(r.test)} ${status} <small>${r.earned}/${r.points} points, seed ${r.seed}, ${(r.elapsed_ms / 1000).toFixed(1)} s</small></h3><p>${escapeXml(r.description)}</p>${failure}<h4>Roles and terms over time (green leader, orange candidate, grey follower; purple lines: faults; red dots: crashes and restarts)</h4>${timelineSvg(r)}</section>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dslab grade: ${escapeXml(result.lab)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1000px}section{border-top:1px solid #ddd;padding:1em 0}.pass{color:#2e7d32}.fail{color:#c62828}.failure{background:#ffebee;padding:.5em}code,pre{background:#f5f5f5;padding:2px 4px}small{color:#666;font-weight:normal}</style>
</head><body>
<h1>${escapeXml(result.title)}: ${result.score}/${result.max_score}</h1>
<p>Lab <code>${escapeXml(result.lab)}</code>, target <code>${escapeXml(result.target)}</code>, ${result.results.length} test runs in ${(result.elapsed_ms / 1000).toFixed(1)} s.</p>
${sections.join('\n')}
</body></html>
`;
}
