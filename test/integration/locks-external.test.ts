import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, dslab, isAlive, makeWorkdir, repo_root, waitFor } from '../helpers/cli.js';
import { raceThroughLeaderKill } from '../helpers/lock-race.js';

/**
 * Contenders that lock through a program of their own (--contender-cmd,
 * --recipe kazoo), judged by the same checker as dslab's recipes: a fake lock
 * made of a directory (mutual exclusion holds, tokens fence), the same
 * program taking no lock at all (the checker names the overlaps), and kazoo's
 * Lock recipe racing while the Zab leader is killed. (The seed's Go program as
 * a contender is in zk-clients.test.ts, the one file whose clusters take
 * ZooKeeper's port 2181, where the program connects.)
 */
const fake_lock = path.join(repo_root, 'test', 'fixtures', 'file-lock-contender.mjs');
const fake_lines = ['--holds-line', '^held (\\d+)$', '--releases-line', '^released$'];

// The two blocks at once, each in order: the kazoo race mostly waits for its sections and its failover.
describe.concurrent('contenders through programs of their own', () => {
  describe.sequential('contender commands', () => {
    let cwd: string;
    const cli = (...args: string[]) => dslab(cwd, ...args);

    beforeAll(async () => {
      cwd = makeWorkdir();
      // One Zab server each: these commands lock without it, and it is the cheapest backend to start.
      const clusters: [string, string[]][] = [
        ['file-lock', ['--contender-cmd', `node ${fake_lock}`, '--fencing', '--hold', '100ms']],
        ['no-lock', ['--contender-cmd', `node ${fake_lock} --no-lock`, '--hold', '1s']],
      ];
      const ups = await Promise.all(clusters.map(([name, flags]) => cli('up', 'locks', '--name', name, '--backend', 'zk', '--nodes', '1', '--contenders', '3', '--detach', ...fake_lines, ...flags)));
      for (const up of ups) expect(up.exitCode, up.stderr).toBe(0);
    }, 120_000);

    afterAll(async () => {
      await cleanup(cwd);
    });

    // The two clusters' runs at once: each is mostly waiting for its commands' sections.
    describe.concurrent('on clusters of their own', () => {
      it.concurrent('a command that takes a real lock: every section in turn, fenced by the tokens it prints, nothing lost', async () => {
        const run = await cli('lock', 'run', '--cluster', 'file-lock', '--rounds', '3');
        expect(run.exitCode, run.stderr).toBe(0);
        expect(run.stdout).toContain('ok: 9 critical sections, 9 acknowledged increments, counter 9; 0 stale writes rejected; mutual exclusion held and nothing was lost');
        // The lock lives in the commands' own client: status says so rather than guess a holder.
        const status = await cli('lock', 'status', '--cluster', 'file-lock');
        expect(status.exitCode, status.stderr).toBe(0);
        expect(status.stdout).toContain("lock: unknown (taken through each contender's own command, which dslab does not ask: see each contender's STATE)");
      }, 120_000);

      it.concurrent('a command that takes no lock: the same checker names the contenders that held it at once', async () => {
        const run = await cli('lock', 'run', '--cluster', 'no-lock', '--rounds', '2');
        expect(run.exitCode).toBe(1);
        expect(run.stdout).toMatch(/^VIOLATED: 6 critical sections, 6 acknowledged increments, counter \d; \d+ times? two contenders held the lock at once/m);
        expect(run.stdout).toMatch(/k\d, k\d and k\d all held the lock|k\d and k\d both held the lock/);
      }, 120_000);
    });

    it("down leaves none of the commands running (each ran in the working directory, where they left their pids)", async () => {
      for (const name of ['file-lock', 'no-lock']) expect((await cli('down', '--cluster', name)).exitCode).toBe(0);
      const pids = readdirSync(path.join(cwd, 'pids')).map(Number);
      // 9 rounds of file-lock and 6 of no-lock, one process each.
      expect(pids).toHaveLength(15);
      await waitFor('every contender command to be gone', () => pids.every((pid) => !isAlive(pid)));
    }, 120_000);
  });

  describe.sequential('real ZooKeeper clients as contenders, the leader killed under them', () => {
    let cwd: string;
    const cli = (...args: string[]) => dslab(cwd, ...args);

    beforeAll(() => {
      cwd = makeWorkdir();
    });

    afterAll(async () => {
      await cleanup(cwd);
    });

    it("kazoo's Lock recipe: mutual exclusion holds and the znode sequence numbers fence", async () => {
      const up = await cli('up', 'locks', '--name', 'kazoo', '--backend', 'zk', '--nodes', '3', '--recipe', 'kazoo', '--fencing', '--ttl', '4s', '--hold', '200ms', '--contenders', '3', '--detach');
      expect(up.exitCode, up.stderr).toBe(0);
      const { exitCode, check } = await raceThroughLeaderKill(cwd, 'kazoo', 3);
      expect(check.ok, JSON.stringify(check)).toBe(true);
      expect(exitCode).toBe(0);
      expect(check.acknowledged).toBeGreaterThan(0);
    }, 420_000);
  });
});
