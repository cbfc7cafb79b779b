import { describe, expect, it } from 'vitest';
import type { ClusterEvent } from '../../src/lib/control/api.js';
import { zkClientsText } from '../../src/lib/dashboard/layout.js';
import { dashboardReducer, emptyModel, reduceAll, type DashboardInput } from '../../src/lib/dashboard/model.js';
import { clusterStatus, nodeStatus } from '../helpers/status.js';

const up: DashboardInput = { type: 'cluster_up', t: 1, seq: 1, name: 'zab', system: 'zab', nodes: ['n1', 'n2'], seed: 3, zk_connect_string: '127.0.0.1:2181,127.0.0.1:2182' };
const connection = (phase: 'open' | 'closed', client: string, server: string, reason?: string): ClusterEvent => ({ type: 'zk_connection', t: 2, seq: 2, phase, client, server, port: server === 'n1' ? 2181 : 2182, remote_port: 50_000, ...(reason ? { reason } : {}) });

describe('the dashboard and ZooKeeper clients', () => {
  it('has no ZooKeeper line for a cluster without Zab servers', () => {
    const model = dashboardReducer(emptyModel(), { ...up, zk_connect_string: undefined } as DashboardInput);
    expect(model.zk).toBeNull();
    expect(zkClientsText(model, 80)).toBeNull();
  });

  it('lists the connected clients with their servers, and logs each connection opening and closing', () => {
    const model = reduceAll([up, connection('open', 'c13001', 'n1'), connection('open', 'c13002', 'n2'), connection('closed', 'c13001', 'n1', 'n1 went down')]);
    expect(model.zk).toEqual({ connect_string: '127.0.0.1:2181,127.0.0.1:2182', clients: [{ id: 'c13002', server: 'n2', remote_port: 50_000 }] });
    expect(model.log.map((e) => e.text)).toEqual([
      'cluster zab up: zab on 2 nodes, seed 3',
      'ZooKeeper clients connect to 127.0.0.1:2181,127.0.0.1:2182',
      'ZooKeeper client c13001 connected to n1 (port 2181, from port 50000)',
      'ZooKeeper client c13002 connected to n2 (port 2182, from port 50000)',
      'ZooKeeper client c13001 of n1 disconnected (port 2181, from port 50000): n1 went down',
    ]);
    expect(zkClientsText(model, 80)).toBe('127.0.0.1:2181,127.0.0.1:2182: c13002→n2');
  });

  it('starts from the connections a status snapshot lists, and fits them to the width', () => {
    const status = clusterStatus([nodeStatus('n1')], {
      zk: {
        connect_string: '127.0.0.1:2181',
        ports: [{ server: 'n1', port: 2181, connections: 3 }],
        connections: ['c13001', 'c13002', 'c13003'].map((id) => ({ id, server: 'n1', port: 2181, remote_port: 1, since_ms: 0 })),
      },
    });
    const model = dashboardReducer(emptyModel(), { type: 'snapshot', t: 1, status });
    expect(model.zk!.clients.map((c) => c.id)).toEqual(['c13001', 'c13002', 'c13003']);
    expect(zkClientsText(model, 200)).toBe('127.0.0.1:2181: c13001→n1 · c13002→n1 · c13003→n1');
    expect(zkClientsText(model, 50)).toMatch(/^127\.0\.0\.1:2181: c13001→n1 · \+2 more$/);
    expect(zkClientsText(dashboardReducer(model, connection('closed', 'c13001', 'n1')), 200)).not.toContain('c13001');
  });
});
