import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { initLab } from '../../src/lib/grade/init.js';
import { loadLab } from '../../src/lib/grade/spec.js';
import { lab_plugins } from '../../src/registry.js';
import { repo_root } from '../helpers/cli.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { expectPasses, gradeVariant, gradingWorkdirs } from './grade-helpers.js';
import { gradeVariantShortened, type ShorterRun } from './shortened-grade.js';

// The labs of Maelstrom's broadcast and grow-only counter challenges: each test is one maelstrom_run step.
// That the right things pass, and that their planted bugs fail.

const tempDir = tempDirs('dslab-maelstrom-labs-');
const broadcast_labs = ['broadcast-single', 'broadcast-multi', 'broadcast-partitions', 'broadcast-efficiency'];
const python_solution = (lab: string) => `python3 ${path.join(repo_root, 'labs', lab, 'solution', 'node.py')}`;

describe('the Maelstrom challenge labs', () => {
  it("run the challenge's workloads, the broadcast steps growing one node from broadcast-single's starter", () => {
    for (const id of [...broadcast_labs, 'g-counter']) {
      const lab = loadLab(id, lab_plugins);
      expect(lab.workloads, id).toEqual([id === 'g-counter' ? 'g-counter' : 'broadcast']);
      for (const test of lab.tests) {
        expect(test.steps.map((s) => s.do), `${id} ${test.name}`).toEqual(['maelstrom_run']);
        // The test outlasts its run, the final heal's 10 s wait and the start of its nodes.
        expect(test.time_limit_ms, `${id} ${test.name}`).toBeGreaterThan((test.steps[0]!.time_limit_s as number) * 1000 + 20_000);
      }
      expect(lab.starter, id).toBe(broadcast_labs.includes(id) && id !== 'broadcast-single' ? 'broadcast-single' : undefined);
    }
    expect(loadLab('broadcast-partitions', lab_plugins).tests.every((t) => (t.steps[0]!.nemesis as string[]).includes('partition'))).toBe(true);
  });

  it("set broadcast-efficiency's budgets as the challenge does: 25 nodes, 100 ms, 100 requests/s, 20 s; below 30 msgs/op and 400/600 ms, then below 20 and 1 s/2 s", () => {
    const lab = loadLab('broadcast-efficiency', lab_plugins);
    const runs = lab.tests.map((t) => ({ test: t.name, nodes: t.nodes, ...t.steps[0] }));
    const setting = { nodes: 25, do: 'maelstrom_run', workload: 'broadcast', time_limit_s: 20, rate: 100, latency_ms: 100, nemesis: [] };
    expect(runs).toMatchObject([
      { test: 'fast', ...setting, msgs_per_op_max: 30, stable_latency_ms_median_max: 400, stable_latency_ms_max_max: 600 },
      { test: 'frugal', ...setting, msgs_per_op_max: 20, stable_latency_ms_median_max: 1000, stable_latency_ms_max_max: 2000 },
    ]);
  });

  it('give every broadcast step the same starter, with that step\'s README beside it', () => {
    const first = initLab('broadcast-single', 'python', path.join(tempDir(), 'single'), lab_plugins);
    const last = initLab('broadcast-efficiency', 'python', path.join(tempDir(), 'efficiency'), lab_plugins);
    expect(readFileSync(path.join(last.dir, 'node.py'), 'utf8')).toBe(readFileSync(path.join(first.dir, 'node.py'), 'utf8'));
    expect(readFileSync(path.join(last.dir, 'README.md'), 'utf8')).toMatch(/^# Broadcast 4: efficiency\n/);
    // The other steps' READMEs come along, as the starter's comments say.
    expect(readFileSync(path.join(first.dir, 'labs', 'broadcast-multi', 'README.md'), 'utf8')).toMatch(/^# Broadcast 2: many nodes\n/);
  });
});

/**
 * Each planted-bug variant of these labs, with the test it must fail and what the failure must say: each test is one
 * maelstrom_run, failed with its checker's verdict or the lab's budget. `shorter`: the bug shows in every few seconds
 * of that run (a broadcast lost across a partition, adds lost or counted twice, messages or latency per operation), so
 * the case grades the test's run cut to this length (shortened-grade.ts); the one without it is graded as it is, by the CLI.
 */
const planted_bugs: { lab: string; variant: string; test: string; failure: RegExp; shorter?: ShorterRun }[] = [
  { lab: 'broadcast-single', variant: 'needs-own-entry', test: 'one-node-no-neighbours', failure: /topology on n1 .*Cannot read properties of undefined/ },
  // Partitions at about 2 s and 4 s (every 2 s, as the test's), each cutting some broadcasts' only flood.
  { lab: 'broadcast-partitions', variant: 'gossip-once', test: 'partitions', failure: /\d+ of \d+ broadcasts were lost/, shorter: { time_limit_s: 6, recovery_wait_s: 3 } },
  // About 5 s at 100 requests/s on 25 nodes: the per-operation costs are those of the whole 20 s.
  { lab: 'broadcast-efficiency', variant: 'resend-on-read', test: 'frugal', failure: /over budget: [\d.]+ messages per operation between servers \(budget: below 20\)/, shorter: { time_limit_s: 5 } },
  { lab: 'broadcast-efficiency', variant: 'slow-batches', test: 'fast', failure: /over budget: .*median stable latency [\d.]+m?s \(budget: below 400ms\)/, shorter: { time_limit_s: 5 } },
  // A partition and a heal with adds after it (the catch-up that counts twice), then the final heal.
  { lab: 'g-counter', variant: 'counts-twice-after-heal', test: 'partitions', failure: /final reads? (is|are) not a total the adds allow/, shorter: { time_limit_s: 6, recovery_wait_s: 3 } },
  // Three nodes adding at 100/s: a node that never rereads, or writes blindly, loses others' adds within a second.
  { lab: 'g-counter', variant: 'trusts-first-read', test: 'three-nodes', failure: /final reads? (is|are) not a total the adds allow/, shorter: { time_limit_s: 3, recovery_wait_s: 2 } },
  { lab: 'g-counter', variant: 'blind-write', test: 'three-nodes', failure: /final reads? (is|are) not a total the adds allow/, shorter: { time_limit_s: 3, recovery_wait_s: 2 } },
];

// Each grading runs its workload for 5 to 20 s and waits after the final heal, mostly idle: they run side by side
// (vitest's maxConcurrency). The one that must meet latency budgets runs alone, after them.
describe('dslab grade on the Maelstrom challenge labs', () => {
  const workdir = gradingWorkdirs();
  const passes = (lab: string, only: string, ...target: string[]) => expectPasses(workdir(), lab, only, ...target);

  describe.concurrent('side by side', () => {
    // One grading a test, so that all of them share the side-by-side slots rather than two running one after the other;
    // the longest first (these four, 10 s workloads with a 10 s wait after the final heal, then the planted bugs by
    // the length of their runs), so that none of them is left to run alone at the end.
    it('gives the reference full marks where the network breaks: broadcast over a partitioned line', async () => {
      await passes('broadcast-partitions', 'partitions-line', '--reference');
    }, 180_000);

    it('gives the reference full marks where the network breaks: the counter through partitions', async () => {
      await passes('g-counter', 'partitions', '--reference');
    }, 180_000);

    // (The broadcast solution on the 25-node frugal test is left to a hand run: the reference covers the budgets below.)
    it('gives the Python solutions full marks: the broadcast node through partitions', async () => {
      await passes('broadcast-partitions', 'partitions', '--bin', python_solution('broadcast-single'));
    }, 180_000);

    it('gives the Python solutions full marks: the seq-kv counter through partitions', async () => {
      await passes('g-counter', 'partitions', '--bin', python_solution('g-counter'));
    }, 180_000);

    const run_s = ({ lab, test, shorter }: (typeof planted_bugs)[number]) => shorter?.time_limit_s ?? (loadLab(lab, lab_plugins).tests.find((t) => t.name === test)!.steps[0]!.time_limit_s as number);
    it.each([...planted_bugs].sort((a, b) => run_s(b) - run_s(a)))('fails the planted bug $lab/$variant on $test', async ({ lab, variant, test, failure, shorter }) => {
      const { failed, bin } = shorter ? await gradeVariantShortened(workdir(), lab, variant, test, shorter) : await gradeVariant(workdir(), lab, variant, test);
      expect(failed.failure).toMatch(failure);
      expect(failed.replay).toBe(`dslab grade ${lab} --bin ${JSON.stringify(bin)} --only ${test} --seed 7`);
    }, 180_000);
  });

  it("gives the reference broadcast full marks on the efficiency lab's fast test: 25 nodes at 100 ms within 30 msgs/op and 400/600 ms", async () => {
    await passes('broadcast-efficiency', 'fast', '--reference');
  }, 180_000);
});
