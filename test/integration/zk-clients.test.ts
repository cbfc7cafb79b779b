import { execa, type ResultPromise } from 'execa';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRunningCluster } from '../../src/lib/cluster/paths.js';
import { ControlClient } from '../../src/lib/control/client.js';
import { apacheZooKeeperMissing, debian_python, startApacheZooKeeper, zkcli_path, type ApacheZooKeeper } from '../helpers/apache-zookeeper.js';
import { cleanup, controlStatus, dslab, makeWorkdir, repo_root, waitFor } from '../helpers/cli.js';
import { raceThroughLeaderKill } from '../helpers/lock-race.js';
import { tempDirs } from '../helpers/temp-dirs.js';

// Real, unmodified ZooKeeper clients on dslab's Zab ensemble, through the ZooKeeper client ports:
// kazoo, node-zookeeper-client and zkCli.sh answered as Apache ZooKeeper 3.8 answers them (the same
// scripts against both, reply by reply: error codes, stat fields other than times and zxids, watch
// events and their order); a kazoo session through a server's death and through its expiry; one
// cluster for these, the tests in order on it. Beside them, the seed's Go lock program racing for /lock
// while the leader is killed, by hand on a Zab ensemble and then as the contenders of a locks cluster:
// one locks cluster for both (its coordinator is that Zab ensemble, the same servers `dslab up zab` runs),
// on ZooKeeper's 2181, because the Go program names no port (the suite gives every other cluster free
// ports, DSLAB_ZK_PORT=0).

const clients = path.join(repo_root, 'test', 'fixtures', 'zk-clients');
const tempDir = tempDirs('dslab-zk-conformance-');
const missing = apacheZooKeeperMissing();
const client_run_ms = 90_000;

async function kazoo(connect: string): Promise<string[]> {
  const run = await execa(debian_python, [path.join(clients, 'kazoo-conformance.py'), connect], { reject: false, timeout: client_run_ms });
  expect(run.exitCode, run.stderr).toBe(0);
  return run.stdout.trim().split('\n');
}

async function nodeClient(connect: string): Promise<string[]> {
  const run = await execa(process.execPath, [path.join(clients, 'nzc-conformance.mjs'), connect], { reject: false, timeout: client_run_ms });
  expect(run.exitCode, run.stderr).toBe(0);
  return run.stdout.trim().split('\n');
}

/**
 * zkCli.sh's output with what differs between two correct servers left out: times, zxids, session ids,
 * log lines. Its watch events are printed by another thread, so where they fall among the commands'
 * output varies from run to run: they are compared apart, as a sorted list.
 */
async function zkCli(connect: string, root: string): Promise<{ output: string[]; events: string[] }> {
  const input = readFileSync(path.join(clients, 'zkcli-commands.txt'), 'utf8').replaceAll('ROOT', root);
  // One pipe for both streams, so errors ("Node already exists") keep their place among the results.
  const run = await execa('sh', ['-c', `"${zkcli_path}" -server ${connect} 2>&1`], { input, reject: false, timeout: client_run_ms });
  const lines = run.stdout
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^(SLF4J|log4j|Connecting to|cZxid|ctime|mZxid|mtime|pZxid) ?/.test(l))
    .map((l) => l.replaceAll(root, 'ROOT').replace(/ephemeralOwner = 0x[0-9a-f]*[1-9a-f][0-9a-f]*/, 'ephemeralOwner = SESSION'));
  const event = (l: string) => l.includes('WATCHER::') || l.includes('WatchedEvent state:');
  // A watch line may share a line with a command's output when the two threads print at once: cut it out.
  const events = lines.flatMap((l) => [...l.matchAll(/WatchedEvent state:\S+ type:\S+ path:\S+/g)].map((m) => m[0])).sort();
  const output = lines.map((l) => l.replace(/WATCHER::/g, '').replace(/WatchedEvent state:\S+ type:\S+ path:\S+/g, '').trim()).filter((l) => l !== '' && !event(l));
  return { output, events };
}

/** The chapter's Go lock program, where the project's seed sits beside the repository; else our stand-in (the same library calls and lines). */
const seed_go_lock = [path.join(repo_root, '..', 'shared', 'seed', 'zookeeper-lock.go'), path.join(clients, 'go-lock', 'main.go')].find((file) => existsSync(file))!;

