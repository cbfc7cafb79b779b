import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLab } from '../../src/lib/grade/spec.js';
import { lab_plugins } from '../../src/registry.js';
import { cleanup, type CliResult, makeWorkdir, repo_root } from '../helpers/cli.js';
import { grade, type GradeJson, no_npm, startGradings } from './grade-helpers.js';

// The grader is only as good as the bugs it catches: every planted-bug variant a lab ships must fail its test.
// (Its own file so the long list runs beside test/labs/grader.test.ts, not after it. The Maelstrom challenge labs'
// variants are in maelstrom-labs.test.ts, run side by side: their runs mostly wait.)

/**
 * Side-by-side gradings at once (three, as vitest's maxConcurrency allowed before: at five, beside another file, plain-del and close-lost-keeps-ephemerals each passed once). Each mostly waits (a locks grading: about 6 s of CPU in 28 s), and the bugs graded
 * side by side fail whatever the timing or on windows held open by their own waits (see timing_window below).
 */
const side_by_side_gradings_max = 3;

/** Each planted-bug variant of a reference, with a test it must fail and what the failure must say. */
/** attempts: a bug that shows only when faults meet a timing window gets that many seeds (7, 8, …), the first failure judged. */
/** node: a node of the graded group whose log the kept folder must hold (n1 unless the lab grades another group). */
/**
 * timing_window: the bug shows only when the run meets a window in time that load can close (a burst of ids faster
 * than the sequence, hundreds of proposals inside a 300 ms link, a script's elections and sleeps, the diagram's 2 ms
 * match): graded alone, after the others, so that gradings beside it cannot slow it out of the window.
 * wide_window: the window is seconds wide and held open by the test's own waits (a pause seconds past a TTL, lease or
 * session timeout; an unlock delayed past a TTL while others hold the lock back to back), which load beside it
 * cannot close: graded side by side, first, being the longest. The rest fail on what the program does whatever the
 * timing, and are graded side by side too.
 */
