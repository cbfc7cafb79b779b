import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readClusterInfo } from '../../src/lib/cluster/paths.js';
import type { ClusterStatus } from '../../src/lib/control/api.js';
import { ControlClient } from '../../src/lib/control/client.js';
import { nemesisSchedule } from '../../src/lib/faults/nemesis.js';
import type { ClosingCheck } from '../../src/lib/plugin.js';
import type { LockCheck } from '../../src/systems/locks/checker.js';
import { lockStatus, readReportPages } from '../../src/workloads/locks/client.js';
import type { LockReport, Observation } from '../../src/systems/locks/observations.js';
import { cleanup, dslab, makeWorkdir, waitFor } from '../helpers/cli.js';

/**
 * The known failures of lock recipes, on real backends: a Redis holder paused
 * past its TTL (lost updates without fencing; the stale write rejected with
 * it), redis-server killed and restarted without persistence, and an etcd
 * lease expiring while its contender waits (safe with the re-check, a double
 * grant without it). Contenders hold the lock long enough (--hold) that a
 * fault lands inside a critical section.
 */
const pause_past_ttl_ms = 3_500;
/** How long the redis ('plain', 'fenced') and zk contenders work between their read and their write. */
const redis_hold_ms = 500;
const zk_hold_ms = 1_000;
/** Past a 2 s etcd lease whose last keepalive may have come just before the pause. */
const pause_past_lease_ms = 5_000;
/** The short nemesis each fenced recipe runs under: a fault a second for five seconds. */
const nemesis_interval_ms = 1_000;
const nemesis_duration_ms = 5_000;

/**
 * The first seed whose schedule over these members kills, pauses and partitions within the run
 * (the schedule is a pure function of seed and members: the same seed replays the same faults).
 */
function seedKillingPausingPartitioning(members: readonly string[]): number {
  for (let seed = 1; ; seed++) {
    const kinds = new Set(nemesisSchedule(seed, members, nemesis_interval_ms, nemesis_duration_ms).map((step) => step.apply?.type));
    if (kinds.has('kill') && kinds.has('pause') && kinds.has('partition')) return seed;
  }
}

