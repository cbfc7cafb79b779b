import { execa } from 'execa';
import path from 'node:path';
import { createElement as h } from 'react';
import { render } from 'ink-testing-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterEvent, ClusterStatus } from '../../src/lib/control/api.js';
import { readClusterInfo } from '../../src/lib/cluster/paths.js';
import { ControlClient } from '../../src/lib/control/client.js';
import { DashboardView } from '../../src/lib/dashboard/components.js';
import { reduceAll } from '../../src/lib/dashboard/model.js';
import { cleanup, cli_path, dslab, makeWorkdir, repo_root, waitFor } from '../helpers/cli.js';

/**
 * A new system is a folder with a plugin and a node program: the counter
 * fixture (test/fixtures/systems/counter) is registered through the
 * DSLAB_EXTRA_SYSTEMS hook and started by a real `dslab up`, with its own
 * flag, options schema, role words and dashboard column.
 */
const plugin = path.join(repo_root, 'test', 'fixtures', 'systems', 'counter', 'plugin.mjs');
/** Two node groups: counter nodes n1..n3 ("leaders") beside echo nodes e1, e2 ("echo"). */
const duo_plugin = path.join(repo_root, 'test', 'fixtures', 'systems', 'duo', 'plugin.mjs');

/** The CLI with both fixture systems registered through the hook. */
async function withFixtures(cwd: string, ...args: string[]) {
  const result = await execa(process.execPath, [cli_path, ...args], { cwd, reject: false, env: { NO_COLOR: '1', DSLAB_HOME: '', DSLAB_EXTRA_SYSTEMS: [plugin, duo_plugin].join(path.delimiter) }, timeout: 120_000 });
  return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode ?? -1 };
}

describe('a system from outside src/systems, through the plugin seam', () => {
  let cwd: string;

  beforeAll(async () => {
    cwd = makeWorkdir();
    const up = await withFixtures(cwd, 'up', 'counter', '--nodes', '2', '--count-step', '5', '--detach', '--seed', '3');
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.stdout).toContain('counter on 2 nodes (n1, n2)');
  });

  afterAll(async () => {
    await cleanup(cwd);
  });

  it("runs its node program with its flag's option, and judges leadership by its own words", async () => {
    const sent = await withFixtures(cwd, 'send', 'n2', '{"type":"add"}', '--json');
    expect(sent.exitCode, sent.stderr).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ type: 'add_ok', total: 5 });
    const status = await waitFor('n2 to report its total', async () => {
      const s = JSON.parse((await withFixtures(cwd, 'status', '--json')).stdout) as ClusterStatus;
      return s.nodes.find((n) => n.id === 'n2')?.state.total === 5 ? s : undefined;
    });
    expect(status.view?.roles.leading).toEqual(['chief']);
    // "chief" leads only in this system's vocabulary; in Raft's it is no role at all.
    expect(status.leader).toBe('n1');
    expect((await withFixtures(cwd, 'status')).stdout.split('\n')[0]).toMatch(/leader n1$/);
  });

  it("shows its column and its term field on the dashboard, from the cluster's own event stream", async () => {
    const client = new ControlClient(readClusterInfo(path.join(cwd, '.dslab', 'counter', 'cluster.json'))!);
    const events: ClusterEvent[] = [];
    const follower = client.follow((event) => void events.push(event), { history: true });
    try {
      await waitFor("n2's total in the history", () => events.some((e) => e.type === 'node_state' && e.node === 'n2' && e.state.total === 5));
    } finally {
      follower.stop();
    }
    const model = reduceAll(events);
    expect(model.leader).toBe('n1');
    const { lastFrame, unmount } = render(h(DashboardView, { model, now_ms: Date.now(), width: 80, color: false, selected: 0, message: null, showHelp: false }));
    const frame = lastFrame() ?? '';
    unmount();
    // The term is named as the system names its field.
    expect(frame).toContain('leader n1 · round 7');
    expect(frame).toMatch(/NODE\s+STATUS\s+ROLE\s+ROUND\s+TOTAL\s+CONTACT/);
    expect(frame).toMatch(/n2\s+up\s+member\s+7\s+5\s/);
  });

  it("checks the flag with the system's schema, and is unknown without the hook", async () => {
    const bad = await withFixtures(cwd, 'up', 'counter', '--name', 'bad', '--count-step', '0', '--detach');
    expect(bad.exitCode).toBe(1);
    // The schema's complaint names the flag the user typed, not the option behind it.
    expect(bad.stderr.trim()).toBe('dslab: --count-step must be at least 1');
    const unknown = await dslab(cwd, 'up', 'counter', '--name', 'other', '--detach');
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain('unknown system "counter" (built in: echo, unique-ids, raft, zab, snowflake, locks, broadcast, g-set, g-counter, pn-counter, kafka, txn, breaker;');
  });
});

