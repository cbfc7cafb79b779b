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

async function withCounter(cwd: string, ...args: string[]) {
  const result = await execa(process.execPath, [cli_path, ...args], { cwd, reject: false, env: { NO_COLOR: '1', DSLAB_HOME: '', DSLAB_EXTRA_SYSTEMS: plugin }, timeout: 120_000 });
  return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode ?? -1 };
}

describe('a system from outside src/systems, through the plugin seam', () => {
  let cwd: string;

  beforeAll(async () => {
    cwd = makeWorkdir();
    const up = await withCounter(cwd, 'up', 'counter', '--nodes', '2', '--count-step', '5', '--detach', '--seed', '3');
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.stdout).toContain('counter on 2 nodes (n1, n2)');
  });

  afterAll(async () => {
    await cleanup(cwd);
  });

  it("runs its node program with its flag's option, and judges leadership by its own words", async () => {
    const sent = await withCounter(cwd, 'send', 'n2', '{"type":"add"}', '--json');
    expect(sent.exitCode, sent.stderr).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ type: 'add_ok', total: 5 });
    const status = await waitFor('n2 to report its total', async () => {
      const s = JSON.parse((await withCounter(cwd, 'status', '--json')).stdout) as ClusterStatus;
      return s.nodes.find((n) => n.id === 'n2')?.state.total === 5 ? s : undefined;
    });
    expect(status.view?.roles.leading).toEqual(['chief']);
    // "chief" leads only in this system's vocabulary; in Raft's it is no role at all.
    expect(status.leader).toBe('n1');
    expect((await withCounter(cwd, 'status')).stdout.split('\n')[0]).toMatch(/leader n1$/);
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
    expect(frame).toContain('leader n1 · term 7');
    expect(frame).toMatch(/NODE\s+STATUS\s+ROLE\s+ROUND\s+TOTAL\s+CONTACT/);
    expect(frame).toMatch(/n2\s+up\s+member\s+7\s+5\s/);
  });

  it("checks the flag with the system's schema, and is unknown without the hook", async () => {
    const bad = await withCounter(cwd, 'up', 'counter', '--name', 'bad', '--count-step', '0', '--detach');
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/^dslab: step: /);
    const unknown = await dslab(cwd, 'up', 'counter', '--name', 'other', '--detach');
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain('unknown system "counter" (built in: echo, unique-ids, raft;');
  });
});