describe('lock contenders on real backends', () => {
  let cwd: string;
  const cli = (...args: string[]) => dslab(cwd, ...args);
  const client = (name: string) => new ControlClient(readClusterInfo(path.join(cwd, '.dslab', name, 'cluster.json'))!);
  const contenders = async (name: string) => (await client(name).status()).nodes.filter((n) => n.group === 'contenders');
  const check = async (name: string) => {
    const result = await cli('lock', 'check', '--cluster', name, '--json');
    return { exitCode: result.exitCode, check: JSON.parse(result.stdout) as LockCheck };
  };
  const idle = (name: string) => waitFor(`${name}'s contenders to finish`, async () => (await contenders(name)).every((n) => n.state.rounds_left === 0 && n.state.lock_state === 'idle'), 120_000);

  /** Every observation r1 has made, page by page. */
  async function observations(name: string): Promise<Observation[]> {
    const pages = await readReportPages(async (from) => (await client(name).act({ type: 'send', dest: 'r1', body: { type: 'lock_report', from } })).reply as LockReport);
    return pages.observations;
  }

  /**
   * Pauses a contender inside its critical section, before its write. The
   * holder is picked from the state reports, which may lag; what decides is
   * r1's view after the pause: the contender's last read reached r1 less than
   * hold_ms before the pause took effect. A contender sleeps hold_ms after its
   * read's answer before it may write, so it cannot have written yet.
   */
  async function pauseHolder(name: string, hold_ms: number): Promise<string> {
    return waitFor(`a contender of ${name} paused between its read and its write`, async () => {
      const holder = (await contenders(name)).find((n) => n.status === 'up' && n.state.lock_state === 'holding');
      if (!holder) return undefined;
      await client(name).act({ type: 'pause', node: holder.id });
      const paused_ms = Date.now();
      // A read the holder sent just before it stopped is still on its way to r1.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const read = (await observations(name)).filter((o) => o.node === holder.id && o.kind === 'read').at(-1);
      if (read && paused_ms < read.at_ms + hold_ms) return holder.id;
      await client(name).act({ type: 'resume', node: holder.id });
      return undefined;
    }, 60_000);
  }

  beforeAll(async () => {
    cwd = makeWorkdir();
    // The clusters start at once: two on redis (with and without fencing), two on etcd (the safe recipe and the one without its re-check), one on the Zab coordinator.
    const clusters: [string, string[]][] = [
      ['plain', ['--ttl', '1s', '--hold', `${redis_hold_ms}ms`]],
      ['fenced', ['--ttl', '1s', '--hold', `${redis_hold_ms}ms`, '--fencing']],
      ['etcd', ['--backend', 'etcd', '--ttl', '2s', '--hold', '1s']],
      ['norecheck', ['--backend', 'etcd', '--recipe', 'etcd-no-recheck', '--ttl', '2s', '--hold', '1s']],
      ['zk', ['--backend', 'zk', '--nodes', '3', '--ttl', '2s', '--hold', `${zk_hold_ms}ms`]],
      // With fencing, the other recipes (redis is 'fenced' above), for the nemesis.
      ['naive-fenced', ['--recipe', 'redis-naive', '--ttl', '1s', '--hold', '200ms', '--fencing']],
      ['etcd-fenced', ['--backend', 'etcd', '--ttl', '2s', '--hold', '200ms', '--fencing']],
      ['norecheck-fenced', ['--recipe', 'etcd-no-recheck', '--ttl', '2s', '--hold', '200ms', '--fencing']],
      ['zk-fenced', ['--backend', 'zk', '--nodes', '3', '--ttl', '2s', '--hold', '200ms', '--fencing']],
    ];
    // Nine clusters starting at once on a loaded machine: a node may take more than the default 10 s to answer init.
    const ups = await Promise.all(clusters.map(([name, flags]) => cli('up', 'locks', '--name', name, '--contenders', '3', '--detach', '--init-timeout', '60s', ...flags)));
    for (const up of ups) expect(up.exitCode, up.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await cleanup(cwd);
  });

  /** Starts rounds, pauses the holder inside its section past its TTL, resumes it, waits for the rounds; the paused contender. */
  async function pauseHolderPastTtl(name: string, hold_ms: number, rounds = 6, pause_ms = pause_past_ttl_ms): Promise<string> {
    expect((await cli('lock', 'run', '--cluster', name, '--rounds', String(rounds), '--no-wait')).exitCode).toBe(0);
    const paused = await pauseHolder(name, hold_ms);
    await new Promise((resolve) => setTimeout(resolve, pause_ms));
    await client(name).act({ type: 'resume', node: paused });
    await idle(name);
    return paused;
  }

  /** Pauses the first contender queued behind the holder until its lease is gone, then resumes it. */
  async function pauseFirstWaiter(name: string): Promise<string> {
    expect((await cli('lock', 'run', '--cluster', name, '--rounds', '3', '--no-wait')).exitCode).toBe(0);
    const waiter = await waitFor(`a contender of ${name} paused while queued behind the holder`, async () => {
      // What `dslab lock status --json` prints, asked from here: no CLI start per poll.
      const status = await lockStatus(client(name));
      const first = status.lock?.holder && status.lock.waiters[0];
      if (!first) return undefined;
      // The lock may have moved on between the look and the pause: a waiter granted meanwhile is a paused holder, another story.
      await client(name).act({ type: 'pause', node: first });
      await new Promise((resolve) => setTimeout(resolve, 300));
      if ((await contenders(name)).find((n) => n.id === first)!.state.lock_state === 'waiting') return first;
      await client(name).act({ type: 'resume', node: first });
      return undefined;
    }, 60_000);
    await new Promise((resolve) => setTimeout(resolve, pause_past_lease_ms));
    await client(name).act({ type: 'resume', node: waiter });
    await idle(name);
    return waiter;
  }

  // Tests on clusters of their own run at once (consecutive it.concurrent in each block; the blocks in order, each using
  // the clusters the one before left): each is mostly waiting, for a lock run, or for a pause to outlast a TTL, lease or
  // session, by seconds, and pauseHolder checks from r1's view that each pause landed inside a section.
  describe('with nothing failing', () => {
    it.concurrent('runs rounds through redis with mutual exclusion when nothing fails, and counts them', async () => {
      const run = await cli('lock', 'run', '--cluster', 'plain', '--rounds', '2');
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toContain('ok: 6 critical sections, 6 acknowledged increments, counter 6; mutual exclusion held and nothing was lost');
    }, 120_000);

    it.concurrent("kill leader with --backend zk kills the Zab coordinator's leader (the coordinator group speaks Zab's roles)", async () => {
      const killed = await cli('kill', 'leader', '--cluster', 'zk-fenced');
      expect(killed.exitCode, killed.stderr).toBe(0);
      const leader = /^killed (z\d) \(leader\)$/.exec(killed.stdout.trim())?.[1];
      expect(leader, killed.stdout).toBeDefined();
      expect((await cli('restart', leader!, '--cluster', 'zk-fenced')).exitCode).toBe(0);
      // The others elect a new leader, which `partition --isolate leader` finds the same way.
      const isolated = await waitFor('a new coordinator leader', async () => {
        const result = await cli('partition', '--isolate', 'leader', '--cluster', 'zk-fenced');
        return result.exitCode === 0 ? result.stdout : undefined;
      });
      expect(isolated).toMatch(/z\d/);
      expect((await cli('heal', '--cluster', 'zk-fenced')).exitCode).toBe(0);
    }, 60_000);
  });

  describe('pauses past a TTL, lease or session', () => {
    it.concurrent('a waiter whose lease expires while it is paused: with the re-check it sees its key gone and starts over; without it (etcd-io/etcd#11456) it holds the lock beside the contender that moved up', async () => {
      const [safe, unsafe] = await Promise.all([pauseFirstWaiter('etcd'), pauseFirstWaiter('norecheck')]);

      const { exitCode, check: result } = await check('etcd');
      expect(result.violations).toEqual([]);
      expect(exitCode).toBe(0);
      const row = (await contenders('etcd')).find((n) => n.id === safe)!;
      expect(row.state.failed).toBeGreaterThanOrEqual(1);
      expect(String(row.state.last_error)).toMatch(/lease of dslab\/lock\/\S+ expired while waiting/);

      // Without the re-check the waiter may wake beside the holder, but only when the timing falls that way (it did
      // not in one CI run of three under a loaded suite); the locks lab's etcd-lease-expires-while-waiting pins that
      // window and its planted bug no-lease-recheck is caught there (test/labs/planted-bugs.test.ts). Here the run
      // must still end and be judged.
      const hole = await check('norecheck');
      expect([0, 1]).toContain(hole.exitCode);
      if (hole.exitCode === 1) expect(hole.check.overlaps.find((o) => o.nodes.includes(unsafe)), JSON.stringify(hole.check.violations)).toBeDefined();
    }, 180_000);

    it.concurrent('a redis holder paused past its TTL: without fencing it loses increments and the overlap is named; with fencing its stale write is rejected and nothing is lost', async () => {
      const before = (await check('plain')).check.overlaps.length;
      // The two clusters at once: each scenario is mostly waiting.
      const [plain, fenced] = await Promise.all([pauseHolderPastTtl('plain', redis_hold_ms), pauseHolderPastTtl('fenced', redis_hold_ms)]);

      const { exitCode, check: result } = await check('plain');
      expect(exitCode).toBe(1);
      expect(result.ok).toBe(false);
      const overlap = result.overlaps.slice(before).find((o) => o.nodes.includes(plain))!;
      expect(overlap, JSON.stringify(result.violations)).toBeDefined();
      expect(overlap.description).toMatch(new RegExp(`held the lock .*: ${plain} wrote \\d+\\.\\d s after it was granted the lock, \\d+\\.\\d s past its 1\\.0 s TTL`));
      expect(result.lost).toBeGreaterThan(0);
      expect(result.violations.at(-1)).toMatch(/^the counter is \d+ after \d+ acknowledged increments: \d+ lost$/);
      // The paused holder's own release found the lock another's: the compare-and-delete left it alone.
      expect((await contenders('plain')).find((n) => n.id === plain)!.state.lock_lost).toBeGreaterThanOrEqual(1);
      // r1 saw it too, as the write arrived: the dashboard's verdict line and its event log read these.
      const resourceState = async (name: string) => (await client(name).status()).nodes.find((n) => n.id === 'r1')!.state;
      const live = await resourceState('plain');
      expect(live).toMatchObject({ verdict_ok: false, lost: result.lost, overlaps: result.overlaps.length });
      expect(live.violations).toBeGreaterThanOrEqual(1);
      expect(String(live.last_violation)).toMatch(/held the lock /);
      expect(live.verdict).toBe(`counter ${result.counter} after ${result.acknowledged} acknowledged increments, ${result.lost} lost; ${result.overlaps.length} overlap${result.overlaps.length === 1 ? '' : 's'}`);

      const fencing = await check('fenced');
      expect(fencing.check.violations).toEqual([]);
      expect(fencing.exitCode).toBe(0);
      expect(fencing.check.rejected_writes).toBeGreaterThanOrEqual(1);
      expect(fencing.check.lost).toBe(0);
      expect(fencing.check.counter).toBe(fencing.check.acknowledged);
      const row = (await contenders('fenced')).find((n) => n.id === fenced)!;
      expect(row.state.rejected).toBeGreaterThanOrEqual(1);
      expect(String(row.state.last_error)).toMatch(/^rejected: stale token \d+/);
      expect(await resourceState('fenced')).toMatchObject({ verdict_ok: true, violations: 0, lost: 0 });
      const status = await cli('lock', 'status', '--cluster', 'fenced');
      expect(status.stdout).toMatch(/stale writes? rejected; mutual exclusion held and nothing was lost/);
    }, 180_000);

    it.concurrent('a zk holder paused past its session timeout loses its ephemeral and stops before it writes: nothing lost, even without fencing', async () => {
      const paused = await pauseHolderPastTtl('zk', zk_hold_ms, 3, pause_past_lease_ms);
      const { exitCode, check: result } = await check('zk');
      expect(result.violations).toEqual([]);
      expect(exitCode).toBe(0);
      const row = (await contenders('zk')).find((n) => n.id === paused)!;
      // Paused between its read and its write (pauseHolder checks that from r1's view), it woke to a session too old to trust.
      expect(row.state.stopped_before_write).toBeGreaterThanOrEqual(1);
      // Its later rounds ran on a new session.
      expect(row.state.acked).toBeGreaterThanOrEqual(1);
    }, 180_000);
  });

  describe('a killed state keeper: redis-server, r1', () => {
    it.concurrent('lets a second contender in while the first still works when redis-server is killed and restarts empty', async () => {
      const before = (await check('plain')).check.overlaps.length;
      expect((await cli('lock', 'run', '--cluster', 'plain', '--rounds', '4', '--no-wait')).exitCode).toBe(0);
      const holder = await waitFor('a holder', async () => (await contenders('plain')).find((n) => n.state.lock_state === 'holding'));
      // Through the control API rather than two CLI runs: both land inside the holder's section.
      await client('plain').act({ type: 'kill', node: 'redis1' });
      await client('plain').act({ type: 'restart', node: 'redis1' });
      await idle('plain');
      const { check: result } = await check('plain');
      // Someone (usually another contender) took the forgotten lock while the holder's section was still open.
      const overlap = result.overlaps.slice(before).find((o) => o.nodes.includes(holder.id));
      expect(overlap, `${holder.id}: ${JSON.stringify(result.violations)}`).toBeDefined();
      const status = (await client('plain').status()) as ClusterStatus;
      expect(status.servers?.find((s) => s.id === 'redis1')?.restarts).toBeGreaterThanOrEqual(1);
    }, 180_000);

    it.concurrent('a restarted r1 keeps its record: the counter, what it observed and the highest token, so a stale write is still refused', async () => {
      const before = (await check('fenced')).check;
      const max_token = (await client('fenced').status()).nodes.find((n) => n.id === 'r1')!.state.max_token as number;
      expect(before.acknowledged).toBeGreaterThan(0);
      expect((await cli('kill', 'r1', '--cluster', 'fenced')).exitCode).toBe(0);
      expect((await cli('restart', 'r1', '--cluster', 'fenced')).exitCode).toBe(0);
      const after = (await check('fenced')).check;
      expect([after.sections, after.acknowledged, after.counter, after.rejected_writes]).toEqual([before.sections, before.acknowledged, before.counter, before.rejected_writes]);
      const stale = await client('fenced').act({ type: 'send', dest: 'r1', body: { type: 'res_write', round: 1, token: 1, acquired_ms: Date.now(), ttl_ms: 1000, value: 0 } });
      expect(stale.reply).toMatchObject({ type: 'error', code: 22, text: `stale token 1: a write with token ${max_token} was already accepted` });
    }, 60_000);
  });

  it('with fencing, every recipe loses nothing and accepts no stale write under a nemesis of kills, pauses and partitions', async () => {
    const members: [string, string[]][] = [
      ['fenced', ['redis1', 'r1', 'k1', 'k2', 'k3']],
      ['naive-fenced', ['redis1', 'r1', 'k1', 'k2', 'k3']],
      ['etcd-fenced', ['etcd1', 'r1', 'k1', 'k2', 'k3']],
      ['norecheck-fenced', ['etcd1', 'r1', 'k1', 'k2', 'k3']],
      ['zk-fenced', ['z1', 'z2', 'z3', 'r1', 'k1', 'k2', 'k3']],
    ];
    const runs = await Promise.all(
      members.map(async ([name, ids]) => {
        expect((await client(name).status()).nodes.map((n) => n.id).filter((id) => !ids.includes(id))).toEqual([]);
        const accepted = async () => (await client(name).status()).nodes.find((n) => n.id === 'r1')!.state.accepted as number;
        const before = await accepted();
        const run = await cli('lock', 'run', '--cluster', name, '--rounds', '1000', '--no-wait');
        expect(run.exitCode, `${name}: ${run.stderr}`).toBe(0);
        // Sections under way before the faults begin (a restarted redis restarts its tokens, after which fencing refuses every write).
        await waitFor(`${name}'s first write of the run`, async () => (await accepted()) > before, 60_000);
        const seed = seedKillingPausingPartitioning(ids);
        const nemesis = await cli('nemesis', '--cluster', name, '--interval', '1s', '--duration', '5s', '--seed', String(seed), '--json');
        expect(nemesis.exitCode, `${name}: ${nemesis.stderr}`).toBe(0);
        const faults = (JSON.parse(nemesis.stdout) as { faults: string[] }).faults;
        // The contenders stop after their section in progress; what the resource saw is judged as it stands.
        for (const c of await contenders(name)) {
          if (c.status === 'up') await client(name).act({ type: 'send', dest: c.id, body: { type: 'lock_stop' }, timeout_ms: 10_000 }).catch(() => undefined);
        }
        return { name, seed, faults, before, ...(await check(name)) };
      }),
    );
    for (const { name, seed, faults, before, exitCode, check: result } of runs) {
      const what = `${name} (nemesis seed ${seed}: ${faults.join('; ')}): ${JSON.stringify(result.violations)}`;
      expect(faults.some((f) => f.startsWith('killed')), what).toBe(true);
      expect(faults.some((f) => f.startsWith('paused')), what).toBe(true);
      expect(result.violations, what).toEqual([]);
      expect(result.lost, what).toBe(0);
      expect(result.token_regressions, what).toEqual([]);
      expect(result.counter, what).toBe(result.acknowledged);
      // Every write r1 accepted before the run is still in its record, whatever the nemesis killed.
      expect(result.acknowledged, what).toBeGreaterThan(before);
      expect(exitCode, what).toBe(0);
    }
  }, 180_000);

  it("down prints the lock check's verdict before it stops a locks cluster, and --json carries it", async () => {
    const plain = await cli('down', '--cluster', 'plain', '--json');
    expect(plain.exitCode, plain.stderr).toBe(0);
    const { checks, stopped } = JSON.parse(plain.stdout) as { checks: ClosingCheck[]; stopped: boolean };
    expect(stopped).toBe(true);
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ workload: 'locks', result: 'invalid' });
    expect((checks[0]!.details as unknown as LockCheck).lost).toBeGreaterThan(0);
    // Two or more contenders may overlap in one group ("k3, k1 and k2 all held the lock").
    expect(checks[0]!.text).toMatch(/^lock check: VIOLATED: .*\n {2}- k\d(, k\d)* and k\d (both|all) held the lock /);
    // Once the cluster is stopped, lock check judges what r1 kept in the cluster folder: the verdict down printed.
    const afterwards = await cli('lock', 'check', '--cluster', 'plain');
    expect(afterwards.exitCode).toBe(1);
    expect(`lock check: ${afterwards.stdout.trimEnd()}`).toBe(checks[0]!.text);

    const fenced = await cli('down', '--cluster', 'etcd-fenced');
    expect(fenced.exitCode, fenced.stderr).toBe(0);
    expect(fenced.stdout).toMatch(/^lock check: ok: \d+ critical sections, \d+ acknowledged increments, counter \d+; \d+ stale writes? rejected; mutual exclusion held and nothing was lost\nstopped cluster etcd-fenced\n?$/);
  }, 60_000);
});
