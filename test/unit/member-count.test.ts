import chalk from 'chalk';
import { render } from 'ink-testing-library';
import { createElement as h } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { groupConfig } from '../../src/lib/cluster/launch.js';
import { Topology } from '../../src/lib/cluster/groups.js';
import { clusterMembers, describeMembersUp } from '../../src/lib/cluster/members.js';
import type { ServerRow } from '../../src/lib/control/api.js';
import { Header } from '../../src/lib/dashboard/components.js';
import { reduceAll } from '../../src/lib/dashboard/model.js';
import { formatStatus } from '../../src/cli/format/status.js';
import { findSystem, optionsFromFlags } from '../../src/registry.js';
import { clusterStatus, nodeStatus } from '../helpers/status.js';

const redis = (state: ServerRow['state']): ServerRow => ({ id: 'redis1', group: 'redis', kind: 'redis', state, pid: 4321, port: 6400, address: '127.0.0.1:6400', restarts: 0, last_exit: null, output_tail: [], links: [] });

/** A locks cluster's status: a Redis server, the resource and three contenders, one of them down. */
const locks = clusterStatus(
  [nodeStatus('r1', { group: 'resource' }), nodeStatus('k1', { group: 'contenders' }), nodeStatus('k2', { group: 'contenders', status: 'down', pid: null }), nodeStatus('k3', { group: 'contenders' })],
  { name: 'locks', system: 'locks', servers: [redis('running')] },
);

describe('how many members a cluster has and how many are up', () => {
  const level = chalk.level;
  afterEach(() => {
    chalk.level = level;
  });

  it('counts real servers beside program nodes', () => {
    expect(clusterMembers(locks).map((m) => `${m.id} ${m.status}`)).toEqual(['r1 up', 'k1 up', 'k2 down', 'k3 up', 'redis1 up']);
    expect(describeMembersUp(clusterMembers(locks))).toBe('4/5 up');
    expect(describeMembersUp(clusterMembers({ ...locks, servers: [redis('exited')] }))).toBe('3/5 up');
  });

  it('is the same in status, the dashboard and the member list up reports', () => {
    chalk.level = 0;
    expect(formatStatus(locks).split('\n')[0]).toContain('nodes 4/5 up');
    const model = reduceAll([{ type: 'snapshot', t: 0, status: locks }]);
    const { lastFrame, unmount } = render(h(Header, { model, now_ms: 1000, width: 120, color: false }));
    const frame = lastFrame() ?? '';
    unmount();
    expect(frame).toContain('nodes 4/5 up');
    // `up` says "on N nodes" of the cluster record's members: every group's, servers included.
    const plugin = findSystem('locks')!;
    const groups = plugin.groupsFor!(optionsFromFlags({ backend: 'redis', contenders: 3 })).map((g) => groupConfig(g, g.count_flag === 'contenders' ? 3 : (g.count ?? 3)));
    expect(new Topology(groups).nodeIds).toEqual(['redis1', 'r1', 'k1', 'k2', 'k3']);
    expect(new Topology(groups).nodeIds).toHaveLength(clusterMembers(locks).length);
  });
});
