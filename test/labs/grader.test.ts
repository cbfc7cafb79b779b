import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Grade from '../../src/commands/grade.js';
import { listLabIds, loadLab } from '../../src/lib/grade/spec.js';
import { lab_plugins } from '../../src/registry.js';
import { cleanup, type CliResult, dslab, fixture_node, makeWorkdir, repo_root } from '../helpers/cli.js';
import { grade, type GradeJson, no_npm, startGradings, under_npx } from './grade-helpers.js';

const fixture = (name: string) => `node ${path.join(repo_root, 'test', 'fixtures', name)}`;

describe('lab specs', () => {
  it('every shipped lab loads, with unique test names and points', () => {
    const ids = listLabIds();
    expect(ids).toEqual(['echo', 'unique-ids', 'broadcast-single', 'broadcast-multi', 'broadcast-partitions', 'broadcast-efficiency', 'g-counter', 'kafka-single', 'kafka-replicated', 'kafka-efficient', 'txn-uncommitted', 'txn-committed', 'raft-election', 'raft-replication', 'raft-persistence', 'raft-snapshots', 'kv-linearizable', 'zab-election', 'zab-broadcast', 'zk-sessions', 'snowflake', 'locks', 'circuit-breaker']);
    for (const id of ids) {
      const lab = loadLab(id, lab_plugins);
      expect(lab.tests.length).toBeGreaterThan(0);
      expect(lab.tests.every((t) => t.points > 0)).toBe(true);
    }
  });

  it('names what is wrong in a bad spec', () => {
    const dir = makeWorkdir();
    mkdirSync(path.join(dir, 'broken'));
    writeFileSync(path.join(dir, 'broken', 'spec.json'), JSON.stringify({ id: 'broken', title: 't', summary: 's', reference: 'raft', tests: [{ name: 'x', description: 'd', points: 1, nodes: 3, time_limit_ms: 5000, steps: [{ do: 'teleport' }] }] }));
    try {
      expect(() => loadLab('broken', lab_plugins, dir)).toThrow(/spec\.json: tests\.0\.steps\.0\.do: /);
      expect(() => loadLab('nope', lab_plugins, dir)).toThrow(/no lab named "nope"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("every example in dslab grade --help names a lab and a test that exist", () => {
    expect(Grade.examples.length).toBeGreaterThan(0);
    for (const example of Grade.examples as string[]) {
      for (const flag of example.match(/--[a-z]+/g) ?? []) expect(Object.keys(Grade.flags), example).toContain(flag.slice(2));
      // Only --clean names no lab.
      const lab = /grade ([a-z0-9][a-z0-9-]*)/.exec(example)?.[1];
      if (lab === undefined) {
        expect(example, example).toMatch(/grade --clean$/);
        continue;
      }
      expect(listLabIds(), example).toContain(lab);
      const only = /--only (\S+)/.exec(example)?.[1];
      if (only) expect(loadLab(lab, lab_plugins).tests.map((t) => t.name), example).toContain(only);
    }
  });
});

// Independent runs, each grading a different lab (so their kept folders differ): side by side.
describe.concurrent('dslab grade on first contact', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = makeWorkdir();
  });
  afterAll(async () => {
    await cleanup(cwd);
  });

  it('refuses to grade without --bin or --reference, in one line, instead of grading the reference', async () => {
    const run = await grade(cwd, no_npm, 'echo');
    expect(run.exitCode).toBe(1);
    expect(run.stderr.trim()).toMatch(/^dslab: nothing to grade: give --bin CMD .* or --reference \(dslab's own\)$/);
    expect(run.stdout).toBe('');
  });

  it('has no --cluster flag (a grade starts its own clusters)', async () => {
    const run = await grade(cwd, no_npm, 'echo', '--reference', '--cluster', 'x');
    expect(run.exitCode).toBe(1);
    expect(run.stderr.trim()).toBe('dslab: grade has no --cluster (dslab grade --help lists its flags)');
  });

  it('names a node that prints a line that is not JSON, stops there with --bail, and replays as dslab even when run by npx', async () => {
    const bin = fixture('hello-node.mjs');
    const run = await grade(cwd, under_npx, 'echo', '--bin', bin, '--bail', '--json', '--seed', '3');
    expect(run.exitCode).toBe(1);
    const result = JSON.parse(run.stdout) as GradeJson;
    expect(result.results.map((r) => r.test)).toEqual(['answers-init']);
    expect(result.not_run).toEqual(['echoes-payload', 'every-node-echoes']);
    const [failed] = result.results;
    // The start fails on the line itself, which is quoted once.
    expect(failed!.failure).toMatch(/^the cluster did not start: n1 printed a line that is not JSON instead of answering init: hello from my node, ready to serve \(stdout carries only protocol messages/);
    expect(failed!.failure.split('hello from my node')).toHaveLength(2);
    expect(failed!.replay).toBe(`dslab grade echo --bin ${JSON.stringify(bin)} --only answers-init --seed 3`);
  });

  it('passes kv-linearizable on answers alone: a correct lin-kv store that sends no state reports, with its leader killed', async () => {
    // one-hot-key starts its workload once a write succeeds and kills the node that answered the latest write.
    const run = await grade(cwd, no_npm, 'kv-linearizable', '--bin', fixture('raft-no-reports.mjs'), '--only', 'one-hot-key', '--json');
    const result = JSON.parse(run.stdout) as GradeJson;
    expect(result.results.map((r) => r.failure)).toEqual([null]);
    expect(result.score).toBe(result.max_score);
    expect(run.exitCode).toBe(0);
  }, 120_000);

  it('says a node that answers init and then nothing sent no messages and no state reports', async () => {
    const run = await grade(cwd, no_npm, 'raft-election', '--bin', `node ${fixture_node}`, '--only', 'initial-election', '--json');
    const [failed] = (JSON.parse(run.stdout) as GradeJson).results;
    expect(failed!.failure).toMatch(/^step 1 \(wait_leader\): no leader within 10000 ms; likely cause: /);
    expect(failed!.cause).toBe(`no node sent any message to another node; n1..n3 sent no dslab_state reports, and this test needs them (see "State reports" in: dslab lab show raft-election)`);
  }, 120_000);
});

// Each in its own folder: side by side.
describe.concurrent('dslab lab init', () => {
  it('copies the starter, sharing one Raft skeleton across the Raft labs, and points TypeScript at the runtime', async () => {
    const cwd = makeWorkdir();
    try {
      const python = await dslab(cwd, 'lab', 'init', 'raft-snapshots', 'mine', '--lang', 'python');
      expect(python.exitCode, python.stderr).toBe(0);
      expect(python.stdout).toContain('dslab grade raft-snapshots --bin "python3 mine/node.py"');
      const election = await dslab(cwd, 'lab', 'init', 'raft-election', 'election', '--lang', 'python');
      expect(election.exitCode, election.stderr).toBe(0);
      expect(readFileSync(path.join(cwd, 'mine', 'node.py'), 'utf8')).toBe(readFileSync(path.join(cwd, 'election', 'node.py'), 'utf8'));
      const ts = await dslab(cwd, 'lab', 'init', 'echo', 'echo-ts', '--lang', 'ts');
      expect(ts.exitCode, ts.stderr).toBe(0);
      const source = readFileSync(path.join(cwd, 'echo-ts', 'node.ts'), 'utf8');
      expect(source).not.toContain('__DSLAB_RUNTIME__');
      expect(source).toContain(`file://${path.join(repo_root, 'dist', 'lib', 'runtime', 'node.js')}`);
      const again = await dslab(cwd, 'lab', 'init', 'echo', 'echo-ts');
      expect(again.exitCode).toBe(1);
      expect(again.stderr.trim()).toBe('dslab: echo-ts already exists and is not empty');
    } finally {
      await cleanup(cwd);
    }
  });

  it('gives the Python warm-up solutions full marks through the starters\' plumbing', async () => {
    const cwd = makeWorkdir();
    try {
      // The two labs side by side: each grading keeps its folders under its own lab's name.
      const runs = await Promise.all(['echo', 'unique-ids'].map((lab) => dslab(cwd, 'grade', lab, '--bin', `python3 ${path.join(repo_root, 'labs', lab, 'solution', 'node.py')}`, '--json')));
      for (const run of runs) {
        const result = JSON.parse(run.stdout) as GradeJson;
        expect(result.score, JSON.stringify(result.results.filter((r) => !r.passed))).toBe(result.max_score);
      }
    } finally {
      await cleanup(cwd);
    }
  }, 120_000);
});

// Each reference grading is mostly waiting (elections, timeouts, session expiry): they start from the file's first
// hook, each in its own folder, and run while the tests above do; each test below judges its own grading. The longest
// first, so the short ones fill in.
const reference_labs = ['zab-broadcast', 'zk-sessions', 'zab-election', 'raft-election', 'unique-ids', 'echo'];
/** Reference gradings at once: three of the six, as before (each mostly waits for elections and timeouts; the suite runs another file beside this one). */
const reference_gradings_max = 3;
const reference_workdirs: string[] = [];
let reference_gradings: Map<string, Promise<CliResult>>;
beforeAll(() => {
  reference_gradings = startGradings(reference_labs, reference_gradings_max, (lab) => {
    const cwd = makeWorkdir();
    reference_workdirs.push(cwd);
    return dslab(cwd, 'grade', lab, '--reference', '--json');
  });
});
afterAll(async () => {
  // Every grading has ended before its folder goes, even one whose test failed first.
  await Promise.allSettled(reference_gradings.values());
  for (const dir of reference_workdirs) await cleanup(dir);
});

describe('dslab grade gives the reference full marks', () => {
  it.each(reference_labs)('on %s', async (lab) => {
    const run = await reference_gradings.get(lab)!;
    const result = JSON.parse(run.stdout) as GradeJson;
    expect(result.results.filter((r) => !r.passed).map((r) => `${r.test}: ${r.failure}`)).toEqual([]);
    expect(result.score).toBe(result.max_score);
    expect(run.exitCode).toBe(0);
  }, 240_000);
});
