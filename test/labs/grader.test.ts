import { execa } from 'execa';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Grade from '../../src/commands/grade.js';
import { listLabIds, loadLab } from '../../src/lib/grade/spec.js';
import { lab_plugins } from '../../src/registry.js';
import { cleanup, cli_path, dslab, type CliResult, fixture_node, makeWorkdir, repo_root } from '../helpers/cli.js';

interface GradeJson {
  score: number;
  max_score: number;
  not_run: string[];
  results: { test: string; passed: boolean; failure: string | null; cause: string | null; replay: string; kept_dir: string | null; seed: number; nonlinearizable: { key: string } | null }[];
}

/** npm's variables that say how dslab was started (the test runner itself may run under npx or npm test). */
const no_npm = { npm_command: undefined, npm_lifecycle_event: undefined, npm_execpath: undefined };
const under_npx = { npm_command: 'exec', npm_lifecycle_event: 'npx', npm_execpath: '/usr/lib/node_modules/npm/bin/npm-cli.js' };

/** The real CLI with npm's variables set as given (like dslab() in helpers, which passes the runner's own on). */
async function grade(cwd: string, npm: Record<string, string | undefined>, ...args: string[]): Promise<CliResult> {
  const result = await execa(process.execPath, [cli_path, 'grade', ...args], { cwd, reject: false, env: { NO_COLOR: '1', DSLAB_HOME: '', ...npm }, timeout: 120_000 });
  return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode ?? -1 };
}

const fixture = (name: string) => `node ${path.join(repo_root, 'test', 'fixtures', name)}`;