interface Line {
  at_ms: number;
  text: string;
}

/** Waits until every server of the ensemble in `cwd` is up and leading or following. */
function allServing(cwd: string): Promise<boolean> {
  return waitFor('every server up and serving', async () => {
    const s = await controlStatus(cwd);
    return s.nodes.every((n) => n.status === 'up' && (n.state.role === 'leading' || n.state.role === 'following'));
  }, 60_000);
}

/** Collects a process's output lines (stdout and stderr) with when each arrived. */
function linesOf(child: ResultPromise): Line[] {
  const lines: Line[] = [];
  for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', (text) => lines.push({ at_ms: Date.now(), text }));
  return lines;
}

// The clients' tests and the Go program's two races run side by side (each block in order): the races mostly wait,
// each copy holding the lock for 10 s.
describe.concurrent('real ZooKeeper clients on a dslab zab ensemble', () => {
  describe.sequential('on one cluster, in order', () => {
    let cwd: string;
    let connect = '';
    let apache: ApacheZooKeeper | null = null;
    const children: ResultPromise[] = [];
    const status = () => controlStatus(cwd);
    const allUp = () => allServing(cwd);

    beforeAll(async () => {
      cwd = makeWorkdir();
      // The tick the Go program's cluster below needs, kept here so that these clients meet the ensemble they always met.
      const up = await dslab(cwd, 'up', 'zab', '--nodes', '3', '--detach', '--tick', '1000ms');
      expect(up.exitCode, up.stderr).toBe(0);
      connect = (await status()).zk!.connect_string;
      if (!missing) apache = await startApacheZooKeeper(tempDir());
    }, 120_000);

    afterAll(async () => {
      for (const child of children) child.kill('SIGKILL');
      await apache?.stop();
      await cleanup(cwd);
    });

    describe.skipIf(missing !== null)('the same scripts against Apache ZooKeeper 3.8 and dslab', () => {
      it('answers kazoo as Apache ZooKeeper does: errors, stats, sequential names, watch events in order, multi results, ACLs, recipes', async () => {
        const [theirs, ours] = await Promise.all([kazoo(apache!.connect), kazoo(connect)]);
        expect(theirs.length).toBeGreaterThan(40);
        expect(ours).toEqual(theirs);
      }, 180_000);

      it('answers node-zookeeper-client as Apache ZooKeeper does', async () => {
        const [theirs, ours] = await Promise.all([nodeClient(apache!.connect), nodeClient(connect)]);
        expect(theirs.length).toBeGreaterThan(30);
        expect(ours).toEqual(theirs);
      }, 180_000);

      it('answers zkCli.sh as Apache ZooKeeper does: create, get, set, ls, stat, delete, a watch', async () => {
        const [theirs, ours] = await Promise.all([zkCli(apache!.connect, '/cli-theirs'), zkCli(connect.split(',')[1]!, '/cli-ours')]);
        expect(theirs.output).toContain('Created ROOT');
        expect(theirs.events).toContain('WatchedEvent state:SyncConnected type:NodeDataChanged path:ROOT');
        expect(ours.output).toEqual(theirs.output);
        expect(ours.events).toEqual(theirs.events);
      }, 180_000);
    });

    /** Starts a session script (kazoo-session.py, nzc-session.mjs) on a fresh root and waits for its ready line. */
    async function sessionScript(command: string, script: string, root: string) {
      const child = execa(command, [path.join(clients, script), connect, root], { reject: false, stdin: 'pipe', buffer: false });
      children.push(child);
      const lines: Record<string, unknown>[] = [];
      createInterface({ input: child.stdout! }).on('line', (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
      const ready = await waitFor(`${script} connected`, () => lines.find((l) => l.ready), 60_000);
      const next = <T>(what: string, key: string) => waitFor(`${script}: ${what}`, () => lines.find((l) => key in l), 60_000) as Promise<T>;
      return { child, next, ready: ready as { session: string; local_port: number; server_port: number } };
    }

    /** Kills the server a client is connected to, runs `during`, and restarts the server whatever happened. */
    async function withServerKilled(server_port: number, during: () => Promise<void>): Promise<void> {
      const server = (await status()).zk!.ports.find((p) => p.port === server_port)!.server;
      expect((await dslab(cwd, 'kill', server)).exitCode).toBe(0);
      try {
        await during();
      } finally {
        expect((await dslab(cwd, 'restart', server)).exitCode).toBe(0);
      }
    }

    it("keeps a kazoo session and its ephemeral when its server is killed: kazoo moves to another server, and its DataWatch recipe sees a later create", async () => {
      await allUp();
      const { child, next, ready } = await sessionScript(debian_python, 'kazoo-session.py', '/kazoo-moving');
      await withServerKilled(ready.server_port, async () => {
        child.stdin!.write('go\n');
        const after = await next<{ states: string[]; session: string; eph: boolean; server_port: number; one_shot_dropped: boolean }>('back on another server', 'states');
        expect(after.states).toContain('SUSPENDED');
        expect(after).toMatchObject({ session: ready.session, eph: true });
        expect(after.server_port).not.toBe(ready.server_port);
        // kazoo's own behaviour: a connection loss fires its one-shot watches with NONE (it does not set them again).
        expect(after.one_shot_dropped).toBe(true);
        expect((await dslab(cwd, 'zk', 'create', '/kazoo-moving/w', 'x')).exitCode).toBe(0);
        expect((await next<{ event: unknown }>('the data watch', 'event')).event).toMatchObject({ data: 'x', type: 'CREATED', path: '/kazoo-moving/w' });
      });
      await child;
    }, 180_000);

    it('keeps a node-zookeeper-client session and its watches when its server is killed: the client sets them again on another server (SetWatches)', async () => {
      await allUp();
      const { child, next, ready } = await sessionScript(process.execPath, 'nzc-session.mjs', '/nzc-moving');
      await withServerKilled(ready.server_port, async () => {
        child.stdin!.write('go\n');
        const after = await next<{ session: string; eph: boolean; server_port: number }>('back on another server', 'eph');
        expect(after).toMatchObject({ session: ready.session, eph: true });
        expect(after.server_port).not.toBe(ready.server_port);
        expect((await dslab(cwd, 'zk', 'create', '/nzc-moving/w', 'x')).exitCode).toBe(0);
        expect((await next<{ event: unknown }>('the watch set before the kill', 'event')).event).toEqual({ type: 'NODE_CREATED', path: '/nzc-moving/w' });
      });
      await child;
    }, 180_000);

    it('expires the session of a kazoo client stopped for longer than its timeout (as a long GC pause would): kazoo reports it lost, and its ephemeral is gone', async () => {
      await allUp();
      const { child, next } = await sessionScript(debian_python, 'kazoo-session.py', '/kazoo-expiring');
      // Nothing heard for its timeout: the leader expires the session and deletes its ephemeral.
      process.kill(child.pid!, 'SIGSTOP');
      try {
        // `dslab zk stat` asked through the control API: no CLI start per poll.
        const control = new ControlClient(findRunningCluster(path.join(cwd, '.dslab')));
        const stat = () => control.act({ type: 'workload', workload: 'zk', op: 'stat', args: { path: '/kazoo-expiring/eph' } });
        await waitFor('the ephemeral deleted', () => stat().then(() => false, (error: Error) => error.message.includes('NoNode')), 60_000);
      } finally {
        process.kill(child.pid!, 'SIGCONT');
      }
      child.stdin!.write('go\n');
      const after = await next<{ states: string[]; session: string | null }>('told of the expiry', 'states');
      expect(after.states).toContain('LOST');
      expect(after.session).toBeNull();
      await child;
    }, 180_000);
  });
});

describe.concurrent("the seed's Go lock program", () => {
  describe.sequential('by hand, then as contenders, on one locks cluster', () => {
    let cwd: string;
    let program = '';
    const children: ResultPromise[] = [];
    const status = () => controlStatus(cwd, 'go');
    /** The coordinator's Zab leader (the contenders and r1 have no Zab role). */
    const zabLeader = async () => (await status()).nodes.find((n) => n.group !== 'contenders' && n.state.role === 'leading' && n.status === 'up')?.id;
    const coordinatorServing = () =>
      waitFor('every Zab server up and serving', async () => {
        const zab = (await status()).nodes.filter((n) => n.group === 'coordinator');
        return zab.length === 3 && zab.every((n) => n.status === 'up' && (n.state.role === 'leading' || n.state.role === 'following'));
      }, 60_000);
    /** The program reaches only 2181's server (z1): the leader killed under it must be another one. */
    const ensureZ1Follows = async () => {
      await coordinatorServing();
      if ((await waitFor('a Zab leader', zabLeader, 60_000)) !== 'z1') return;
      expect((await dslab(cwd, 'kill', 'z1', '--cluster', 'go')).exitCode).toBe(0);
      expect((await dslab(cwd, 'restart', 'z1', '--cluster', 'go')).exitCode).toBe(0);
      await waitFor('another Zab leader', async () => ((await zabLeader()) ?? 'z1') !== 'z1', 60_000);
      await coordinatorServing();
    };

    beforeAll(async () => {
      cwd = makeWorkdir();
      const dir = tempDir();
      copyFileSync(seed_go_lock, path.join(dir, 'main.go'));
      program = path.join(cwd, 'zookeeper-lock');
      const env = { GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOCACHE: path.join(dir, 'cache'), GOFLAGS: '' };
      const build = await execa('go', ['build', '-o', program, 'main.go'], { cwd: dir, env, reject: false, timeout: 180_000 });
      expect(build.exitCode, build.stderr).toBe(0);
      // ZooKeeper's own tick (its default is 2 s) makes the Go program's 1 s session 2 ticks long; at dslab's
      // 100 ms tick it would get the 1 s it asks for, too short to ride out a failover on a loaded machine.
      const up = await dslab(cwd, 'up', 'locks', '--name', 'go', '--backend', 'zk', '--nodes', '3', '--zk-port', '2181', '--tick', '1000ms', '--contender-cmd', './zookeeper-lock', '--hold', '200ms', '--contenders', '2', '--detach');
      expect(up.exitCode, up.stderr).toBe(0);
    }, 240_000);

    afterAll(async () => {
      for (const child of children) child.kill('SIGKILL');
      await cleanup(cwd);
    });

    it("runs the seed's Go lock program unchanged: three copies racing for /lock hold it one at a time while the leader is killed", async () => {
      await ensureZ1Follows();
      const copies = [0, 1, 2].map(() => execa(program, [], { reject: false, buffer: false, timeout: 120_000 }));
      children.push(...copies);
      const outputs = copies.map(linesOf);
      await waitFor('a copy holding the lock', () => outputs.some((o) => o.some((l) => l.text.startsWith('lock succ'))), 60_000);
      const killed = await waitFor('a Zab leader', zabLeader, 60_000);
      expect(killed).not.toBe('z1');
      expect((await dslab(cwd, 'kill', killed, '--cluster', 'go')).exitCode).toBe(0);
      let ends;
      try {
        ends = await Promise.all(copies);
      } finally {
        expect((await dslab(cwd, 'restart', killed, '--cluster', 'go')).exitCode).toBe(0);
      }
      expect(ends!.map((e) => e.exitCode), outputs.map((o, i) => `copy ${i}: ${o.map((l) => l.text).join(' | ')}`).join('\n')).toEqual([0, 0, 0]);
      // Mutual exclusion, from what each copy printed: its hold runs from "lock succ" to "unlock succ".
      const holds = outputs.map((o, i) => {
        const from = o.find((l) => l.text.startsWith('lock succ'));
        const to = o.find((l) => l.text.startsWith('unlock succ'));
        expect(from && to, `copy ${i} printed ${o.map((l) => l.text).join(' | ')}`).toBeTruthy();
        return { from: from!.at_ms, to: to!.at_ms };
      });
      holds.sort((a, b) => a.from - b.from);
      for (let i = 1; i < holds.length; i++) expect(holds[i]!.from, 'a copy took the lock while another held it').toBeGreaterThanOrEqual(holds[i - 1]!.to);
    }, 240_000);

    it('as the contenders of the locks cluster (--contender-cmd): judged by the resource they write, mutual exclusion holds through a leader kill', async () => {
      await ensureZ1Follows();
      const { exitCode, check, killed } = await raceThroughLeaderKill(cwd, 'go', 1);
      expect(killed).not.toBe('z1');
      expect(check.ok, JSON.stringify(check)).toBe(true);
      expect(exitCode).toBe(0);
      expect(check.acknowledged).toBe(2);
    }, 300_000);
  });
});
