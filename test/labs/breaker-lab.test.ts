import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repo_root } from '../helpers/cli.js';
import { expectPasses, gradeVariant, gradingWorkdirs, grade, no_npm, type GradeJson } from './grade-helpers.js';

// The circuit-breaker lab graded for real: the reference passes every one of its tests (full marks), each
// planted bug loses the test aimed at it, and the Python starter as given fails a test that needs a breaker
// without upsetting the grader. Each grading runs one test (--only), so that they share the side-by-side slots.

/** The lab's tests as its spec lists them (read as JSON: the registry's import would cost this file seconds). */
interface SpecTest {
  name: string;
  steps: { do: string; duration_ms?: number; ms?: number }[];
}
const lab_tests = (JSON.parse(readFileSync(path.join(repo_root, 'labs', 'circuit-breaker', 'spec.json'), 'utf8')) as { tests: SpecTest[] }).tests;
const python_starter = `python3 ${path.join(repo_root, 'labs', 'circuit-breaker', 'starter', 'python', 'node.py')}`;

/** Each planted bug, the test it must fail and what the failure must say. */
const planted_bugs: { variant: string; test: string; failure: RegExp }[] = [
  { variant: 'never-half-opens', test: 'closes-after-heal', failure: /did not report breaker closed within \d+ ms/ },
  { variant: 'half-open-admits-all', test: 'half-open-admits-trials', failure: /half_open_overadmitted: / },
  { variant: 'window-never-forgets', test: 'window-forgets', failure: /(opened_without_cause|window_kept_old_outcomes): |requests were ok, expected at least 95%/ },
  { variant: 'timeout-counts-as-success', test: 'timeouts-are-failures', failure: /s1 did not report breaker open within \d+ ms/ },
  { variant: 'retry-without-budget', test: 'retries-within-budget', failure: /retry_amplification: / },
  { variant: 'bulkhead-leaks-on-timeout', test: 'bulkhead-bounds-calls', failure: /requests were ok, expected at least 90%|bulkhead_leaked: / },
];

/** About how long a test's loads and sleeps last: the gradings start longest first, so that none is left to run alone at the end. */
function loadMs(test: SpecTest): number {
  return test.steps.reduce((sum, step) => sum + (step.duration_ms ?? 0) + (step.do === 'sleep' ? (step.ms ?? 0) : 0), 0);
}
const testLoadMs = (name: string) => loadMs(lab_tests.find((t) => t.name === name)!);

// Each grading runs a few seconds of load, mostly waiting: they run side by side (vitest's maxConcurrency).
describe.concurrent('dslab grade on the circuit-breaker lab', () => {
  const workdir = gradingWorkdirs();

  // Full marks, one test per grading: together these are every test of the lab.
  it.each([...lab_tests].sort((a, b) => loadMs(b) - loadMs(a)).map((t) => t.name))('gives the reference full marks on %s', async (test) => {
    await expectPasses(workdir(), 'circuit-breaker', test, '--reference');
  }, 180_000);

  it.each([...planted_bugs].sort((a, b) => testLoadMs(b.test) - testLoadMs(a.test)))('fails the planted bug $variant on $test', async ({ variant, test, failure }) => {
    const { failed } = await gradeVariant(workdir(), 'circuit-breaker', variant, test);
    expect(failed.failure).toMatch(failure);
  }, 180_000);

  it('fails the Python starter as given where a breaker is needed, with a reason and its JSON intact', async () => {
    const run = await grade(workdir(), no_npm, 'circuit-breaker', '--bin', python_starter, '--only', 'opens-on-errors', '--seed', '7', '--json');
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(run.exitCode).toBe(1);
    const result = JSON.parse(run.stdout) as GradeJson;
    expect(result.score).toBe(0);
    expect(result.results).toHaveLength(1);
    // The starter calls d1 for every request and never opens.
    expect(result.results[0]!.failure).toMatch(/s1 did not report breaker open within \d+ ms \(now: s1 closed\)/);
  }, 180_000);

  it('passes the Python starter as given on steady traffic: the plumbing it gives works', async () => {
    await expectPasses(workdir(), 'circuit-breaker', 'steady-traffic', '--bin', python_starter);
  }, 180_000);
});
