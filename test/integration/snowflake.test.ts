import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, controlStatus, dslab, dslabJson, dslabSpawn, makeWorkdir, repo_root, waitFor } from '../helpers/cli.js';

// Two lanes at once, each with clusters of its own: the coordinator's story below mostly waits (a session
// to expire, a 12 s load), so it runs beside the static-number cluster and then the unique-ids lab.
describe.concurrent('static numbers, then the unique-ids lab', () => {
  // Static numbers over two datacenters, so the ids' parts are known in advance: generate, decode,
  // a clock set back.
  describe.sequential('snowflake on real processes', () => {
    let cwd: string;
    const status = () => controlStatus(cwd);
    const worker = async (id: string) => (await status()).nodes.find((n) => n.id === id)!;

    beforeAll(async () => {
      cwd = makeWorkdir();
      const up = await dslab(cwd, 'up', 'snowflake', '--workers', '3', '--coordinator', '1', '--datacenters', '2', '--worker-numbers', 'static', '--detach');
      expect(up.exitCode, up.stderr).toBe(0);
      expect(up.stdout).toContain('coordinator z1; workers w1, w2, w3');
      await waitFor('every worker serving', async () => (await status()).nodes.filter((n) => n.state.role === 'serving').length === 3);
    });

    afterAll(async () => {
      await cleanup(cwd);
    });

    it('generates ids as decimal strings that decode to the worker that issued them', async () => {
      const batch = await dslab(cwd, 'id', 'generate', '--count', '3', '--worker', 'w2');
      expect(batch.exitCode, batch.stderr).toBe(0);
      const ids = batch.stdout.trim().split('\n');
      expect(ids).toHaveLength(3);
      for (const id of ids) expect(id).toMatch(/^\d{18,19}$/);
      expect(BigInt(ids[1]!)).toBeGreaterThan(BigInt(ids[0]!));
      const decoded = await dslabJson<{ datacenter: number; worker: number; sequence: number; time: string; since_epoch_ms: number }>(cwd, 'id', 'decode', ids[2]!);
      // w2 is the second worker: datacenter 1, worker 0.
      expect(decoded).toMatchObject({ datacenter: 1, worker: 0 });
      expect(Math.abs(Date.parse(decoded.time) - Date.now())).toBeLessThan(60_000);
      expect(decoded.since_epoch_ms).toBe(Date.parse(decoded.time) - Date.UTC(2018, 7, 1));
      const bad = await dslab(cwd, 'id', 'decode', '12x');
      expect(bad.exitCode).toBe(1);
      expect(bad.stderr.trim()).toBe('dslab: "12x" is not an id: ids are decimal numbers of at most 19 digits');
    });

    it('refuses when a worker clock is set back past --max-backward, says by how much, and serves again once it catches up', async () => {
      const before = await dslab(cwd, 'id', 'generate', '--worker', 'w1');
      expect(before.exitCode, before.stderr).toBe(0);
      // Far enough back that the CLI calls in between (a second or more each on a loaded machine) leave it behind.
      expect((await dslab(cwd, 'skew', 'w1', '-5000ms')).exitCode).toBe(0);
      const refused = await dslab(cwd, 'id', 'generate', '--worker', 'w1');
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toMatch(/^dslab: w1 refused: the clock is \d+ ms behind the latest time issued .*more than --max-backward 5 ms/);
      await waitFor('w1 reported refusing', async () => (await worker('w1')).state.role === 'refusing');
      expect((await worker('w1')).state).toMatchObject({ clock_offset_ms: -5000 });
      // The other workers serve meanwhile; a load over all of them records refusals, not violations.
      const history = path.join(cwd, 'ids.jsonl');
      const load = await dslab(cwd, 'id', 'load', '--clients', '3', '--rate', '60', '--duration', '1s', '--count', '10', '--history', history);
      expect(load.exitCode, load.stdout + load.stderr).toBe(0);
      expect(load.stdout).toContain('valid: every id unique');
      const check = await dslab(cwd, 'id', 'check', history);
      expect(check.exitCode).toBe(0);
      // The skew in force when the load began widens w1's windows.
      expect(JSON.parse(readFileSync(history, 'utf8').split('\n')[0]!)).toMatchObject({ type: 'header', clock_offsets_ms: { w1: -5000 } });
      // The clock catches up 5 s later: w1 serves again, above what it issued before.
      const after = await waitFor('w1 serving again', async () => {
        const result = await dslab(cwd, 'id', 'generate', '--worker', 'w1');
        return result.exitCode === 0 ? result.stdout.trim() : undefined;
      });
      expect(BigInt(after)).toBeGreaterThan(BigInt(before.stdout.trim()));
    });
  });

  // The worker alone speaks Maelstrom's unique-ids: the warm-up lab grades it (restarts included) with
  // static numbers, as Maelstrom would run it.
  describe.sequential('a snowflake worker as a unique-ids node', () => {
    let cwd: string;
    beforeAll(() => {
      cwd = makeWorkdir();
    });
    afterAll(async () => {
      await cleanup(cwd);
    });

    it('gets full marks on the unique-ids lab', async () => {
      const worker = path.join(repo_root, 'dist', 'systems', 'snowflake', 'main.js');
      const run = await dslab(cwd, 'grade', 'unique-ids', '--bin', `node ${worker}`, '--json');
      const result = JSON.parse(run.stdout) as { score: number; max_score: number; results: { test: string; passed: boolean; failure: string | null }[] };
      expect(result.results.filter((r) => !r.passed).map((r) => `${r.test}: ${r.failure}`)).toEqual([]);
      expect(result.score).toBe(result.max_score);
      expect(run.exitCode).toBe(0);
    });
  });
});