const planted_bugs: { lab: string; variant: string; test: string; failure: RegExp; attempts?: number; node?: string; timing_window?: true; wide_window?: true }[] = [
  { lab: 'echo', variant: 'wrong-payload', test: 'echoes-payload', failure: /echoed "HELLO|echoed ".*!" for/ },
  { lab: 'unique-ids', variant: 'counter-restarts', test: 'unique-across-restarts', failure: /was handed out twice/ },
  { lab: 'raft-election', variant: 'no-prevote-no-checkquorum', test: 'rejoining-node-does-not-disrupt', failure: /was disrupted/ },
  // Or the node's own invariant check stops it first (exit 70), when the run's timing lets the bug break its state before the grader sees the write.
  { lab: 'raft-replication', variant: 'commit-without-majority', test: 'no-commit-without-majority', failure: /acknowledged write x although it cannot reach a majority|two leaders in term|crashed \(exit code 70\)/ },
  { lab: 'raft-replication', variant: 'votes-for-stale-logs', test: 'stale-log-cannot-lead', failure: /read [xy] returned null, expected [12]|applied different|a committed entry never differs/ },
  { lab: 'raft-persistence', variant: 'term-not-persisted', test: 'restart-all-nodes', failure: /crashed|went backwards|restarted and lost its term|two leaders/ },
  // The script counts on who wins its elections and on 500 ms for a write to spread: on a loaded machine seed 7 passed
  // twice in five runs (once beside other gradings, once alone), the bug hidden.
  { lab: 'raft-persistence', variant: 'commits-old-terms-by-counting', test: 'figure-8-scripted', failure: /raft invariant broken: (committed entries match the leader's|a committed entry never differs)|applied different/, attempts: 3, timing_window: true },
  // A log never compacted is also slow to replay: on a loaded machine the catch-up can time out before the size is judged.
  { lab: 'raft-snapshots', variant: 'never-compacts', test: 'compaction-bounds-data-dir', failure: /data directory holds \d+ bytes, over 50000|wait_caught_up\): nodes did not catch up/ },
  { lab: 'raft-snapshots', variant: 'ignores-install-snapshot', test: 'install-snapshot-to-lagging-follower', failure: /did not catch up/ },
  // Not the bug but its page: the diagram ties the trace's requests to the history's operations within 2 ms, and on a
  // loaded run beside other gradings the bad operation's bar was once left out (it was caught all the same).
  { lab: 'kv-linearizable', variant: 'cas-ignores-from', test: 'healthy-cluster', failure: /not linearizable on key/, timing_window: true },
  // The stale winner gives up when it meets a follower ahead of it, again and again.
  { lab: 'zab-election', variant: 'id-before-zxid', test: 'most-up-to-date-wins', failure: /no leader within 10000 ms|should have won/ },
  { lab: 'zab-broadcast', variant: 'trunc-only-past-log', test: 'trunc-sync', failure: /applied different entries at index|applied w\d+, written to a leader that had lost its quorum|did not report following with sync_mode TRUNC/ },
  { lab: 'zab-broadcast', variant: 'one-epoch', test: 'accepted-epoch-is-not-current', failure: /applied different entries at index/ },
  { lab: 'zab-broadcast', variant: 'ack-before-persist', test: 'persist-before-newleader-ack', failure: /(term|epoch) went backwards|restarted and lost its (term|epoch)|applied different entries at index/ },
  // Hundreds of proposals fall between the follower's sync and its acknowledgement (a 300 ms link), more than one resend fills.
  { lab: 'zab-broadcast', variant: 'propose-only-acked', test: 'proposals-during-sync', failure: /applied different entries at index/, timing_window: true },
  // Shows only for a session whose close is lost while the leader hears the follower's untrack, both over a link that
  // loses half its messages: a seed whose 16 sessions all escape it is rare but was seen once, so a second seed is graded.
  { lab: 'zk-sessions', variant: 'close-lost-keeps-ephemerals', test: 'lost-close-still-frees-ephemerals', failure: /ephemerals of closed sessions are still there/, attempts: 2 },
  { lab: 'zk-sessions', variant: 'watch-after-reply', test: 'watch-event-before-new-data', failure: /with the new data before sending the watch event/ },
  { lab: 'zk-sessions', variant: 'sequential-from-children', test: 'sequential-suffixes', failure: /NodeExists|path is "\/q\/n-0000000002", expected "\/q\/n-0000000003"/ },
  // The snowflake lab grades the workers (w1..) beside dslab's own coordinator.
  { lab: 'snowflake', variant: 'no-clock-check', test: 'clock-back-a-lot', failure: /w1's role is "serving" after 1500 ms, expected "refusing"|w1 issued smaller ids after larger ones/, node: 'w1' },
  { lab: 'snowflake', variant: 'no-sequence-wrap', test: 'sequence-wrap-under-burst', failure: /ids were issued twice|batches whose ids do not increase/, node: 'w1', timing_window: true },
  { lab: 'snowflake', variant: 'worker-unchecked', test: 'worker-numbers-from-coordinator', failure: /5 workers serve \(.*w\d as worker 4.*\), but the layout has numbers for only 4/, node: 'w1' },
  { lab: 'snowflake', variant: 'serve-past-lease', test: 'paused-past-session-timeout', failure: /w\d issued \d+ ids with worker \d while w\d held worker \d, .*paused for|5 workers serve \(.*\), but the layout has numbers for only 4|w\d and w\d both serve as datacenter 0 worker \d/, node: 'w1', wide_window: true },
  { lab: 'snowflake', variant: 'number-ids', test: 'sequence-wrap-under-burst', failure: /ids were issued twice/, node: 'w1', timing_window: true },
  // The locks lab grades contenders (k1..) and the resource (r1) with one program; each variant plants one bug in dslab's.
  { lab: 'locks', variant: 'plain-del', test: 'redis-slow-unlock', failure: /^mutual exclusion failed: k\d(, k\d)* and k\d (both|all) held the lock .*increments? lost/, node: 'k1', wide_window: true },
  { lab: 'locks', variant: 'watch-holder', test: 'zk-no-herd', failure: /lock_expect_no_herd\): contenders were sent \d+ watch events for \d+ lock nodes .*the herd effect/, node: 'k1' },
  { lab: 'locks', variant: 'trust-watch', test: 'zk-waiter-expires', failure: /^mutual exclusion failed: k\d(, k\d)* and k\d (both|all) held the lock/, node: 'k1', wide_window: true },
  { lab: 'locks', variant: 'accept-equal-token', test: 'fence-refuses-stale-and-equal-tokens', failure: /lock_resource\): r1 accepted a write of 2 with token 5, which its fence must refuse/, node: 'k1' },
  // k1 dies between its SETNX and its PEXPIRE: the lock never expires and the others wait for it until the step gives up.
  { lab: 'locks', variant: 'separate-expire', test: 'redis-holder-dies-while-locking', failure: /lock_run\): the rounds did not finish within 10000 ms: k2 \(\d rounds? left, lock_state "waiting"\); k3 \(\d rounds? left, lock_state "waiting"\)/, node: 'k1' },
  { lab: 'locks', variant: 'no-lease-recheck', test: 'etcd-lease-expires-while-waiting', failure: /^mutual exclusion failed: k\d(, k\d)* and k\d (both|all) held the lock/, node: 'k1', wide_window: true },
];

