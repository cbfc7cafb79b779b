import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { default_group } from '../../src/lib/cluster/groups.js';
import { defineOperation, type WorkloadPlugin } from '../../src/lib/plugin.js';
import { custom_system_view } from '../../src/registry.js';
import { Supervisor } from '../../src/lib/supervisor/supervisor.js';
import { repo_root, waitFor } from '../helpers/cli.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-workload-hooks-');

/**
 * A workload of the test's own, handed to a real supervisor (one forwarder
 * node): its runtime sends through the client transport and takes what the
 * node sends its client unasked through the host's subscription, as a
 * ZooKeeper session takes watch events.
 */
const seen: unknown[] = [];
const watcher: WorkloadPlugin = {
  name: 'watcher',
  description: 'test',
  requests: ['watch'],
  write_requests: [],
  checks: {},
  runtime(host) {
    let unsubscribe: (() => void) | null = null;
    return {
      operations: {
        watch: defineOperation({
          args: { path: z.string() },
          async run(args) {
            unsubscribe ??= host.subscribe('c5', (message) => void seen.push({ node: message.node, body: message.body }));
            const reply = await host.transport.request('c5', host.transport.upNodes()[0]!, { type: 'watch', path: args.path }, 5000);
            return { description: `watch set: ${reply.type}` };
          },
        }),
      },
      stop: () => unsubscribe?.(),
    };
  },
  // The verdict at down, from the live node: what it answers to a watch.
  async closingCheck(host, status) {
    const reply = await host.transport.request('c6', status.nodes[0]!.id, { type: 'watch', path: '/closing' }, 5000);
    return { result: 'valid', text: `watcher: ${status.nodes[0]!.id} answered ${reply.type}`, details: { nodes: status.nodes.length } };
  },
};

/** A closing check that fails (its cluster's verdict is then unknown, and down goes on); and one of a workload the system does not speak. */
const broken: WorkloadPlugin = { name: 'broken', description: 'test', requests: [], write_requests: [], checks: {}, closingCheck: () => Promise.reject(new Error('r1 did not answer')) };
let unspoken_asked = false;
const unspoken: WorkloadPlugin = {
  name: 'unspoken',
  description: 'test',
  requests: [],
  write_requests: [],
  checks: {},
  closingCheck: async () => {
    unspoken_asked = true;
    return null;
  },
};

describe("a workload's runtime in a real supervisor", () => {
  let supervisor: Supervisor;
  beforeAll(async () => {
    supervisor = await Supervisor.start(
      {
        name: 'hooks',
        system: 'forwarder',
        groups: [{ ...default_group, count: 1, command: [process.execPath, path.join(repo_root, 'test', 'fixtures', 'forwarder.mjs')] }],
        seed: 1,
        home: tempDir(),
        cwd: repo_root,
        init_timeout_ms: 10_000,
        view: custom_system_view,
        workloads: ['watcher', 'broken'],
      },
      { workloads: [watcher, broken, unspoken] },
    );
  });
  afterAll(async () => {
    await supervisor?.shutdown();
  });

  it('runs its operations through the control API, and hands its client the messages a node sends it unasked', async () => {
    expect(await supervisor.apply({ type: 'workload', workload: 'watcher', op: 'watch', args: { path: '/a' } })).toEqual({ description: 'watch set: watch_ok' });
    await waitFor('the watch event at the subscribed client', () => seen.length > 0);
    expect(seen).toEqual([{ node: 'n1', body: { type: 'watch_event', event: 'NodeDataChanged', path: '/a' } }]);
    await expect(supervisor.apply({ type: 'workload', workload: 'watcher', op: 'watch', args: { path: 5 } })).rejects.toThrow(/^watcher watch: path: /);
    await expect(supervisor.apply({ type: 'workload', workload: 'watcher', op: 'unwatch' })).rejects.toThrow('workload watcher has no operation "unwatch" (operations: watch)');
    await expect(supervisor.apply({ type: 'workload', workload: 'lin-kv', op: 'kv' })).rejects.toThrow('unknown workload "lin-kv" (workloads: watcher, broken, unspoken)');
  });

  it("asks the system's workloads for their closing checks while the nodes still run: a failed one is an unknown result", async () => {
    expect(await supervisor.closingChecks()).toEqual([
      { workload: 'watcher', result: 'valid', text: 'watcher: n1 answered watch_ok', details: { nodes: 1 } },
      { workload: 'broken', result: 'unknown', text: 'broken: could not check the run: r1 did not answer', details: {} },
    ]);
    expect(unspoken_asked).toBe(false);
  });
});