// Numbers from a real coordinator (one zab server): a worker paused past its session loses its
// number to a worker that starts meanwhile, refuses when it wakes, and takes another; a load over
// the whole story checks valid.
describe.concurrent('snowflake worker numbers from the coordinator', () => {
  let cwd: string;
  const status = () => controlStatus(cwd);
  const numbers = async () => Object.fromEntries((await status()).nodes.filter((n) => n.group === 'workers').map((n) => [n.id, n.state.role === 'serving' ? (n.state.worker as number) : null]));

  beforeAll(async () => {
    cwd = makeWorkdir();
    const up = await dslab(cwd, 'up', 'snowflake', '--workers', '3', '--coordinator', '1', '--detach');
    expect(up.exitCode, up.stderr).toBe(0);
  });

  afterAll(async () => {
    await cleanup(cwd);
  });

  it("moves a paused worker's number to a newcomer once its session expired, and gives it another", async () => {
    const first = await waitFor('every worker serving with a number', async () => {
      const held = await numbers();
      return Object.values(held).every((n) => n !== null) ? held : undefined;
    });
    expect(new Set(Object.values(first))).toEqual(new Set([0, 1, 2]));
    const listed = await dslab(cwd, 'zk', 'ls', '/snowflake/dc0/workers');
    expect(listed.exitCode, listed.stderr).toBe(0);
    for (const n of ['0', '1', '2']) expect(listed.stdout).toContain(n);

    const history = path.join(cwd, 'moves.jsonl');
    const load = dslabSpawn(cwd, 'id', 'load', '--clients', '3', '--rate', '30', '--duration', '12s', '--count', '5', '--history', history);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await dslab(cwd, 'pause', 'w1')).exitCode).toBe(0);
    // Past w1's 2 s session: the coordinator deletes its number's znode. Then w3 starts again and takes the lowest free number: w1's.
    await waitFor("w1's number freed by its session's expiry", async () => {
      const held = await dslab(cwd, 'zk', 'ls', '/snowflake/dc0/workers');
      return held.exitCode === 0 && !held.stdout.split('\n').includes(String(first.w1));
    });
    expect((await dslab(cwd, 'kill', 'w3')).exitCode).toBe(0);
    expect((await dslab(cwd, 'restart', 'w3')).exitCode).toBe(0);
    await waitFor("w3 holding w1's number", async () => (await numbers()).w3 === first.w1);
    expect((await dslab(cwd, 'resume', 'w1')).exitCode).toBe(0);
    // w1 stops at once (its session went quiet long ago), then takes the lowest free number: w3's old
    // one if w3's old session has expired by then, else the next unused one.
    const after = await waitFor('w1 serving with a new number', async () => {
      const held = await numbers();
      return held.w1 !== null && held.w1 !== first.w1 ? held : undefined;
    });
    expect(new Set([after.w1, after.w2, after.w3]).size).toBe(3);
    const result = await load;
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('valid: every id unique');
    expect(result.stdout).toMatch(/[1-9]\d* refused/);
  });
});
