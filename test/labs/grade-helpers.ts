import path from 'node:path';
import { execa } from 'execa';
import { afterAll, expect } from 'vitest';
import { cleanup, cli_path, type CliResult, makeWorkdir, repo_root } from '../helpers/cli.js';

// What the grader's real-process test files share: the JSON a grade prints, and the CLI run with npm's variables set.

export interface GradeJson {
  score: number;
  max_score: number;
  not_run: string[];
  results: { test: string; passed: boolean; failure: string | null; cause: string | null; replay: string; kept_dir: string | null; seed: number; nonlinearizable: { key: string } | null }[];
}

/** npm's variables that say how dslab was started (the test runner itself may run under npx or npm test). */
export const no_npm = { npm_command: undefined, npm_lifecycle_event: undefined, npm_execpath: undefined };
export const under_npx = { npm_command: 'exec', npm_lifecycle_event: 'npx', npm_execpath: '/usr/lib/node_modules/npm/bin/npm-cli.js' };

/** The real CLI with npm's variables set as given (like dslab() in helpers, which passes the runner's own on). */
export async function grade(cwd: string, npm: Record<string, string | undefined>, ...args: string[]): Promise<CliResult> {
  const result = await execa(process.execPath, [cli_path, 'grade', ...args], { cwd, reject: false, env: { NO_COLOR: '1', DSLAB_HOME: '', ...npm }, timeout: 120_000 });
  return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode ?? -1 };
}


/**
 * For a describe block of gradings run side by side: a new folder per grading (so they never share kept
 * folders), each removed after the block's tests.
 */
export function gradingWorkdirs(): () => string {
  const workdirs: string[] = [];
  afterAll(async () => {
    for (const dir of workdirs) await cleanup(dir);
  });
  return () => {
    const dir = makeWorkdir();
    workdirs.push(dir);
    return dir;
  };
}

/** Grades one test of `lab` (`target`: --reference, or --bin CMD) in `dir` and expects it passed. */
export async function expectPasses(dir: string, lab: string, only: string, ...target: string[]): Promise<void> {
  const run = await grade(dir, no_npm, lab, ...target, '--only', only, '--json');
  const result = JSON.parse(run.stdout) as GradeJson;
  expect(result.results.map((r) => `${r.test}: ${r.failure ?? 'passed'}`)).toEqual([`${only}: passed`]);
  expect(run.exitCode).toBe(0);
}

/** Grades a lab's planted-bug variant (labs/LAB/variants/VARIANT.mjs) on one test with seed 7 in `dir`; expects it failed, and returns that result and the --bin it ran. */
export async function gradeVariant(dir: string, lab: string, variant: string, test: string): Promise<{ failed: GradeJson['results'][number]; bin: string }> {
  const bin = `node ${path.join(repo_root, 'labs', lab, 'variants', `${variant}.mjs`)}`;
  const run = await grade(dir, no_npm, lab, '--bin', bin, '--only', test, '--seed', '7', '--json');
  expect(run.exitCode).toBe(1);
  const failed = (JSON.parse(run.stdout) as GradeJson).results.find((r) => r.test === test)!;
  expect(failed.passed).toBe(false);
  return { failed, bin };
}

/**
 * Starts `grade(item)` for every item, at most `limit` at once in the order given, and returns each one's grading
 * for its test to judge. For gradings that mostly wait: vitest's maxConcurrency counts tests, so a file that starts
 * its gradings from a hook can run more of them at once than it runs tests. A failed grading is no unhandled rejection
 * before its test awaits it.
 */
export function startGradings<K, T>(items: readonly K[], limit: number, grade: (item: K) => Promise<T>): Map<K, Promise<T>> {
  let running = 0;
  const waiting: (() => void)[] = [];
  const slot = async (item: K): Promise<T> => {
    // A finished grading hands its place straight to the next one waiting, so none can take it in between.
    if (running < limit) running++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await grade(item);
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
  const gradings = new Map<K, Promise<T>>();
  for (const item of items) {
    const graded = slot(item);
    graded.catch(() => undefined);
    gradings.set(item, graded);
  }
  return gradings;
}
