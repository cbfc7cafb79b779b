import path from 'node:path';
import { expect } from 'vitest';
import { gradeLab } from '../../src/lib/grade/grade.js';
import type { TestResult } from '../../src/lib/grade/runner.js';
import { loadLab } from '../../src/lib/grade/spec.js';
import { final_recovery_wait_s } from '../../src/maelstrom/timing.js';
import { findSystem, lab_plugins } from '../../src/registry.js';
import { repo_root } from '../helpers/cli.js';

// The Maelstrom labs' planted bugs on shortened runs: each bug shows in every stretch of its test's workload
// (a lost broadcast, a double-counted add, a write cycle, a message or latency budget blown per operation),
// so a few seconds of the test's own run fail it as the whole test does. The grade runs in this process
// (gradeLab, as `dslab grade` calls it) on the lab's test with only the run's length changed; the CLI's
// own path is covered by the full-length gradings of the same files.

/** How much shorter: the run's seconds, and the wait after the final heal (the run's default when left out). */
export interface ShorterRun {
  time_limit_s: number;
  recovery_wait_s?: number;
}

/** The seed the planted-bug cases grade with, as their replay lines say. */
export const planted_seed = 7;

/**
 * Grades a lab's planted-bug variant (labs/LAB/variants/VARIANT.mjs) on its test `test`, whose one
 * maelstrom_run step runs `shorter` instead; expects it failed, and returns that result and the --bin it ran.
 */
export async function gradeVariantShortened(dir: string, lab_id: string, variant: string, test_name: string, shorter: ShorterRun): Promise<{ failed: TestResult; bin: string }> {
  const lab = loadLab(lab_id, lab_plugins);
  const test = lab.tests.find((t) => t.name === test_name)!;
  expect(test.steps.map((s) => s.do), `${lab_id} ${test_name}`).toEqual(['maelstrom_run']);
  const step = test.steps[0]!;
  // Only ever shorter than the lab's own run: a case that asked for more would not be the lab's test cut short.
  expect(shorter.time_limit_s, `${lab_id} ${test_name}`).toBeLessThan(step.time_limit_s as number);
  if (shorter.recovery_wait_s !== undefined) expect(shorter.recovery_wait_s, `${lab_id} ${test_name}`).toBeLessThanOrEqual((step.recovery_wait_s as number | undefined) ?? final_recovery_wait_s);
  const short = { ...lab, tests: lab.tests.map((t) => (t === test ? { ...t, steps: [{ ...step, ...shorter }] } : t)) };
  const bin = `node ${path.join(repo_root, 'labs', lab_id, 'variants', `${variant}.mjs`)}`;
  const quiet = { onStart: () => {}, onTestStart: () => {}, onTestEnd: () => {} };
  const result = await gradeLab(short, findSystem(lab.reference), { bin, only: test_name, seed: planted_seed, repeat: 1, program: 'dslab', grade_home: path.join(dir, 'grade') }, quiet);
  expect(result.score).toBe(0);
  expect(result.results.map((r) => r.test)).toEqual([test_name]);
  const failed = result.results[0]!;
  expect(failed.passed).toBe(false);
  return { failed, bin };
}