describe('dslab grade on planted bugs', () => {
  // A folder per grading, so side-by-side runs never share kept folders or reports.
  const workdirs: string[] = [];
  const workdir = () => {
    const dir = makeWorkdir();
    workdirs.push(dir);
    return dir;
  };
  afterAll(async () => {
    for (const dir of workdirs) await cleanup(dir);
  });

  type PlantedBug = (typeof planted_bugs)[number];
  /** One planted bug graded: the last grading's CLI result, the seed it ran, and the report files it wrote. */
  interface Graded {
    run: CliResult;
    seed: number;
    bin: string;
    junit: string;
    html: string;
    summary: string;
  }

  const gradeBug = async ({ lab, variant, test, attempts }: PlantedBug): Promise<Graded> => {
    const cwd = workdir();
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
    return { run, seed, bin, junit, html, summary };
  };

  const failsWithItsEvidence = ({ lab, test, failure, node = 'n1' }: PlantedBug, { run, seed, bin, junit, html, summary }: Graded) => {
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
  };

  // Most of a grading is waiting (for elections, timeouts, session expiry), so these run side by side, started from the
  // block's hook (see startGradings), the long wide-window ones first so that none of them is left to run alone at the
  // end; each test judges its own grading.
  describe('side by side', () => {
    // The rest by their test's time limit, longest first: the likeliest to be long.
    const time_limit_ms = (bug: PlantedBug) => loadLab(bug.lab, lab_plugins).tests.find((t) => t.name === bug.test)!.time_limit_ms;
    const bugs = [...planted_bugs.filter((bug) => bug.wide_window), ...planted_bugs.filter((bug) => !bug.timing_window && !bug.wide_window).sort((a, b) => time_limit_ms(b) - time_limit_ms(a))];
    let gradings: Map<PlantedBug, Promise<Graded>>;
    beforeAll(() => {
      gradings = startGradings(bugs, side_by_side_gradings_max, gradeBug);
    });
    afterAll(async () => {
      // Every grading has ended before the folders go (the file's afterAll), even one whose test failed first.
      await Promise.allSettled(gradings.values());
    });
    it.each(bugs)('fails the planted bug $lab/$variant on $test', async (bug) => failsWithItsEvidence(bug, await gradings.get(bug)!), 300_000);
  });

  describe('alone', () => {
    it.each(planted_bugs.filter((bug) => bug.timing_window))('fails the planted bug $lab/$variant on $test', async (bug) => failsWithItsEvidence(bug, await gradeBug(bug)), 300_000);
  });
});
