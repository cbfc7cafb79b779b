import { afterEach, describe, expect, it } from 'vitest';
import { default_group, Topology } from '../../src/lib/cluster/groups.js';
import { clusterPaths, makeClusterDir } from '../../src/lib/cluster/paths.js';
import type { SupervisorConfig } from '../../src/lib/supervisor/config.js';
import { NodeLifecycle, type NodeLifecycleHost } from '../../src/lib/supervisor/node-lifecycle.js';
import type { NodeRecord } from '../../src/lib/supervisor/node-table.js';
import { waitFor } from '../helpers/cli.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-node-zk-connect-');

/**
 * The connect string of the Zab servers' ZooKeeper client ports reaches every
 * node's environment (DSLAB_ZK_CONNECT), so a locks contender can hand it to
 * its lock command: a node program that prints the variable, spawned by the
 * supervisor's node lifecycle over a host that has (or has no) client ports.
 */
describe("a node's environment", () => {
  const started: NodeRecord[] = [];
  afterEach(() => {
    for (const node of started.splice(0)) node.proc?.signal('SIGKILL');
  });

  async function envSeen(zk_connect: string | null): Promise<string> {
    const home = tempDir();
    const groups = [{ ...default_group, count: 1, command: [process.execPath, '-e', "console.log('zk=' + (process.env.DSLAB_ZK_CONNECT || 'unset')); setInterval(() => {}, 1000);"] }];
    const config = { name: 'env', system: 'env', groups, seed: 1, home, cwd: home, init_timeout_ms: 10_000, options: {} } as unknown as SupervisorConfig;
    const paths = clusterPaths(home, 'env');
    makeClusterDir(home, paths);
    const lines: string[] = [];
    const nodes = new Map<string, NodeRecord>();
    // Only what spawning and an exit reach of the supervisor.
    const host = {
      config,
      paths,
      topology: new Topology(groups),
      nodes,
      clients: { forgetLeader: () => {}, failRequests: () => {} },
      connections: { closeAll: () => [] },
      events: { emit: () => {} },
      watchdog: () => null,
      stopping: () => true,
      onLine: (_node: NodeRecord, line: string) => lines.push(line),
      stderrListener: () => null,
      zkConnect: () => zk_connect,
    } as unknown as NodeLifecycleHost;
    const lifecycle = new NodeLifecycle(host);
    lifecycle.add('n1');
    const node = nodes.get('n1')!;
    started.push(node);
    lifecycle.spawn(node);
    return waitFor('the node to print its environment', () => lines.find((line) => line.startsWith('zk=')));
  }

  it('carries DSLAB_ZK_CONNECT when the cluster has ZooKeeper client ports, and none without (not even one inherited from the shell)', async () => {
    expect(await envSeen('127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183')).toBe('zk=127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183');
    const inherited = process.env.DSLAB_ZK_CONNECT;
    process.env.DSLAB_ZK_CONNECT = '127.0.0.1:9999';
    try {
      expect(await envSeen(null)).toBe('zk=unset');
    } finally {
      if (inherited === undefined) delete process.env.DSLAB_ZK_CONNECT;
      else process.env.DSLAB_ZK_CONNECT = inherited;
    }
  });
});
