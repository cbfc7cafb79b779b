import { execa } from 'execa';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createElement as h } from 'react';
import { render } from 'ink-testing-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterEvent } from '../../src/lib/control/api.js';
import { readClusterInfo } from '../../src/lib/cluster/paths.js';
import { ControlClient } from '../../src/lib/control/client.js';
import { DashboardView } from '../../src/lib/dashboard/components.js';
import { reduceAll } from '../../src/lib/dashboard/model.js';
import { cleanup, cli_path, controlSend, controlStatus, makeWorkdir, repo_root, waitFor } from '../helpers/cli.js';

/**
 * A real redis-server as a cluster member (test/fixtures/systems/kvredis):
 * two nodes keep their keys in redis1, each through its own proxied link, so
 * the link's faults and the server's kill and restart reach them as they would
 * a real client.
 */
const fixtures = path.join(repo_root, 'test', 'fixtures', 'systems', 'kvredis');
const plugins = [path.join(fixtures, 'plugin.mjs'), path.join(fixtures, 'plugin-missing.mjs')].join(path.delimiter);

async function withFixtures(cwd: string, ...args: string[]) {
  const result = await execa(process.execPath, [cli_path, ...args], { cwd, reject: false, env: { NO_COLOR: '1', DSLAB_HOME: '', DSLAB_EXTRA_SYSTEMS: plugins }, timeout: 120_000 });
  return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode ?? -1 };
}

