import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listLabIds, loadLab } from '../../src/lib/grade/spec.js';
import { cleanup, dslab, makeWorkdir, repo_root } from '../helpers/cli.js';

interface GradeJson {
  score: number;
  max_score: number;
  results: { test: string; passed: boolean; failure: string | null; replay: string; kept_dir: string | null; seed: number }[];
}

/** Each planted-bug variant of a reference, with a test it must fail and what the failure must say. */
const planted_bugs: { lab: string; variant: string; test: string; failure: RegExp }[] = [
  { lab: 'echo', variant: 'wrong-payload', test: 'echoes-payload', failure: /echoed "HELLO|echoed ".*!" for/ },
  { lab: 'unique-ids', variant: 'counter-restarts', test: 'unique-across-restarts', failure: /was handed out twice/ },
  { lab: 'raft-election', variant: 'no-prevote-no-checkquorum', test: 'rejoining-node-does-not-disrupt', failure: /was disrupted/ },
  { lab: 'raft-replication', variant: 'commit-without-majority', test: 'no-commit-without-majority', failure: /acknowledged write x although it cannot reach a majority|two leaders in term/ },
  { lab: 'raft-replication', variant: 'votes-for-stale-logs', test: 'stale-log-cannot-lead', failure: /read [xy] returned null, expected [12]|applied different|a committed entry never differs/ },
  { lab: 'raft-persistence', variant: 'term-not-persisted', test: 'restart-all-nodes', failure: /crashed|went backwards|two leaders/ },
  { lab: 'raft-persistence', variant: 'commits-old-terms-by-counting', test: 'figure-8-scripted', failure: /raft invariant broken: (committed entries match the leader's|a committed entry never differs)|applied different/ },
  { lab: 'raft-snapshots', variant: 'never-compacts', test: 'compaction-bounds-data-dir', failure: /data directory holds \d+ bytes, over 50000/ },
  { lab: 'raft-snapshots', variant: 'ignores-install-snapshot', test: 'install-snapshot-to-lagging-follower', failure: /did not catch up/ },
  { lab: 'kv-linearizable', variant: 'cas-ignores-from', test: 'healthy-cluster', failure: /not linearizable on key/ },
];

describe('lab specs', () => {
  it('every shipped lab loads, with unique test names and points', () => {
    const ids = listLabIds();
    expect(ids).toEqual(['echo', 'unique-ids', 'raft-election', 'raft-replication', 'raft-persistence', 'raft-snapshots', 'kv-linearizable']);
    for (const id of ids) {
      const lab = loadLab(id);
      expect(lab.tests.length).toBeGreaterThan(0);
      expect(lab.tests.every((t) => t.points > 0)).toBe(true);
    }
  });

  it('names what is wrong in a bad spec', () => {
    const dir = makeWorkdir();
    mkdirSync(path.join(dir, 'broken'));
    writeFileSync(path.join(dir, 'broken', 'spec.json'), JSON.stringify({ id: 'broken', title: 't', summary: 's', reference: 'raft', tests: [{ name: 'x', description: 'd', points: 1, nodes: 3, time_limit_ms: 5000, steps: [{ do: 'teleport' }] }] }));
    try {
      expect(() => loadLab('broken', dir)).toThrow(/spec\.json: tests\.0\.steps\.0\.do: /);
      expect(() => loadLab('nope', dir)).toThrow(/no lab named "nope"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('dslab grade', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = makeWorkdir();
  });
  afterAll(async () => {
    await cleanup(cwd);
  });

  it('gives the reference full marks on the warm-ups and on leader election', async () => {
    for (const lab of ['echo', 'unique-ids', 'raft-election']) {
      const run = await dslab(cwd, 'grade', lab, '--reference', '--json');
      const result = JSON.parse(run.stdout) as GradeJson;
      expect(result.results.filter((r) => !r.passed).map((r) => `${r.test}: ${r.failure}`)).toEqual([]);
      expect(result.score).toBe(result.max_score);
      expect(run.exitCode).toBe(0);
    }
  }, 240_000);

  it.each(planted_bugs)('fails the planted bug $lab/$variant on $test', async ({ lab, variant, test, failure }) => {
    const bin = `node ${path.join(repo_root, 'labs', lab, 'variants', `${variant}.mjs`)}`;
    const junit = path.join(cwd, `${lab}-${variant}.xml`);
    const html = path.join(cwd, `${lab}-${variant}.html`);
    const run = await dslab(cwd, 'grade', lab, '--bin', bin, '--only', test, '--seed', '7', '--json', '--junit', junit, '--html', html);
    expect(run.exitCode).toBe(1);
    const result = JSON.parse(run.stdout) as GradeJson;
    const failed = result.results.find((r) => r.test === test)!;
    expect(failed.passed).toBe(false);
    expect(failed.failure).toMatch(failure);
    expect(failed.seed).toBe(7);
    expect(failed.replay).toBe(`dslab grade ${lab} --bin ${JSON.stringify(bin)} --only ${test} --seed 7`);
    // The evidence is kept for the student, and the reports say the same.
    expect(readFileSync(path.join(failed.kept_dir!, 'cluster', 'logs', 'n1.log'), 'utf8')).toContain('starting n1');
    // ...for the student alone: data, logs and trace are not readable by other users.
    for (const dir of [path.dirname(failed.kept_dir!), failed.kept_dir!, path.join(failed.kept_dir!, 'cluster')]) expect(statSync(dir).mode & 0o777, dir).toBe(0o700);
    expect(readFileSync(junit, 'utf8')).toMatch(new RegExp(`<testcase classname="${lab}" name="${test} \\(seed 7\\)"[^>]*>\\s*<failure message=`));
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<span class="fail">failed</span>');
    expect(page).toContain('<svg');
  }, 120_000);
});

describe('dslab lab init', () => {
  it('copies the starter, sharing one Raft skeleton across the Raft labs, and points TypeScript at the runtime', async () => {
    const cwd = makeWorkdir();
    try {
      const python = await dslab(cwd, 'lab', 'init', 'raft-snapshots', 'mine', '--lang', 'python');
      expect(python.exitCode, python.stderr).toBe(0);
      expect(python.stdout).toContain('dslab grade raft-snapshots --bin "python3 mine/node.py"');
      expect(readFileSync(path.join(cwd, 'mine', 'node.py'), 'utf8')).toBe(readFileSync(path.join(repo_root, 'labs', 'raft-election', 'starter', 'python', 'node.py'), 'utf8'));
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
      for (const lab of ['echo', 'unique-ids']) {
        const run = await dslab(cwd, 'grade', lab, '--bin', `python3 ${path.join(repo_root, 'labs', lab, 'solution', 'node.py')}`, '--json');
        const result = JSON.parse(run.stdout) as GradeJson;
        expect(result.score, JSON.stringify(result.results.filter((r) => !r.passed))).toBe(result.max_score);
      }
    } finally {
      await cleanup(cwd);
    }
  }, 120_000);
});
