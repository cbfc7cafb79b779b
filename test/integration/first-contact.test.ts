import type { ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, dslab, dslabJson, dslabSpawn, makeWorkdir, waitFor } from '../helpers/cli.js';

/**
 * Commands a newcomer types, against one raft cluster (issue 18, items 4-11):
 * help for a command, the cluster list, commands meant for another system,
 * and the exit codes a script reads.
 *
 * For time, the three blocks run at once (each its own folder), and so do the
 * tests within each: every one names its cluster (`--cluster r`), reads, or
 * uses keys of its own (a load's keys have a fresh prefix), so none disturbs
 * another; and they mostly wait, on a cluster's start or on a CLI's.
 */
describe.concurrent('first contact', () => {
  describe('without a cluster', () => {
    let cwd: string;
    beforeAll(() => {
      cwd = makeWorkdir();
    });
    afterAll(async () => {
      await cleanup(cwd);
    });

    it('dslab help up shows up\'s help, as up --help does', async () => {
      const [help, flag] = await Promise.all([dslab(cwd, 'help', 'up'), dslab(cwd, 'up', '--help')]);
      expect(help.exitCode, help.stderr).toBe(0);
      expect(help.stdout).toContain('$ dslab up SYSTEM');
      expect(help.stdout).toBe(flag.stdout);
    });

    it('lab init prints commands that name dslab, however dslab was run', async () => {
      const init = await dslab(cwd, 'lab', 'init', 'echo', '--lang', 'python', 'my-echo');
      expect(init.exitCode, init.stderr).toBe(0);
      expect(init.stdout).toMatch(/^try it: dslab up echo --bin "/m);
      expect(init.stdout).toMatch(/^grade it: dslab grade echo --bin "/m);
    });
  });

  describe('with a raft cluster', () => {
    let cwd: string;
    const spawned: ResultPromise[] = [];
    beforeAll(async () => {
      cwd = makeWorkdir();
      const up = await dslab(cwd, 'up', 'raft', '--nodes', '3', '--name', 'r', '--detach');
      expect(up.exitCode, up.stderr).toBe(0);
      // Run as `node …/bin/run.js`, the hint still names dslab, as the README and every help example do.
      expect(up.stdout).toMatch(/stop it with: dslab down --cluster r$/m);
    }, 120_000);
    afterAll(async () => {
      for (const child of spawned) child.kill('SIGKILL');
      await cleanup(cwd);
    }, 120_000);

    it('dslab ls lists every cluster: running, and a failed start with its reason', async () => {
      const failed = await dslab(cwd, 'up', 'x', '--bin', '/no/such/program', '--nodes', '1', '--detach');
      expect(failed.exitCode).toBe(1);
      const clusters = await dslabJson<{ name: string; system: string; state: string; start_error: string | null; nodes: number; age_ms: number }[]>(cwd, 'ls');
      expect(clusters).toEqual([
        expect.objectContaining({ name: 'x', system: 'x', state: 'failed start', start_error: expect.stringMatching(/n1 exited/), nodes: 1 }),
        expect.objectContaining({ name: 'r', system: 'raft', state: 'running', start_error: null, nodes: 3 }),
      ]);
      const table = await dslab(cwd, 'clusters');
      expect(table.exitCode).toBe(0);
      const lines = table.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^NAME +SYSTEM +STATE +AGE +NODES$/);
      expect(lines[1]).toMatch(/^x +x +failed start +\S+ +1 +n1 exited/);
      expect(lines[2]).toMatch(/^r +raft +running +\S+ +3$/);
    });

    it.each([
      [['zk', 'get', '/x'], 'cluster r runs raft, not zab or snowflake: start one with dslab up zab'],
      [['id', 'generate'], 'cluster r runs raft, not unique-ids or snowflake: start one with dslab up unique-ids'],
      [['lock', 'status'], 'cluster r runs raft, not locks: start one with dslab up locks'],
    ])('dslab %j on raft says in one line that it needs another system', async (args, message) => {
      const result = await dslab(cwd, ...args, '--cluster', 'r');
      expect(result.exitCode).toBe(1);
      expect(result.stderr.trim()).toBe(`dslab: ${message}`);
    });

    it('kv get exits 2 for an absent key and 0 for a present one', async () => {
      const absent = await dslab(cwd, 'kv', 'get', 'nothing-here', '--cluster', 'r');
      expect([absent.exitCode, absent.stdout.trim()]).toEqual([2, 'nothing-here does not exist']);
      expect((await dslab(cwd, 'kv', 'put', 'k', '1', '--cluster', 'r')).exitCode).toBe(0);
      const present = await dslab(cwd, 'kv', 'get', 'k', '--cluster', 'r');
      expect([present.exitCode, present.stdout.trim()]).toEqual([0, 'k = 1']);
    });

    it('Ctrl-C during load says the run was interrupted, stops it and exits 130', async () => {
      let out = '';
      const load = dslabSpawn(cwd, 'load', '--duration', '5m', '--rate', '20', '--clients', '2', '--cluster', 'r');
      spawned.push(load);
      load.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      // Progress lines come once a second after the start line.
      await waitFor('the load to report progress', () => /ops/.test(out.split('\n').slice(1).join('\n')), 60_000);
      load.kill('SIGINT');
      const result = await load;
      expect(result.exitCode).toBe(130);
      expect(String(result.stderr)).toMatch(/^dslab: interrupted \(Ctrl-C\): the load was stopped early/m);
      // The supervisor's load stopped too: a new one may start.
      const next = await dslab(cwd, 'load', '--duration', '1s', '--rate', '5', '--cluster', 'r');
      expect(next.exitCode, next.stderr).toBe(0);
    }, 120_000);
  });

  describe("a backend's failure in dslab's words", () => {
    let cwd: string;
    beforeAll(async () => {
      cwd = makeWorkdir();
      const up = await dslab(cwd, 'up', 'locks', '--backend', 'redis', '--contenders', '2', '--name', 'l', '--detach');
      expect(up.exitCode, up.stderr).toBe(0);
    }, 120_000);
    afterAll(async () => {
      await cleanup(cwd);
    }, 120_000);

    it('lock status after kill redis1 says redis1 is down, not what the Redis client said', async () => {
      expect((await dslab(cwd, 'kill', 'redis1')).exitCode).toBe(0);
      const status = await dslab(cwd, 'lock', 'status');
      expect(status.stdout).toMatch(/^lock: unknown \(redis1 is down\b/m);
      expect(status.stdout).not.toMatch(/max retries/);
    }, 60_000);
  });
});