describe('a redis server as a cluster member', () => {
  let cwd: string;
  const kv = (...args: string[]) => withFixtures(cwd, ...args);
  const statusOf = () => controlStatus(cwd);
  /** A client request as `dslab send` makes it, through the control API (the command itself is run on redis1 below). */
  const request = (node: string, body: { type: string; [field: string]: unknown }, timeout_ms = 10_000) => controlSend(cwd, node, body, timeout_ms);

  beforeAll(async () => {
    cwd = makeWorkdir();
    const up = await kv('up', 'kvredis', '--nodes', '2', '--detach', '--seed', '5');
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.stdout).toContain('(nodes n1, n2; redis redis1)');
  });

  afterAll(async () => {
    await cleanup(cwd);
  });

  it("gives each node its own proxy's address in init, and the nodes share the server through them", async () => {
    expect(await request('n1', { type: 'kv_set', key: 'k', value: 'v1' })).toMatchObject({ type: 'kv_set_ok', value: 'OK' });
    expect(await request('n2', { type: 'kv_get', key: 'k' })).toMatchObject({ type: 'kv_get_ok', value: 'v1' });
    const status = await statusOf();
    const server = status.servers?.find((s) => s.id === 'redis1');
    expect(server).toMatchObject({ group: 'redis', kind: 'redis', state: 'running', restarts: 0 });
    const links = Object.fromEntries(server!.links.map((l) => [l.client, l]));
    expect(Object.keys(links).sort()).toEqual(['n1', 'n2']);
    for (const id of ['n1', 'n2']) {
      // What init named is the node's proxy, not the server's own port, and the bytes went through it.
      expect(status.nodes.find((n) => n.id === id)!.state.redis_address).toBe(links[id]!.address);
      expect(links[id]!.address).not.toBe(server!.address);
      expect(links[id]!.counters.bytes_to_server).toBeGreaterThan(0);
    }
    // The dashboard, from the same snapshot: the server is a row in its group's own section.
    const { lastFrame, unmount } = render(h(DashboardView, { model: reduceAll([{ type: 'snapshot', t: Date.now(), status }]), now_ms: Date.now(), width: 100, color: false, selected: 0, message: null, showHelp: false }));
    const frame = (lastFrame() ?? '').split('\n');
    unmount();
    const title = frame.findIndex((line) => line.includes('redis (redis servers) 1/1 up'));
    expect(title).toBeGreaterThan(frame.findIndex((line) => line.includes('nodes 2/2 up')));
    expect(frame[title + 1]).toMatch(/redis1\s+up/);
    const text = (await kv('status')).stdout;
    expect(text).toMatch(/SERVER\s+GROUP\s+KIND\s+PID\s+STATE\s+PORT\s+RESTARTS\s+LINKS/);
    expect(text).toMatch(new RegExp(`redis1\\s+redis\\s+redis\\s+${server!.pid}\\s+running\\s+${server!.port}\\s+0\\s+n1 1 conn`));
  });

  it('holds a request while the server is isolated, and delivers it on heal', async () => {
    await request('n1', { type: 'kv_set', key: 'held', value: 'v2' });
    const cut = await kv('partition', '--isolate', 'redis1');
    expect(cut.exitCode, cut.stderr).toBe(0);
    let settled = false;
    const pending = request('n1', { type: 'kv_get', key: 'held' }, 60_000).finally(() => (settled = true));
    // The GET has reached the proxy and is held there, not delivered.
    await waitFor('the GET held at the n1->redis1 proxy', async () => {
      const link = (await statusOf()).servers?.[0]?.links.find((l) => l.client === 'n1');
      return link !== undefined && link.counters.held_bytes > 0;
    });
    expect(settled).toBe(false);
    const heal = await kv('heal');
    expect(heal.exitCode, heal.stderr).toBe(0);
    expect(await pending).toMatchObject({ type: 'kv_get_ok', value: 'v2' });
  });

  it('is killed and restarted like a node: the node sees an error while it is down, then an empty server', async () => {
    await request('n2', { type: 'kv_set', key: 'lost', value: 'v3' });
    const killed = await kv('kill', 'redis1');
    expect(killed.exitCode, killed.stderr).toBe(0);
    expect((await statusOf()).servers?.[0]).toMatchObject({ state: 'exited', pid: null });
    const down = await request('n2', { type: 'kv_get', key: 'lost' });
    expect(down).toMatchObject({ type: 'error' });
    expect(String(down.text)).toMatch(/^redis: /);
    const restarted = await kv('restart', 'redis1');
    expect(restarted.exitCode, restarted.stderr).toBe(0);
    // Redis runs without persistence here: a restarted server has forgotten every key.
    expect(await request('n2', { type: 'kv_get', key: 'lost' })).toMatchObject({ type: 'kv_get_ok', value: null });
    expect((await statusOf()).servers?.[0]).toMatchObject({ state: 'running', restarts: 1 });
    const events: ClusterEvent[] = [];
    const follower = new ControlClient(readClusterInfo(path.join(cwd, '.dslab', 'kvredis', 'cluster.json'))!).follow((event) => void events.push(event), { history: true });
    try {
      await waitFor('the restarted redis1 in the history', () => events.some((e) => e.type === 'node_up' && e.node === 'redis1' && e.restarts === 1));
    } finally {
      follower.stop();
    }
    expect(events.find((e) => e.type === 'node_down' && e.node === 'redis1')).toMatchObject({ signal: 'SIGKILL', expected: true });
  });

  it('says in one line how to reach the server when send names it, and draws it for pause random', async () => {
    const port = (await statusOf()).servers![0]!.port;
    const sent = await kv('send', 'redis1', '{"type":"get"}');
    expect(sent.exitCode).toBe(1);
    expect(sent.stderr.trim().split('\n')).toEqual([`dslab: redis1 is a real redis server: it speaks its own protocol over TCP, not dslab messages. Talk to it at 127.0.0.1:${port} (redis-cli -p ${port}), where no faults apply; nodes reach it through their proxies (init's dslab_servers)`]);
    expect((await kv('pause', 'nodes')).stdout.trim()).toBe('paused n1; paused n2');
    // The only member left up is the server: "random" draws among nodes and servers alike.
    const paused = await kv('pause', 'random');
    expect(paused.exitCode, paused.stderr).toBe(0);
    expect(paused.stdout.trim()).toBe('paused redis1');
    expect((await kv('pause', 'random')).stderr.trim()).toBe('dslab: no node or server is up');
    for (let i = 0; i < 3; i++) expect((await kv('resume', 'random')).exitCode).toBe(0);
    expect((await statusOf()).active_faults.paused).toEqual([]);
  });

  it('refuses a server whose program is missing in one line saying how to install it', async () => {
    const other = makeWorkdir();
    try {
      const up = await withFixtures(other, 'up', 'kvmissing', '--nodes', '2', '--detach');
      expect(up.exitCode).toBe(1);
      expect(up.stderr.trim()).toBe('dslab: dslab-fixture-no-such-redis-server is not installed: apt-get install redis-server');
      expect(existsSync(path.join(other, '.dslab'))).toBe(false);
    } finally {
      await cleanup(other);
    }
  });
});
