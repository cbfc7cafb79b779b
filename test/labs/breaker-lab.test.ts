import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repo_root } from '../helpers/cli.js';
import { gradeVariant, gradingWorkdirs, grade, no_npm, type GradeJson } from './grade-helpers.js';

// The circuit-breaker lab graded for real: the reference gets full marks, each planted bug loses the test
// aimed at it, and the Python starter as given fails a test that needs a breaker without upsetting the grader.

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

// Each grading runs a few seconds of load per test: they run side by side (vitest's maxConcurrency).
describe.concurrent('dslab grade on the circuit-breaker lab', () => {
  const workdir = gradingWorkdirs();

  it('gives the reference full marks', async () => {
    const run = await grade(workdir(), no_npm, 'circuit-breaker', '--reference', '--json');
    const result = JSON.parse(run.stdout) as GradeJson;
    expect(result.results.map((r) => `${r.test}: ${r.failure ?? 'passed'}`).filter((line) => !line.endsWith(': passed'))).toEqual([]);
    expect(result.score).toBe(result.max_score);
    expect(result.results).toHaveLength(11);
    expect(run.exitCode).toBe(0);
  }, 300_000);

  it.each(planted_bugs)('fails the planted bug $variant on $test', async ({ variant, test, failure }) => {
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
    const run = await grade(workdir(), no_npm, 'circuit-breaker', '--bin', python_starter, '--only', 'steady-traffic', '--json');
    const result = JSON.parse(run.stdout) as GradeJson;
    expect(result.results.map((r) => `${r.test}: ${r.failure ?? 'passed'}`)).toEqual(['steady-traffic: passed']);
    expect(run.exitCode).toBe(0);
  }, 180_000);
});
