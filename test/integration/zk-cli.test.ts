import type { ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, controlStatus, dslab, dslabJson, dslabSpawn, makeWorkdir, waitFor } from '../helpers/cli.js';

type Stat = { version: number; ephemeralOwner: string | null; numChildren: number };
type SessionRow = { session: string; name: string | null; server: string | null; timeout_ms: number; idle_ms: number };

// One ensemble for the file: `dslab zk` against real zab servers, through the supervisor's sessions.
describe('dslab zk on a real zab ensemble', () => {
  let cwd: string;
  const watchers: ResultPromise[] = [];

  beforeAll(async () => {
    cwd = makeWorkdir();
    const up = await dslab(cwd, 'up', 'zab', '--nodes', '3', '--detach');
    expect(up.exitCode, up.stderr).toBe(0);
    await waitFor('an established leader', async () => {
      const s = await controlStatus(cwd);
      return s.leader !== null && s.nodes.every((n) => (n.state as { phase?: string }).phase === 'broadcast');
    });
  });

  afterAll(async () => {
    for (const watcher of watchers) watcher.kill('SIGKILL');
    await cleanup(cwd);
  });

  it('creates, reads, lists and sets znodes, with a version check', async () => {
    const created = await dslab(cwd, 'zk', 'create', '/app', 'v1');
    expect(created.exitCode, created.stderr).toBe(0);
    expect(created.stdout.trim()).toBe('created /app');
    expect((await dslab(cwd, 'zk', 'get', '/app')).stdout.trim()).toBe('v1');
    await dslab(cwd, 'zk', 'create', '/app/job-', '--sequential');
    expect((await dslab(cwd, 'zk', 'ls', '/app')).stdout.trim().split('\n')).toEqual(['job-0000000000']);
    const set = await dslabJson<{ stat: Stat }>(cwd, 'zk', 'set', '/app', 'v2', '--version', '0');
    expect(set.stat.version).toBe(1);
    const stale = await dslab(cwd, 'zk', 'set', '/app', 'v3', '--version', '0');
    expect(stale.exitCode).toBe(1);
    expect(stale.stderr.trim()).toMatch(/^dslab: BadVersion: /);
    expect((await dslab(cwd, 'zk', 'get', '/app')).stdout.trim()).toBe('v2');
    const stat = await dslab(cwd, 'zk', 'stat', '/app');
    expect(stat.stdout).toMatch(/^dataVersion = 1$/m);
    expect(stat.stdout).toMatch(/^aclVersion = 0$/m);
    expect(stat.stdout).toMatch(/^numChildren = 1$/m);
  });

  it('keeps an ephemeral of a named session after its command, until session close', async () => {
    const created = await dslab(cwd, 'zk', 'create', '/lock', 'me', '--ephemeral', '--session', 'holder');
    expect(created.exitCode, created.stderr).toBe(0);
    // Another command, on a session of its own, sees it owned by the named session.
    const stat = await dslabJson<{ stat: Stat }>(cwd, 'zk', 'stat', '/lock');
    expect(stat.stat.ephemeralOwner).not.toBeNull();
    const sessions = await dslabJson<{ sessions: SessionRow[] }>(cwd, 'zk', 'sessions');
    const holder = sessions.sessions.find((s) => s.name === 'holder');
    expect(holder?.session).toBe(stat.stat.ephemeralOwner);
    expect(['n1', 'n2', 'n3']).toContain(holder?.server);
    const closed = await dslab(cwd, 'zk', 'session', 'close', 'holder');
    expect(closed.exitCode, closed.stderr).toBe(0);
    const gone = await dslab(cwd, 'zk', 'stat', '/lock');
    expect(gone.exitCode).toBe(1);
    expect(gone.stderr.trim()).toBe('dslab: NoNode: no znode /lock');
  });

  it('refuses with one line naming the ZooKeeper error, and exit code 1', async () => {
    const missing = await dslab(cwd, 'zk', 'get', '/no/such/znode');
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/^dslab: NoNode: /);
    const json = await dslab(cwd, 'zk', 'rm', '/app', '--json');
    expect(json.exitCode).toBe(1);
    expect((JSON.parse(json.stdout) as { error: string }).error).toMatch(/^NotEmpty: /);
  });

  it('zk watch prints each change until it is stopped, and closes its session', async () => {
    await dslab(cwd, 'zk', 'create', '/w', 'a');
    let out = '';
    const watcher = dslabSpawn(cwd, 'zk', 'watch', '/w');
    watchers.push(watcher);
    watcher.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await waitFor('the watch to be set', () => out.includes('watching /w (version 0)'));
    await dslab(cwd, 'zk', 'set', '/w', 'b');
    await waitFor('the first event', () => /NodeDataChanged \/w/.test(out));
    // Set again after the event: a second change is heard too.
    await waitFor('the watch to be set again', () => out.includes('watching /w (version 1)'));
    await dslab(cwd, 'zk', 'rm', '/w');
    await waitFor('the second event', () => /NodeDeleted \/w/.test(out));
    watcher.kill('SIGINT');
    const result = await watcher;
    expect(result.exitCode).toBe(0);
    const sessions = await dslabJson<{ sessions: SessionRow[] }>(cwd, 'zk', 'sessions');
    expect(sessions.sessions.filter((s) => s.name?.startsWith('watch-'))).toEqual([]);
  });
});
