import { afterEach, describe, expect, it } from 'vitest';
import type { NodeStatus } from '../../src/lib/control/api.js';
import { cleanup, controlStatus, dslab, dslabJson, makeWorkdir, waitFor } from '../helpers/cli.js';

type State = { role?: string; term?: number; leader?: string; commit_index?: number; log_last_index?: number; rolled_back?: number };
const stateOf = (node: NodeStatus) => node.state as State;

/** The leader a cluster reports and its term, once it reports one. */
const leaderIn = async (cwd: string) => {
  const s = await controlStatus(cwd);
  return s.leader ? { id: s.leader, term: stateOf(s.nodes.find((n) => n.id === s.leader)!).term! } : undefined;
};

// Two lanes of clusters at once, each test with a cluster of its own: the tests mostly wait (for elections,
// timeouts, a load's fixed duration, the nemesis's schedule), so two of them share the machine. The lanes
// take about as long as each other.
describe.concurrent('raft on real processes: the leader killed, then every node', () => {
  let cwd: string;
  const status = () => controlStatus(cwd);
  const leaderOf = () => leaderIn(cwd);

  afterEach(async () => {
    await cleanup(cwd);
  });

  it.sequential('keeps an acknowledged write readable after the leader is killed, and the old leader catches up', async () => {
    cwd = makeWorkdir();
    expect((await dslab(cwd, 'up', 'raft', '--nodes', '5', '--detach')).exitCode).toBe(0);
    const first = await waitFor('a leader', leaderOf);
    const put = await dslab(cwd, 'kv', 'put', 'x', '42');
    expect(put.exitCode, put.stderr).toBe(0);
    expect((await dslab(cwd, 'kill', first.id)).stdout).toContain(`killed ${first.id} (leader)`);
    const second = await waitFor('a new leader', async () => {
      const leader = await leaderOf();
      return leader && leader.id !== first.id ? leader : undefined;
    });
    expect(second.term).toBeGreaterThan(first.term);
    // The new leader's log tells the election; the supervisor's log has the leader change.
    const narrated = (await dslab(cwd, 'logs', second.id, '--lines', '1000')).stdout;
    expect(narrated).toMatch(new RegExp(`Z ${second.id} standing for election in term ${second.term}: voted for itself`));
    expect(narrated).toMatch(new RegExp(`Z ${second.id} won the election: leader of term ${second.term};`));
    expect(narrated).toMatch(new RegExp(`Z ${second.id} committed (entry \\d+|\\d+ entries \\(\\d+\\.\\.\\d+\\)):`));
    expect((await dslab(cwd, 'logs', 'supervisor', '--lines', '1000')).stdout).toContain(`${second.id} is leader (term ${second.term})`);
    const get = await dslab(cwd, 'kv', 'get', 'x');
    expect(get.exitCode, get.stderr).toBe(0);
    expect(get.stdout.trim()).toBe('x = 42');

    expect((await dslab(cwd, 'restart', first.id)).exitCode).toBe(0);
    expect((await dslab(cwd, 'kv', 'put', 'x', '43')).exitCode).toBe(0);
    await waitFor('the restarted node to apply the new write', async () => {
      const s = await status();
      const leader = s.nodes.find((n) => n.id === s.leader)!;
      const old = s.nodes.find((n) => n.id === first.id)!;
      return old.status === 'up' && stateOf(old).commit_index === stateOf(leader).commit_index && stateOf(old).role === 'follower';
    });

    // Leadership transfer hands the office to the named, caught-up node.
    const moved = await dslab(cwd, 'transfer', first.id);
    expect(moved.exitCode, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(new RegExp(`leadership moved from n\\d to ${first.id}`));
    expect((await status()).leader).toBe(first.id);
    const same = await dslab(cwd, 'transfer', first.id);
    expect(same.stderr.trim()).toBe(`dslab: ${first.id} is already the leader`);
  });

  it.sequential('stays linearizable under a nemesis, and survives a restart of every node', async () => {
    cwd = makeWorkdir();
    expect((await dslab(cwd, 'up', 'raft', '--nodes', '5', '--detach', '--snapshot-every', '100')).exitCode).toBe(0);
    await waitFor('a leader', leaderOf);
    expect((await dslab(cwd, 'nemesis', '--interval', '1500ms', '--duration', '7500ms', '--seed', '5', '--detach')).exitCode).toBe(0);
    const load = await dslabJson<{ ok: number; completed: number }>(cwd, 'load', '--clients', '5', '--rate', '100', '--duration', '9s', '--keys', '5', '--history', 'history.jsonl', '--seed', '1');
    expect(load.ok).toBeGreaterThan(100);
    const check = await dslab(cwd, 'check', 'history.jsonl');
    expect(check.stdout, check.stdout).toMatch(/^valid: linearizable/);
    expect(check.exitCode).toBe(0);
    await waitFor('the nemesis to finish and heal', async () => (await status()).nemesis?.running === false && (await status()).faults.length === 0, 30_000);

    // Snapshots were taken and the logs compacted.
    const before = await status();
    expect(before.nodes.every((n) => (stateOf(n) as { snapshot_index?: number }).snapshot_index! > 0)).toBe(true);

    expect((await dslab(cwd, 'kv', 'put', 'z', '"final"', '--timeout', '10s')).exitCode).toBe(0);
    // The group name stands for every member: all are down before any comes back.
    const killed = await dslab(cwd, 'kill', 'nodes');
    expect(killed.exitCode, killed.stderr).toBe(0);
    expect((await status()).nodes.map((n) => n.status)).toEqual(['down', 'down', 'down', 'down', 'down']);
    const restarted = await dslab(cwd, 'restart', 'nodes');
    expect(restarted.exitCode, restarted.stderr).toBe(0);
    expect(restarted.stdout).not.toContain('not done');
    await waitFor('a leader after the restart of every node', leaderOf, 30_000);
    const read = await dslab(cwd, 'kv', 'get', 'z', '--timeout', '10s');
    expect(read.stdout.trim()).toBe('z = "final"');
  });
});

describe.concurrent('raft on real processes: a leader cut off, and loads on a cluster with data', () => {
  let cwd: string;
  const status = () => controlStatus(cwd);
  const leaderOf = () => leaderIn(cwd);

  afterEach(async () => {
    await cleanup(cwd);
  });

  it.sequential('refuses writes on a leader cut into a minority, commits on the majority, and rolls back the old entries on heal', async () => {
    cwd = makeWorkdir();
    // Long timeouts keep the isolated leader in office long enough to accept a write it cannot commit.
    expect((await dslab(cwd, 'up', 'raft', '--nodes', '5', '--detach', '--election-timeout', '1500-3000ms', '--heartbeat', '100ms')).exitCode).toBe(0);
    const old = await waitFor('a leader', leaderOf);
    expect((await dslab(cwd, 'kv', 'put', 'y', '"before"')).exitCode).toBe(0);
    expect((await dslab(cwd, 'partition', '--isolate', old.id)).exitCode).toBe(0);
    const lost = await dslab(cwd, 'send', old.id, '{"type":"write","key":"y","value":"lost","client":"c900","seq":1}', '--timeout', '1s');
    expect(lost.exitCode).toBe(1);
    // Refused one way or another: held past the timeout, or already stepped down (check quorum) under a loaded machine.
    expect(lost.stderr).toMatch(/did not answer write within 1s|not the leader|no leader right now/);

    const fresh = await waitFor('a leader on the majority side', async () => {
      const leader = await leaderOf();
      return leader && leader.id !== old.id ? leader : undefined;
    }, 30_000);
    expect(fresh.term).toBeGreaterThan(old.term);
    const kept = await dslab(cwd, 'kv', 'put', 'y', '"kept"', '--timeout', '10s');
    expect(kept.exitCode, kept.stderr).toBe(0);

    await dslab(cwd, 'heal');
    await waitFor('the old leader to follow and drop its uncommitted entry', async () => {
      const s = await status();
      const node = stateOf(s.nodes.find((n) => n.id === old.id)!);
      const leader = stateOf(s.nodes.find((n) => n.id === s.leader)!);
      return node.role === 'follower' && (node.rolled_back ?? 0) >= 1 && node.commit_index === leader.commit_index;
    }, 30_000);
    const read = await dslab(cwd, 'kv', 'get', 'y');
    expect(read.stdout.trim()).toBe('y = "kept"');
  });

  it.sequential('checks a second load on a cluster that already holds data: fresh keys by default, unknown starting values for reused ones', async () => {
    cwd = makeWorkdir();
    expect((await dslab(cwd, 'up', 'raft', '--nodes', '3', '--detach')).exitCode).toBe(0);
    await waitFor('a leader', leaderOf);
    type LoadResult = { ok: number; mismatched: number; fail: number; key_prefix: string; keys_fresh: boolean };
    const load = (history: string, ...extra: string[]) =>
      dslabJson<LoadResult>(cwd, 'load', '--clients', '5', '--rate', '100', '--duration', '2s', '--keys', '5', '--history', history, ...extra);
    const first = await load('first.jsonl');
    const second = await load('second.jsonl');
    expect(second.ok).toBeGreaterThan(50);
    expect(second.keys_fresh).toBe(true);
    expect(second.key_prefix).not.toBe(first.key_prefix);
    const check = await dslab(cwd, 'check', 'second.jsonl');
    expect(check.stdout, check.stdout).toMatch(/^valid: linearizable .*keys fresh: each started absent/);
    expect(check.exitCode).toBe(0);

    // The first run's keys again: they hold its values, which the check must allow as starting values.
    const reused = await load('reused.jsonl', '--key-prefix', first.key_prefix);
    expect(reused).toMatchObject({ key_prefix: first.key_prefix, keys_fresh: false });
    const recheck = await dslab(cwd, 'check', 'reused.jsonl');
    expect(recheck.stdout, recheck.stdout).toMatch(/^valid: linearizable .*keys not fresh: each started with an unknown value/);
    expect(recheck.exitCode).toBe(0);
  });
});