describe('a cluster of two node groups', () => {
  let cwd: string;
  const duo = (...args: string[]) => withFixtures(cwd, ...args);
  const statusOf = async () => JSON.parse((await duo('status', '--json')).stdout) as ClusterStatus;
  const node = (status: ClusterStatus, id: string) => status.nodes.find((n) => n.id === id)!;
  /** Asks counter node `from` to ping `peer`: whether the pong came back over the router. */
  const reaches = async (from: string, peer: string) => {
    const sent = await duo('send', from, JSON.stringify({ type: 'ping_peer', peer }), '--json');
    expect(sent.exitCode, sent.stderr).toBe(0);
    return (JSON.parse(sent.stdout) as { reached: boolean }).reached;
  };

  beforeAll(async () => {
    cwd = makeWorkdir();
    const up = await duo('up', 'duo', '--nodes', '3', '--echoes', '2', '--detach', '--seed', '4');
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.stdout).toContain('duo on 5 nodes (leaders n1, n2, n3; echo e1, e2)');
  });

  afterAll(async () => {
    await cleanup(cwd);
  });

  it("gives each node its own group's ids in init.node_ids, and every group in dslab_groups", async () => {
    // The echo nodes ping whom their init names, and the counter nodes answer pings: hearing only each other, they were given only their own group.
    const status = await waitFor('the echo nodes to hear each other', async () => {
      const s = await statusOf();
      return node(s, 'e1').state.reachable === 'e2' && node(s, 'e2').state.reachable === 'e1' && node(s, 'n3').state.init_node_ids ? s : undefined;
    });
    for (const id of ['n1', 'n2', 'n3']) {
      expect(node(status, id).group).toBe('leaders');
      expect(node(status, id).state.init_node_ids).toBe('n1,n2,n3');
      expect(node(status, id).state.init_groups).toEqual({ leaders: ['n1', 'n2', 'n3'], echo: ['e1', 'e2'] });
    }
    expect(node(status, 'e1').group).toBe('echo');
    // The leaders group's own option (step 3) reached its nodes.
    const added = await duo('send', 'n2', '{"type":"add"}', '--json');
    expect(JSON.parse(added.stdout)).toMatchObject({ type: 'add_ok', total: 3 });
    const table = (await duo('status')).stdout;
    expect(table).toMatch(/NODE\s+GROUP\s+PID\s+STATUS/);
    expect(table).toMatch(/^e2\s+echo\s+\d+\s+up/m);
  });

  it('cuts between groups when a partition names them, and delivers within each group', async () => {
    expect(await reaches('n1', 'e1')).toBe(true);
    const cut = await duo('partition', 'leaders', 'echo');
    expect(cut.exitCode, cut.stderr).toBe(0);
    expect(cut.stdout).toContain('{n1,n2,n3} | {e1,e2}');
    expect(await reaches('n1', 'e1')).toBe(false);
    expect(await reaches('n1', 'n2')).toBe(true);
    expect(node(await statusOf(), 'e1').state.reachable).toBe('e2');
    expect((await duo('heal')).exitCode).toBe(0);
    expect(await reaches('n1', 'e1')).toBe(true);
  });

  it('isolates, kills and restarts members of the second group, by id and by group name', async () => {
    const isolated = await duo('partition', '--isolate', 'e1');
    expect(isolated.exitCode, isolated.stderr).toBe(0);
    await waitFor('e2 to stop hearing e1', async () => node(await statusOf(), 'e2').state.reachable === '');
    expect(await reaches('n1', 'e1')).toBe(false);
    expect(await reaches('n1', 'e2')).toBe(true);
    expect((await duo('heal')).exitCode).toBe(0);

    const killed = await duo('kill', 'e2');
    expect(killed.exitCode, killed.stderr).toBe(0);
    expect(node(await statusOf(), 'e2').status).toBe('down');
    // A group name stands for every member: the one that is down restarts, the one that runs is said not to.
    const restarted = await duo('restart', 'echo');
    expect(restarted.exitCode, restarted.stderr).toBe(0);
    expect(restarted.stdout).toContain('restarted e2');
    expect(restarted.stdout).toContain('not done: e1 is running');
    await waitFor('e2 to hear e1 again', async () => node(await statusOf(), 'e2').state.reachable === 'e1');
    const unknown = await duo('kill', 'workers');
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/^dslab: unknown node "workers" \(groups: leaders n1, n2, n3; echo e1, e2; or leader, random\)/);
  });

  it('shows one dashboard section per group', async () => {
    const client = new ControlClient(readClusterInfo(path.join(cwd, '.dslab', 'duo', 'cluster.json'))!);
    const events: ClusterEvent[] = [];
    const follower = client.follow((event) => void events.push(event), { history: true });
    try {
      await waitFor('the cluster_up event', () => events.some((e) => e.type === 'cluster_up'));
    } finally {
      follower.stop();
    }
    const { lastFrame, unmount } = render(h(DashboardView, { model: reduceAll(events), now_ms: Date.now(), width: 80, color: false, selected: -1, message: null, showHelp: false }));
    const lines = (lastFrame() ?? '').split('\n');
    unmount();
    const leaders = lines.findIndex((line) => /^ {2}leaders 3\/3 up$/.test(line));
    const echo = lines.findIndex((line) => /^ {2}echo 2\/2 up$/.test(line));
    expect(leaders).toBeGreaterThan(0);
    expect(lines.slice(leaders + 1, echo).map((line) => line.trim().split(/\s+/)[0])).toEqual(['n1', 'n2', 'n3']);
    expect(lines[echo + 1]).toMatch(/^ {2}e1\s+up/);
    expect(lines[echo + 2]).toMatch(/^ {2}e2\s+up/);
  });
});