/** Each planted-bug variant of a reference, with a test it must fail and what the failure must say. */
/** attempts: a bug that shows only when faults meet a timing window gets that many seeds (7, 8, …), the first failure judged. */
/** node: a node of the graded group whose log the kept folder must hold (n1 unless the lab grades another group). */
const planted_bugs: { lab: string; variant: string; test: string; failure: RegExp; attempts?: number; node?: string }[] = [
  { lab: 'echo', variant: 'wrong-payload', test: 'echoes-payload', failure: /echoed "HELLO|echoed ".*!" for/ },
  { lab: 'unique-ids', variant: 'counter-restarts', test: 'unique-across-restarts', failure: /was handed out twice/ },
  { lab: 'raft-election', variant: 'no-prevote-no-checkquorum', test: 'rejoining-node-does-not-disrupt', failure: /was disrupted/ },
  { lab: 'raft-replication', variant: 'commit-without-majority', test: 'no-commit-without-majority', failure: /acknowledged write x although it cannot reach a majority|two leaders in term/ },
  { lab: 'raft-replication', variant: 'votes-for-stale-logs', test: 'stale-log-cannot-lead', failure: /read [xy] returned null, expected [12]|applied different|a committed entry never differs/ },
  { lab: 'raft-persistence', variant: 'term-not-persisted', test: 'restart-all-nodes', failure: /crashed|went backwards|restarted and lost its term|two leaders/ },
  { lab: 'raft-persistence', variant: 'commits-old-terms-by-counting', test: 'figure-8-scripted', failure: /raft invariant broken: (committed entries match the leader's|a committed entry never differs)|applied different/ },
  { lab: 'raft-snapshots', variant: 'never-compacts', test: 'compaction-bounds-data-dir', failure: /data directory holds \d+ bytes, over 50000/ },
  { lab: 'raft-snapshots', variant: 'ignores-install-snapshot', test: 'install-snapshot-to-lagging-follower', failure: /did not catch up/ },
  { lab: 'kv-linearizable', variant: 'cas-ignores-from', test: 'healthy-cluster', failure: /not linearizable on key/ },
  // The stale winner gives up when it meets a follower ahead of it, again and again.
  { lab: 'zab-election', variant: 'id-before-zxid', test: 'most-up-to-date-wins', failure: /no leader within 10000 ms|should have won/ },
  { lab: 'zab-broadcast', variant: 'trunc-only-past-log', test: 'trunc-sync', failure: /applied different entries at index|applied w\d+, written to a leader that had lost its quorum|did not report following with sync_mode TRUNC/ },
  { lab: 'zab-broadcast', variant: 'one-epoch', test: 'accepted-epoch-is-not-current', failure: /applied different entries at index/ },
  { lab: 'zab-broadcast', variant: 'ack-before-persist', test: 'persist-before-newleader-ack', failure: /(term|epoch) went backwards|restarted and lost its (term|epoch)|applied different entries at index/ },
  // Hundreds of proposals fall between the follower's sync and its acknowledgement (a 300 ms link), more than one resend fills.
  { lab: 'zab-broadcast', variant: 'propose-only-acked', test: 'proposals-during-sync', failure: /applied different entries at index/ },
  { lab: 'zk-sessions', variant: 'close-lost-keeps-ephemerals', test: 'lost-close-still-frees-ephemerals', failure: /ephemerals of closed sessions are still there/ },
  { lab: 'zk-sessions', variant: 'watch-after-reply', test: 'watch-event-before-new-data', failure: /with the new data before sending the watch event/ },
  { lab: 'zk-sessions', variant: 'sequential-from-children', test: 'sequential-suffixes', failure: /NodeExists|path is "\/q\/n-0000000002", expected "\/q\/n-0000000003"/ },
  // The snowflake lab grades the workers (w1..) beside dslab's own coordinator.
  { lab: 'snowflake', variant: 'no-clock-check', test: 'clock-back-a-lot', failure: /w1's role is "serving" after 1500 ms, expected "refusing"|w1 issued smaller ids after larger ones/, node: 'w1' },
  { lab: 'snowflake', variant: 'no-sequence-wrap', test: 'sequence-wrap-under-burst', failure: /ids were issued twice|batches whose ids do not increase/, node: 'w1' },
  { lab: 'snowflake', variant: 'worker-unchecked', test: 'worker-numbers-from-coordinator', failure: /5 workers serve \(.*w\d as worker 4.*\), but the layout has numbers for only 4/, node: 'w1' },
  { lab: 'snowflake', variant: 'serve-past-lease', test: 'paused-past-session-timeout', failure: /w\d issued \d+ ids with worker \d while w\d held worker \d, .*paused for|5 workers serve \(.*\), but the layout has numbers for only 4|w\d and w\d both serve as datacenter 0 worker \d/, node: 'w1' },
  { lab: 'snowflake', variant: 'number-ids', test: 'sequence-wrap-under-burst', failure: /ids were issued twice/, node: 'w1' },
  // The locks lab grades contenders (k1..) and the resource (r1) with one program; each variant plants one bug in dslab's.
  { lab: 'locks', variant: 'plain-del', test: 'redis-slow-unlock', failure: /^mutual exclusion failed: k\d(, k\d)* and k\d (both|all) held the lock .*increments? lost/, node: 'k1' },
  { lab: 'locks', variant: 'watch-holder', test: 'zk-no-herd', failure: /lock_expect_no_herd\): contenders were sent \d+ watch events for \d+ lock nodes .*the herd effect/, node: 'k1' },
  { lab: 'locks', variant: 'trust-watch', test: 'zk-waiter-expires', failure: /^mutual exclusion failed: k\d(, k\d)* and k\d (both|all) held the lock/, node: 'k1' },
  { lab: 'locks', variant: 'accept-equal-token', test: 'fence-refuses-stale-and-equal-tokens', failure: /lock_resource\): r1 accepted a write of 2 with token 5, which its fence must refuse/, node: 'k1' },
  // k1 dies between its SETNX and its PEXPIRE: the lock never expires and the others wait for it until the step gives up.
  { lab: 'locks', variant: 'separate-expire', test: 'redis-holder-dies-while-locking', failure: /lock_run\): the rounds did not finish within 10000 ms: k2 \(\d rounds? left, lock_state "waiting"\); k3 \(\d rounds? left, lock_state "waiting"\)/, node: 'k1' },
  { lab: 'locks', variant: 'no-lease-recheck', test: 'etcd-lease-expires-while-waiting', failure: /^mutual exclusion failed: k\d(, k\d)* and k\d (both|all) held the lock/, node: 'k1' },
];

describe('lab specs', () => {
  it('every shipped lab loads, with unique test names and points', () => {
    const ids = listLabIds();
    expect(ids).toEqual(['echo', 'unique-ids', 'raft-election', 'raft-replication', 'raft-persistence', 'raft-snapshots', 'kv-linearizable', 'zab-election', 'zab-broadcast', 'zk-sessions', 'snowflake', 'locks']);
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

  it('gives the reference full marks on the Zab labs', async () => {
    for (const lab of ['zab-election', 'zab-broadcast', 'zk-sessions']) {
      const run = await dslab(cwd, 'grade', lab, '--reference', '--json');
      const result = JSON.parse(run.stdout) as GradeJson;
      expect(result.results.filter((r) => !r.passed).map((r) => `${r.test}: ${r.failure}`)).toEqual([]);
      expect(result.score).toBe(result.max_score);
    }
  }, 300_000);

  it.each(planted_bugs)('fails the planted bug $lab/$variant on $test', async ({ lab, variant, test, failure, attempts, node = 'n1' }) => {
    const bin = `node ${path.join(repo_root, 'labs', lab, 'variants', `${variant}.mjs`)}`;
    const junit = path.join(cwd, `${lab}-${variant}.xml`);
    const html = path.join(cwd, `${lab}-${variant}.html`);
    const summary = path.join(cwd, `${lab}-${variant}.ndjson`);
    let seed = 7;
    let run = await grade(cwd, no_npm, lab, '--bin', bin, '--only', test, '--seed', String(seed), '--json', '--junit', junit, '--html', html, '--summary', summary);
    for (let attempt = 1; attempt < (attempts ?? 1) && run.exitCode === 0; attempt++) {
      seed++;
      run = await grade(cwd, no_npm, lab, '--bin', bin, '--only', test, '--seed', String(seed), '--json', '--junit', junit, '--html', html, '--summary', summary);
    }
    expect(run.exitCode).toBe(1);
    const result = JSON.parse(run.stdout) as GradeJson;
    const failed = result.results.find((r) => r.test === test)!;
    expect(failed.passed).toBe(false);
    expect(failed.failure).toMatch(failure);
    expect(failed.seed).toBe(seed);
    // Run as `node …/bin/run.js`: the replay names dslab all the same, as every hint does (the README's set-up puts it on the PATH).
    expect(failed.replay).toBe(`dslab grade ${lab} --bin ${JSON.stringify(bin)} --only ${test} --seed ${seed}`);
    // The evidence is kept for the student, and every report written in the same run says the same.
    expect(readFileSync(path.join(failed.kept_dir!, 'cluster', 'logs', `${node}.log`), 'utf8')).toContain(`starting ${node}`);
    // ...for the student alone: data, logs and trace are not readable by other users.
    for (const dir of [path.dirname(failed.kept_dir!), failed.kept_dir!, path.join(failed.kept_dir!, 'cluster')]) expect(statSync(dir).mode & 0o777, dir).toBe(0o700);
    expect(readFileSync(junit, 'utf8')).toMatch(new RegExp(`<testcase classname="${lab}" name="${test}"[^>]*>\\s*<properties><property name="seed" value="${seed}"/>.*\\s*<failure message=`));
    expect(JSON.parse(readFileSync(summary, 'utf8'))).toMatchObject({ test, passed: false, seed, failure: failed.failure, replay: failed.replay });
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<span class="fail">failed</span>');
    expect(page).toContain('<svg');
    // Times are from the test's start everywhere, never epoch milliseconds; the page opens with its summary table.
    // (Snowflake ids, 19 digits, are no times.)
    expect(failed.failure).not.toMatch(/\b\d{13}\b/);
    expect(page).not.toMatch(/\b\d{13}\b/);
    expect(page.indexOf('<table class="summary"')).toBeLessThan(page.indexOf('<section'));
    // A linearizability failure draws the offending key's operations, the bad ones marked.
    const nonlinearizable = /not linearizable on key/.test(failed.failure ?? '');
    expect(failed.nonlinearizable !== null).toBe(nonlinearizable);
    expect(page.includes('class="op-bar op-bad"')).toBe(nonlinearizable);
  }, 300_000);
});

describe('dslab grade on first contact', () => {
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

describe('dslab lab init', () => {
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
