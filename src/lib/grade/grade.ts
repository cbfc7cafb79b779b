import { existsSync } from 'node:fs';
import path from 'node:path';
import type { GroupConfig } from '../cluster/groups.js';
import { groupConfig, nodes_default } from '../cluster/launch.js';
import { dslabHome } from '../cluster/paths.js';
import { checkOptions, groupCommand, systemView, type NodeGroup, type SystemPlugin } from '../plugin.js';
import { UserError } from '../util/errors.js';
import { splitShellWords } from '../util/shell-words.js';
import { randomSeed } from '../util/prng.js';
import { dropIfEmpty, newGradeDir } from './kept.js';
import { runTest, type GradeTarget, type TestResult } from './runner.js';
import type { LabSpec, LabTest } from './spec.js';

export const repeat_max = 1000;

export interface GradeOptions {
  bin?: string;
  reference?: boolean;
  seed?: number;
  only?: string;
  repeat: number;
  /** Stop at the first failed test run; the tests after it are not run. */
  bail?: boolean;
  /** How the user ran dslab ("dslab", "npx dslab", …), so replay commands can be pasted as they are. */
  program?: string;
  /** Whose implementation this is, for reports and the kept folder's name (default: see submissionName). */
  submission?: string;
  /** Where kept grade folders go (default: .dslab/grade). */
  grade_home?: string;
}

export interface LabResult {
  lab: string;
  title: string;
  /** Whose implementation was graded: the JUnit suite's name, and each summary line's. */
  submission: string;
  target: string;
  score: number;
  max_score: number;
  /** Every test run, in order (with --repeat, each test several times). */
  results: TestResult[];
  /** Tests not run because --bail stopped at a failure (they score 0). */
  not_run: string[];
  elapsed_ms: number;
}

export interface GradeProgress {
  /** The options are valid and these tests will run (in this order). */
  onStart(tests: readonly string[]): void;
  onTestStart(test: string, run: number, of: number): void;
  onTestEnd(result: TestResult): void;
}

/**
 * What a lab is graded against: the command to run, and the lab's reference
 * system (its plugin, from src/registry.ts; undefined when dslab has no such
 * system), whose roles judge the nodes and whose schema checks the tests' options.
 */
export function gradeTarget(lab: LabSpec, reference_system: SystemPlugin | undefined, options: GradeOptions): GradeTarget {
  // Grading nothing must not quietly grade the reference: a CI script would take its full marks for a student's.
  const reference = options.reference === true;
  const bin = options.bin !== undefined;
  if (!reference && !bin) throw new UserError(`nothing to grade: give --bin CMD (the command that runs one node of your implementation) or --reference (dslab's own)`);
  if (reference && bin) throw new UserError('give --bin CMD or --reference, not both');
  const program = options.program ?? 'dslab';
  if (!reference_system) throw new UserError(`lab ${lab.id} names reference system "${lab.reference}", which dslab does not have`);
  checkLabOptions(lab, reference_system);
  const view = systemView(reference_system);
  const graded = reference_system.groups.find((g) => g.name === lab.graded_group);
  // loadLab resolved and checked graded_group against this system's groups.
  if (!graded?.program) throw new UserError(`lab ${lab.id}: reference system ${reference_system.name} has no program group "${lab.graded_group ?? ''}" to grade`);
  // null: the reference, each graded group running its own program.
  let command: string[] | null;
  let replay_flag: string;
  if (options.bin !== undefined) {
    command = splitShellWords(options.bin, '--bin');
    if (command.length === 0) throw new UserError('--bin is empty: give the command that runs one node, like "python3 node.py"');
    replay_flag = `--bin ${JSON.stringify(options.bin)}`;
  } else {
    command = null;
    replay_flag = '--reference';
  }
  const groups = new Map(lab.tests.map((test, index) => [test.name, testGroups(lab, reference_system, graded.name, test, index, command)]));
  return { groups, graded_group: graded.name, replay_flag, program, view, ...(reference_system.workload_groups ? { workload_groups: { ...reference_system.workload_groups } } : {}) };
}

/**
 * The groups one test's cluster runs: the reference system's (for the test's
 * options), each with the count the test gives it or the one `up` would, and
 * the graded group with `nodes` members running `command`.
 */
