import { execa } from 'execa';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readClusterInfo } from '../../src/lib/cluster/paths.js';
import { ControlClient } from '../../src/lib/control/client.js';
import type { LockCheck } from '../../src/systems/locks/checker.js';
import { cleanup, dslab, isAlive, makeWorkdir, repo_root, waitFor } from '../helpers/cli.js';

/**
 * Contenders that lock through a program of their own (--contender-cmd,
 * --recipe kazoo), judged by the same checker as dslab's recipes: a fake lock
 * made of a directory (mutual exclusion holds, tokens fence), the same
 * program taking no lock at all (the checker names the overlaps), and, once
 * the Zab servers speak ZooKeeper's wire protocol, kazoo's Lock recipe and the
 * seed's Go program racing while the leader is killed.
 */
const fake_lock = path.join(repo_root, 'test', 'fixtures', 'file-lock-contender.mjs');
const fake_lines = ['--holds-line', '^held (\\d+)$', '--releases-line', '^released$'];

describe('contender commands', () => {
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

  it('a command that takes a real lock: every section in turn, fenced by the tokens it prints, nothing lost', async () => {
    const run = await cli('lock', 'run', '--cluster', 'file-lock', '--rounds', '3');
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain('ok: 9 critical sections, 9 acknowledged increments, counter 9; 0 stale writes rejected; mutual exclusion held and nothing was lost');
    // The lock lives in the commands' own client: status says so rather than guess a holder.
    const status = await cli('lock', 'status', '--cluster', 'file-lock');
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).toContain("lock: unknown (taken through each contender's own command, which dslab does not ask: see each contender's STATE)");
  }, 120_000);

  it('a command that takes no lock: the same checker names the contenders that held it at once', async () => {
    const run = await cli('lock', 'run', '--cluster', 'no-lock', '--rounds', '2');
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/^VIOLATED: 6 critical sections, 6 acknowledged increments, counter \d; \d+ times? two contenders held the lock at once/m);
    expect(run.stdout).toMatch(/k\d, k\d and k\d all held the lock|k\d and k\d both held the lock/);
  }, 120_000);

  it("down leaves none of the commands running (each ran in the working directory, where they left their pids)", async () => {
    for (const name of ['file-lock', 'no-lock']) expect((await cli('down', '--cluster', name)).exitCode).toBe(0);
    const pids = readdirSync(path.join(cwd, 'pids')).map(Number);
    // 9 rounds of file-lock and 6 of no-lock, one process each.
    expect(pids).toHaveLength(15);
    await waitFor('every contender command to be gone', () => pids.every((pid) => !isAlive(pid)));
  }, 120_000);
});

/** The wire protocol's connection (zwire's, issue 22): until it is on this branch no real client can reach the Zab servers. */
const wire_ready = existsSync(path.join(repo_root, 'src', 'lib', 'zk-wire', 'connection.ts'));
const seed_program = path.join(repo_root, '..', 'shared', 'seed', 'zookeeper-lock.go');
/** ZooKeeper's default client port, where the seed's Go program connects. */
const zookeeper_port = 2181;
const skipped = wire_ready ? '' : ' (skipped: the ZooKeeper wire protocol, src/lib/zk-wire/connection.ts, is not on this branch yet)';

/** Whether something accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe.skipIf(!wire_ready)(`real ZooKeeper clients as contenders, the leader killed under them${skipped}`, () => {
  let cwd: string;
  const cli = (...args: string[]) => dslab(cwd, ...args);
  const contenders = async (name: string) => (await new ControlClient(readClusterInfo(path.join(cwd, '.dslab', name, 'cluster.json'))!).status()).nodes.filter((n) => n.group === 'contenders');

  beforeAll(() => {
    cwd = makeWorkdir();
  });

  afterAll(async () => {
    await cleanup(cwd);
  });

  /** Starts rounds, kills the Zab leader while a contender's command holds the lock, waits for the rounds; the check. */
  async function raceThroughLeaderKill(name: string, rounds: number): Promise<{ exitCode: number; check: LockCheck }> {
    expect((await cli('lock', 'run', '--cluster', name, '--rounds', String(rounds), '--no-wait')).exitCode).toBe(0);
    await waitFor(`a contender of ${name} holding the lock`, async () => (await contenders(name)).some((n) => n.state.lock_state === 'holding' || n.state.lock_state === 'releasing'), 120_000);
    const killed = await cli('kill', 'leader', '--cluster', name);
    expect(killed.exitCode, killed.stderr).toBe(0);
    await waitFor(`${name}'s rounds to end`, async () => (await contenders(name)).every((n) => n.state.rounds_left === 0 && n.state.lock_state === 'idle'), 300_000);
    const result = await cli('lock', 'check', '--cluster', name, '--json');
    return { exitCode: result.exitCode, check: JSON.parse(result.stdout) as LockCheck };
  }

  it("kazoo's Lock recipe: mutual exclusion holds and the znode sequence numbers fence", async () => {
    const up = await cli('up', 'locks', '--name', 'kazoo', '--backend', 'zk', '--nodes', '3', '--recipe', 'kazoo', '--fencing', '--ttl', '4s', '--hold', '200ms', '--contenders', '3', '--detach');
    expect(up.exitCode, up.stderr).toBe(0);
    const { exitCode, check } = await raceThroughLeaderKill('kazoo', 3);
    expect(check.ok, JSON.stringify(check)).toBe(true);
    expect(exitCode).toBe(0);
    expect(check.acknowledged).toBeGreaterThan(0);
  }, 420_000);

  it.skipIf(!existsSync(seed_program))("the seed's Go program, compiled unchanged, on ZooKeeper's port 2181: mutual exclusion holds", async (context) => {
    // The program connects to 127.0.0.1:2181 whatever the cluster: only a cluster that gets that port is the one it reaches.
    if (await listening(zookeeper_port)) context.skip(`port ${zookeeper_port} is taken by another program: the Go program would lock there, not in this cluster`);
    const build = mkdtempSync(path.join(tmpdir(), 'dslab-go-'));
    const program = path.join(cwd, 'zookeeper-lock');
    await execa('go', ['build', '-o', program, seed_program], { env: { GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOCACHE: build } });
    const up = await cli('up', 'locks', '--name', 'go', '--backend', 'zk', '--nodes', '3', '--contender-cmd', './zookeeper-lock', '--hold', '200ms', '--contenders', '2', '--detach');
    expect(up.exitCode, up.stderr).toBe(0);
    const { exitCode, check } = await raceThroughLeaderKill('go', 1);
    expect(check.ok, JSON.stringify(check)).toBe(true);
    expect(exitCode).toBe(0);
    expect(check.acknowledged).toBeGreaterThan(0);
  }, 420_000);
});
