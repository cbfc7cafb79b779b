import type { LabResult } from './grade.js';
import type { TestResult } from './runner.js';

// The HTML report lives in html.ts.
export { toHtml } from './html.js';

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
  /** For a linearizability failure: the history file and the key that could not be ordered. */
  nonlinearizable: { history_file: string; key: string; key_ops: number } | null;
}

export function testSummary(r: TestResult): TestSummary {
  return { lab: r.lab, test: r.test, description: r.description, passed: r.passed, points: r.points, earned: r.earned, seed: r.seed, elapsed_ms: r.elapsed_ms, failure: r.failure, cause: r.cause, replay: r.replay, kept_dir: r.kept_dir, bad_ops: r.bad_ops, nonlinearizable: r.nonlinearizable ? { history_file: r.nonlinearizable.history_file, key: r.nonlinearizable.key, key_ops: r.nonlinearizable.key_ops } : null };
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