export function testGroups(lab: LabSpec, system: SystemPlugin, graded: string, test: LabTest, index: number, command: readonly string[] | null): GroupConfig[] {
  const where = `${path.join(lab.dir, 'spec.json')}: tests.${index} (${test.name})`;
  const chosen = system.groupsFor ? system.groupsFor(test.options ?? {}) : system.groups;
  const runs = chosen.map((g) => g.name).join(', ');
  if (!chosen.some((g) => g.name === graded)) throw new UserError(`${where}: with these options system ${system.name} runs no group ${graded}, the lab's graded group (it runs ${runs})`);
  const unused = Object.keys(test.groups ?? {}).find((name) => !chosen.some((g) => g.name === name));
  if (unused) throw new UserError(`${where}: groups.${unused}: with these options system ${system.name} runs no group ${unused} (it runs ${runs})`);
  return chosen.map((group) => {
    if (group.name === graded) return groupConfig(group, test.nodes, command ?? undefined);
    const count = test.groups?.[group.name] ?? defaultCount(system, group, where);
    return groupConfig(group, count, lab.also_graded?.includes(group.name) ? (command ?? undefined) : undefined);
  });
}

/** The count `up` gives a group when its flag is not given. */
function defaultCount(system: SystemPlugin, group: NodeGroup, where: string): number {
  if (group.count !== undefined) return group.count;
  if (group.count_flag === 'nodes') return nodes_default;
  const flag = group.count_flag === undefined ? undefined : system.flags[group.count_flag];
  const value = flag && 'default' in flag ? flag.default : undefined;
  if (typeof value === 'number') return value;
  throw new UserError(`${where}: group ${group.name} of system ${system.name} has no default count: give it in the test's "groups"`);
}

/** Every test's options must be ones the lab's reference system takes (its plugin's schema). */
export function checkLabOptions(lab: LabSpec, reference_system: SystemPlugin): void {
  for (const [index, test] of lab.tests.entries()) {
    if (test.options !== undefined) checkOptions(reference_system, test.options, `${path.join(lab.dir, 'spec.json')}: tests.${index}.options (${test.name})`);
  }
}

/** The tests a grade runs (all, or --only's), after checking --only and --repeat. */
export function selectTests(lab: LabSpec, options: Pick<GradeOptions, 'only' | 'repeat'>): LabTest[] {
  if (!Number.isInteger(options.repeat) || options.repeat < 1 || options.repeat > repeat_max) throw new UserError(`--repeat must be between 1 and ${repeat_max}`);
  const tests = options.only ? lab.tests.filter((t) => t.name === options.only) : lab.tests;
  if (tests.length === 0) throw new UserError(`lab ${lab.id} has no test "${options.only}" (tests: ${lab.tests.map((t) => t.name).join(', ')})`);
  return tests;
}

/** Runs a lab's tests in order (each --repeat times); the score counts a test's points only if every run passed. */
export async function gradeLab(lab: LabSpec, reference_system: SystemPlugin | undefined, options: GradeOptions, progress: GradeProgress): Promise<LabResult> {
  const target = gradeTarget(lab, reference_system, options);
  const tests = selectTests(lab, options);
  progress.onStart(tests.map((t) => t.name));
  const submission = options.submission ?? submissionName(options);
  const workDir = newGradeDir(options.grade_home ?? gradeHome(), lab.id, submission);
  const started = Date.now();
  const results: TestResult[] = [];
  let score = 0;
  let bailed = false;
  const notRun: string[] = [];
  try {
    for (const test of tests) {
      if (bailed) {
        notRun.push(test.name);
        continue;
      }
      let allPassed = true;
      for (let run = 0; run < options.repeat && !bailed; run++) {
        const seed = options.seed ?? randomSeed();
        progress.onTestStart(test.name, run + 1, options.repeat);
        const result = await runTest(lab, test, target, seed, workDir);
        results.push(result);
        progress.onTestEnd(result);
        allPassed &&= result.passed;
        bailed = !result.passed && options.bail === true;
      }
      if (allPassed) score += test.points;
    }
  } finally {
    // A grade whose tests all passed kept nothing: no empty folder is left behind.
    dropIfEmpty(workDir);
  }
  return {
    lab: lab.id,
    title: lab.title,
    submission,
    target: target.replay_flag,
    score,
    max_score: tests.reduce((sum, t) => sum + t.points, 0),
    results,
    not_run: notRun,
    elapsed_ms: Date.now() - started,
  };
}

/** Where kept grade folders go: .dslab/grade (see kept.ts). */
export function gradeHome(): string {
  return path.join(dslabHome(), 'grade');
}

/**
 * A submission's name when none is given: "reference" for --reference; for
 * --bin, the folder of the first file the command names that exists
 * (my-raft for "python3 my-raft/node.py"), else the program's own name.
 */
export function submissionName(options: Pick<GradeOptions, 'bin' | 'reference'>, cwd = process.cwd()): string {
  if (options.reference === true || options.bin === undefined) return 'reference';
  const words = splitShellWords(options.bin, '--bin');
  const file = words.slice(1).find((w) => existsSync(path.resolve(cwd, w))) ?? (words[0] !== undefined && existsSync(path.resolve(cwd, words[0])) ? words[0] : undefined);
  if (file !== undefined) return path.basename(path.dirname(path.resolve(cwd, file)));
  return path.basename(words[0] ?? 'submission');
}
