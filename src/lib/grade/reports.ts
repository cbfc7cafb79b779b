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

/** One JSON object per test run, one per line, with the submission and the grade's target: a class's runs append to one file. */
export function toNdjson(result: LabResult): string {
  return result.results.map((r) => JSON.stringify({ submission: result.submission, target: result.target, ...testSummary(r) }) + '\n').join('');
}

/** A submission a batch could not grade (nothing to run), and why. */
export interface NotGraded {
  lab: string;
  submission: string;
  error: string;
}

/** The summary line of a submission that could not be graded. */
export function notGradedNdjson(entry: NotGraded): string {
  return JSON.stringify({ submission: entry.submission, lab: entry.lab, passed: false, error: entry.error }) + '\n';
}

const property = (name: string, value: string | number) => `<property name="${escapeXml(name)}" value="${escapeXml(String(value))}"/>`;

/**
 * JUnit XML for classroom CI: one testsuite per submission, named after it,
 * one testcase per test run. Test names stay the same from run to run (CI
 * tools track tests by name); seed, points and earned points are testcase
 * properties, the score a suite property. A submission that could not be
 * graded is a suite with one errored testcase saying why.
 */
export function toJunit(results: readonly LabResult[], not_graded: readonly NotGraded[] = []): string {
  const tests = results.reduce((sum, r) => sum + r.results.length + r.not_run.length, 0) + not_graded.length;
  const failures = results.reduce((sum, r) => sum + r.results.filter((t) => !t.passed).length, 0);
  const time = (results.reduce((sum, r) => sum + r.elapsed_ms, 0) / 1000).toFixed(3);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="dslab" tests="${tests}" failures="${failures}" errors="${not_graded.length}" time="${time}">`,
    ...results.map(junitSuite),
    ...not_graded.map(notGradedSuite),
    '</testsuites>',
    '',
  ].join('\n');
}

function notGradedSuite(entry: NotGraded): string {
  const message = escapeXml(`not graded: ${entry.error}`);
  return [
    `  <testsuite name="${escapeXml(entry.submission)}" tests="1" failures="0" errors="1" skipped="0" time="0.000">`,
    `    <testcase classname="${escapeXml(entry.lab)}" name="grade" time="0.000">`,
    `      <error message="${message}">${message}</error>`,
    '    </testcase>',
    '  </testsuite>',
  ].join('\n');
}

function junitSuite(result: LabResult): string {
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
    `  <testsuite name="${escapeXml(result.submission)}" tests="${tests}" failures="${failures}" errors="0" skipped="${result.not_run.length}" time="${time}">`,
    `    <properties>${property('lab', result.lab)}${property('score', result.score)}${property('max_score', result.max_score)}${property('target', result.target)}</properties>`,
    ...cases,
    ...skipped,
    '  </testsuite>',
  ].join('\n');
}
