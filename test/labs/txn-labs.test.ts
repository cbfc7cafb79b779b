import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLab } from '../../src/lib/grade/spec.js';
import { lab_plugins } from '../../src/registry.js';
import { repo_root } from '../helpers/cli.js';
import { expectPasses, gradingWorkdirs } from './grade-helpers.js';
import { gradeVariantShortened, type ShorterRun } from './shortened-grade.js';

// The labs of Maelstrom's transaction challenges: each test is one txn-rw-register maelstrom_run judged
// against a consistency model with total availability. That the right things pass, and that their
// planted bugs fail with the checker's words for the anomaly each one causes.

const python_solution = `python3 ${path.join(repo_root, 'labs', 'txn-uncommitted', 'solution', 'node.py')}`;

describe('the transaction labs', () => {
  it('run txn-rw-register on one starter, read-uncommitted then read-committed, every transaction required to succeed', () => {
    for (const [id, model] of [['txn-uncommitted', 'read-uncommitted'], ['txn-committed', 'read-committed']] as const) {
      const lab = loadLab(id, lab_plugins);
      expect(lab.workloads, id).toEqual(['txn-rw-register']);
      expect(lab.starter, id).toBe(id === 'txn-committed' ? 'txn-uncommitted' : undefined);
      for (const test of lab.tests) {
        expect(test.steps, `${id} ${test.name}`).toMatchObject([{ do: 'maelstrom_run', workload: 'txn-rw-register', consistency_models: [model], availability: 'total' }]);
        // The test outlasts its run, its checking and the start of its nodes.
        expect(test.time_limit_ms, `${id} ${test.name}`).toBeGreaterThan((test.steps[0]!.time_limit_s as number) * 1000 + 20_000);
      }
    }
    expect(loadLab('txn-uncommitted', lab_plugins).tests.map((t) => t.nodes)).toEqual([1, 2, 2]);
    expect(loadLab('txn-committed', lab_plugins).tests.every((t) => t.nodes === 3)).toBe(true);
  });
});

/**
 * Each planted-bug variant of these labs, with the test it must fail and the anomaly the checker must name. Each
 * anomaly comes of every few racing transactions, so the case grades its test's run cut to `shorter`
 * (shortened-grade.ts): a few hundred transactions.
 */
const planted_bugs: { lab: string; variant: string; test: string; failure: RegExp; shorter: ShorterRun }[] = [
  { lab: 'txn-uncommitted', variant: 'waits-between-writes', test: 'two-nodes', failure: /read-uncommitted is ruled out by G0\b/, shorter: { time_limit_s: 4 } },
  { lab: 'txn-committed', variant: 'writes-one-by-one', test: 'three-nodes', failure: /read-committed is ruled out by (G0, )?(G1a, )?G1b\b/, shorter: { time_limit_s: 3 } },
  { lab: 'txn-committed', variant: 'aborted-writes-stay', test: 'three-nodes', failure: /read-committed is ruled out by (G0, )?G1a\b.*; \d+(\.\d+)?% of operations succeeded; every one must/, shorter: { time_limit_s: 3 } },
];

// Each grading runs its workload for 3 to 10 s and then checks the history: they run side by side (vitest's
// maxConcurrency), one grading a case, the full-length ones first so that none is left to run alone at the end.
describe('dslab grade on the transaction labs', () => {
  // A folder per grading, so side-by-side runs never share kept folders.
  const workdir = gradingWorkdirs();
  const passes = (lab: string, only: string, ...target: string[]) => expectPasses(workdir(), lab, only, ...target);

  describe.concurrent('side by side', () => {
    it('gives the reference full marks where the network breaks: two nodes read-uncommitted', async () => {
      await passes('txn-uncommitted', 'partitions', '--reference');
    }, 180_000);

    it('gives the reference full marks where the network breaks: three nodes read-committed', async () => {
      await passes('txn-committed', 'partitions', '--reference');
    }, 180_000);

    it('gives the Python solution full marks on read-committed through partitions', async () => {
      await passes('txn-committed', 'partitions', '--bin', python_solution);
    }, 180_000);

    it.each([...planted_bugs].sort((a, b) => b.shorter.time_limit_s - a.shorter.time_limit_s))('fails the planted bug $lab/$variant on $test', async ({ lab, variant, test, failure, shorter }) => {
      const { failed, bin } = await gradeVariantShortened(workdir(), lab, variant, test, shorter);
      expect(failed.failure).toMatch(failure);
      expect(failed.replay).toBe(`dslab grade ${lab} --bin ${JSON.stringify(bin)} --only ${test} --seed 7`);
    }, 180_000);
  });
});
