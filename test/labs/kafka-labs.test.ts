import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { initLab } from '../../src/lib/grade/init.js';
import { loadLab } from '../../src/lib/grade/spec.js';
import { lab_plugins } from '../../src/registry.js';
import { repo_root } from '../helpers/cli.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { expectPasses, gradingWorkdirs } from './grade-helpers.js';
import { gradeVariantShortened, type ShorterRun } from './shortened-grade.js';

// The labs of Maelstrom's kafka challenge: each test is one maelstrom_run step of the kafka workload.
// That the reference and the Python solution pass, and that the planted bugs fail.

const tempDir = tempDirs('dslab-kafka-labs-');
const kafka_labs = ['kafka-single', 'kafka-replicated', 'kafka-efficient'];
const python_solution = `python3 ${path.join(repo_root, 'labs', 'kafka-single', 'solution', 'node.py')}`;

describe('the kafka labs', () => {
  it('run the kafka workload, growing one node from kafka-single\'s starter, on one node and then on two or three', () => {
    for (const id of kafka_labs) {
      const lab = loadLab(id, lab_plugins);
      expect(lab.reference, id).toBe('kafka');
      expect(lab.workloads, id).toEqual(['kafka']);
      expect(lab.starter, id).toBe(id === 'kafka-single' ? undefined : 'kafka-single');
      for (const test of lab.tests) {
        expect(test.steps.map((s) => s.do), `${id} ${test.name}`).toEqual(['maelstrom_run']);
        expect(test.steps[0]!.workload, `${id} ${test.name}`).toBe('kafka');
        // The test outlasts its run, the wait after healing, the final polls (at most 10 s) and the start of its nodes.
        expect(test.time_limit_ms, `${id} ${test.name}`).toBeGreaterThan((test.steps[0]!.time_limit_s as number) * 1000 + 20_000);
        expect(test.nodes, `${id} ${test.name}`).toBe(id === 'kafka-single' ? 1 : test.name.startsWith('three') ? 3 : 2);
        // Past one node, a commit made at one node must be known at the other: the lab judges what Maelstrom only could.
        if (id !== 'kafka-single') expect(test.steps[0]!.judge_reported, `${id} ${test.name}`).toEqual(['committed-lost']);
      }
    }
    expect(loadLab('kafka-efficient', lab_plugins).tests.map((t) => t.steps[0]!.msgs_per_op_max)).toEqual([8, 8]);
    expect(loadLab('kafka-replicated', lab_plugins).tests.find((t) => t.name === 'restarts')!.steps[0]!.nemesis).toEqual(['kill']);
  });

  it('give every kafka step the same starter, with that step\'s README beside it', () => {
    const first = initLab('kafka-single', 'python', path.join(tempDir(), 'single'), lab_plugins);
    const last = initLab('kafka-efficient', 'python', path.join(tempDir(), 'efficient'), lab_plugins);
    expect(readFileSync(path.join(last.dir, 'node.py'), 'utf8')).toBe(readFileSync(path.join(first.dir, 'node.py'), 'utf8'));
    expect(readFileSync(path.join(first.dir, 'README.md'), 'utf8')).toMatch(/^# Kafka 1: one node\n/);
    expect(readFileSync(path.join(last.dir, 'README.md'), 'utf8')).toMatch(/^# Kafka 3: efficiency\n/);
    expect(readFileSync(path.join(first.dir, 'labs', 'kafka-replicated', 'README.md'), 'utf8')).toMatch(/^# Kafka 2: several nodes on lin-kv\n/);
  });
});

/**
 * Each planted bug, the test it must fail and what the failure must say. Each shows in every second of its test's
 * run (a poll, a pair of sends, an assign at the other node, a poll's cost), so the case grades that run cut to
 * `shorter` (shortened-grade.ts).
 */
const planted_bugs: { lab: string; variant: string; test: string; failure: RegExp; shorter: ShorterRun }[] = [
  { lab: 'kafka-single', variant: 'poll-skips', test: 'one-node', failure: /\d+ (lost writes?|polls? that skipped offsets)\b/, shorter: { time_limit_s: 2 } },
  { lab: 'kafka-single', variant: 'poll-reorders', test: 'one-node', failure: /\d+ polls? whose offsets went backwards/, shorter: { time_limit_s: 2 } },
  { lab: 'kafka-replicated', variant: 'blind-append', test: 'two-nodes', failure: /\d+ inconsistent offsets?\b/, shorter: { time_limit_s: 3 } },
  { lab: 'kafka-replicated', variant: 'commits-in-memory', test: 'two-nodes', failure: /judged by this lab: \d+ committed-lost: c\d+'s assign at [\d.]+ s was told nothing was committed on key "\w+", but a commit of it had been acknowledged/, shorter: { time_limit_s: 3 } },
  // A poll's cost grows with its key's log: half the run keeps it well over the budget.
  { lab: 'kafka-efficient', variant: 'msg-per-key', test: 'two-nodes-frugal', failure: /over budget: [\d.]+ messages per operation between servers \(budget: below 8\)/, shorter: { time_limit_s: 5 } },
];

// Each grading runs its workload for 2 to 10 s, then waits and polls: they run side by side (vitest's maxConcurrency),
// the full-length ones first, so that none of them is left to run alone at the end.
describe.concurrent('dslab grade on the kafka labs', () => {
  const workdir = gradingWorkdirs();
  const passes = (lab: string, only: string, ...target: string[]) => expectPasses(workdir(), lab, only, ...target);

  it('gives the reference full marks through restarts: nothing it knows lives only in a node', async () => {
    await passes('kafka-replicated', 'restarts', '--reference');
  }, 180_000);

  it('gives the reference full marks within the message budget on three nodes', async () => {
    await passes('kafka-efficient', 'three-nodes-frugal', '--reference');
  }, 180_000);

  it('gives the Python solution full marks on two nodes within the message budget', async () => {
    await passes('kafka-efficient', 'two-nodes-frugal', '--bin', python_solution);
  }, 180_000);

  it.each([...planted_bugs].sort((a, b) => b.shorter.time_limit_s - a.shorter.time_limit_s))('fails the planted bug $lab/$variant on $test', async ({ lab, variant, test, failure, shorter }) => {
    const { failed, bin } = await gradeVariantShortened(workdir(), lab, variant, test, shorter);
    expect(failed.failure).toMatch(failure);
    expect(failed.replay).toBe(`dslab grade ${lab} --bin ${JSON.stringify(bin)} --only ${test} --seed 7`);
  }, 180_000);
});
