import chalk from 'chalk';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterStatus, NodeStatus } from '../../src/lib/control/api.js';
import { formatStatus } from '../../src/lib/format.js';

function nodeStatus(id: string, overrides: Partial<NodeStatus>): NodeStatus {
  return {
    id,
    pid: 100,
    status: 'up',
    exit_code: null,
    exit_signal: null,
    restarts: 0,
    msgs_in: 10,
    msgs_out: 12,
    forwarded: 0,
    garbage_lines: 0,
    oversized_lines: 0,
    unknown_dest: 0,
    backpressure_drops: 0,
    clock_offset_ms: 0,
    state: {},
    state_at_ms: null,
    role_stale: false,
    stderr_tail: [],
    ...overrides,
  };
}

function clusterStatus(nodes: NodeStatus[], leader: string | null, leader_inferred = false): ClusterStatus {
  return {
    name: 'c',
    system: 'raft',
    dir: '/tmp/c',
    supervisor_pid: 1,
    seed: 1,
    started_at_ms: 0,
    uptime_ms: 1000,
    nodes,
    faults: [],
    partition: null,
    active_faults: { partition: null, links: [], paused: [], clock_offsets_ms: {} },
    links: [],
    leader,
    leader_inferred,
    nemesis: null,
    trace: { path: '/tmp/c/trace', bytes: 0, truncated: false },
  };
}

const row = (text: string, id: string) => text.split('\n').find((line) => line.startsWith(`${id} `)) ?? '';

describe('formatStatus', () => {
  const level = chalk.level;
  afterEach(() => {
    chalk.level = level;
  });

  it('never shows a killed, paused or not-yet-reporting restarted node as leader', () => {
    chalk.level = 0;
    const text = formatStatus(
      clusterStatus(
        [
          nodeStatus('n1', { status: 'down', pid: null, exit_signal: 'SIGKILL', state: { role: 'leader', term: 3 } }),
          nodeStatus('n2', { status: 'paused', state: { role: 'leader', term: 4 } }),
          nodeStatus('n3', { restarts: 1, role_stale: true, state: { role: 'leader', term: 5 } }),
          nodeStatus('n4', { state: { role: 'follower', term: 5 } }),
        ],
        null,
      ),
    );
    expect(text.split('\n')[0]).toMatch(/leader -$/);
    for (const id of ['n1', 'n2', 'n3']) {
      expect(row(text, id)).toMatch(/role=- term=\d/);
      expect(row(text, id)).not.toContain('leader');
    }
    expect(row(text, 'n4')).toContain('role=follower term=5');
  });

  it('dims a stale role where there is colour, keeping the word', () => {
    chalk.level = 1;
    const text = formatStatus(clusterStatus([nodeStatus('n1', { status: 'paused', state: { role: 'leader', term: 4 } })], null));
    expect(text).toContain(`${chalk.dim('role=leader term=4')}`);
  });

  it('labels an inferred leader and counts forwarded messages', () => {
    chalk.level = 0;
    const text = formatStatus(clusterStatus([nodeStatus('n1', { forwarded: 0 }), nodeStatus('n2', { forwarded: 7 })], 'n1', true));
    expect(text.split('\n')[0]).toContain('leader n1 (inferred from client replies)');
    expect(text).toMatch(/NODE\s+PID\s+STATUS\s+IN\s+OUT\s+FWD\s+PROBLEMS\s+STATE/);
    expect(row(text, 'n2')).toMatch(/n2\s+100\s+up\s+10\s+12\s+7\s+-\s+-/);
  });

  it('leaves the FWD column out while no node forwards', () => {
    chalk.level = 0;
    expect(formatStatus(clusterStatus([nodeStatus('n1', {})], null))).not.toContain('FWD');
  });
});
