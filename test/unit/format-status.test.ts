import chalk from 'chalk';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterStatus, NodeStatus, ServerRow } from '../../src/lib/control/api.js';
import { describeStop, formatStatus } from '../../src/cli/format/status.js';
import { clusterStatus, nodeStatus } from '../helpers/status.js';

function clusterStatusOf(nodes: NodeStatus[], leader: string | null, leader_inferred = false): ClusterStatus {
  return clusterStatus(nodes, { name: 'c', dir: '/tmp/c', leader, leader_inferred });
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
      clusterStatusOf(
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
    const text = formatStatus(clusterStatusOf([nodeStatus('n1', { status: 'paused', state: { role: 'leader', term: 4 } })], null));
    expect(text).toContain(`${chalk.dim('role=leader term=4')}`);
  });

  it('labels an inferred leader and counts forwarded messages', () => {
    chalk.level = 0;
    const text = formatStatus(clusterStatusOf([nodeStatus('n1', { forwarded: 0 }), nodeStatus('n2', { msgs_out: 12, forwarded: 7 })], 'n1', true));
    expect(text.split('\n')[0]).toContain('leader n1 (inferred from client replies)');
    expect(text).toMatch(/NODE\s+PID\s+STATUS\s+IN\s+OUT\s+FWD\s+PROBLEMS\s+STATE/);
    expect(row(text, 'n2')).toMatch(/n2\s+100\s+up\s+10\s+12\s+7\s+-\s+-/);
  });

  it('says who stopped a node dslab stopped, and what error a crashed one reported', () => {
    chalk.level = 0;
    const down = (id: string, overrides: Partial<NodeStatus>) => nodeStatus(id, { status: 'down', pid: null, stderr_tail: ['booted', 'n1 committed entry 2'], ...overrides });
    const text = formatStatus(
      clusterStatusOf(
        [
          down('n1', { exit_signal: 'SIGKILL', stopped_by: 'kill' }),
          down('n2', { exit_code: 1, stderr_tail: ['n2 committed entry 2', 'Traceback (most recent call last):', '  File "/s/node.py", line 4, in f', "    d['k']", "KeyError: 'k'"] }),
          down('n3', { exit_code: 1 }),
          nodeStatus('n4', { stderr_tail: ['Error: not a crash, it is still up'] }),
        ],
        null,
      ),
    );
    expect(text).toContain('n1 killed by dslab kill (SIGKILL)');
    expect(text).not.toContain('n1 crashed');
    expect(text).toContain("n2 crashed (exit code 1): /s/node.py:4: KeyError: 'k' (`d['k']`)");
    expect(text).toContain('n3 crashed (exit code 1); the last line on its stderr: n1 committed entry 2');
    expect(text).not.toMatch(/n4 (crashed|exited|killed)/);
    expect(describeStop(down('n5', { exit_signal: 'SIGKILL', stopped_by: 'nemesis' }))).toBe('n5 killed by the nemesis (SIGKILL)');
    expect(describeStop(down('n6', { exit_code: 0, stopped_by: 'cluster_stop' }))).toBe('n6 stopped by dslab as the cluster stopped (exit code 0)');
    expect(describeStop(down('n7', { exit_code: 0, stderr_tail: [] }))).toBe('n7 exited (exit code 0) and wrote nothing on stderr');
    expect(describeStop(down('n8', { exit_signal: 'SIGSEGV', stderr_tail: [] }))).toBe('n8 crashed (SIGSEGV) and wrote nothing on stderr');
  });

  it('leaves the FWD column out while no node forwards', () => {
    chalk.level = 0;
    expect(formatStatus(clusterStatusOf([nodeStatus('n1', {})], null))).not.toContain('FWD');
  });

  it("names each node's group when a cluster has several, and adds no column for one", () => {
    chalk.level = 0;
    const grouped = formatStatus(clusterStatusOf([nodeStatus('z1', { group: 'coordinator', status: 'down', pid: null }), nodeStatus('w1', { group: 'workers' })], null));
    expect(grouped).toMatch(/NODE\s+GROUP\s+PID\s+STATUS\s+IN\s+OUT\s+PROBLEMS\s+STATE/);
    expect(row(grouped, 'z1')).toMatch(/^z1\s+coordinator\s+-\s+down/);
    expect(row(grouped, 'w1')).toMatch(/^w1\s+workers\s+100\s+up/);
    const single = formatStatus(clusterStatusOf([nodeStatus('n1', { group: 'nodes' }), nodeStatus('n2', { group: 'nodes' })], null));
    expect(single).toMatch(/NODE\s+PID\s+STATUS/);
    expect(single).not.toContain('GROUP');
  });

  it('lists real servers below the nodes, with their state, pid, port, restarts and what each link carried', () => {
    chalk.level = 0;
    const counters = { connections: 2, connections_open: 1, connections_refused: 0, upstream_failures: 1, bytes_to_server: 120, bytes_to_client: 340, resets: 0, stalled_chunks: 0, held_bytes: 14, backpressure_pauses: 0 };
    const server = (state: ServerRow['state'], extra: Partial<ServerRow> = {}): ServerRow => ({
      id: 'redis1', group: 'redis', kind: 'redis', state, pid: 4321, port: 6400, address: '127.0.0.1:6400', restarts: 1, last_exit: null, output_tail: [],
      links: [{ link: 'n1->redis1', client: 'n1', address: '127.0.0.1:7000', counters }], ...extra,
    });
    const text = formatStatus({ ...clusterStatusOf([nodeStatus('n1')], null), servers: [server('running')] });
    expect(text).toMatch(/SERVER\s+GROUP\s+KIND\s+PID\s+STATE\s+PORT\s+RESTARTS\s+LINKS/);
    expect(row(text, 'redis1')).toMatch(/^redis1\s+redis\s+redis\s+4321\s+running\s+6400\s+1\s+n1 2 conns \(1 open\), 120 B in, 340 B out, 1 refused, 14 B held$/);
    const killed = formatStatus({ ...clusterStatusOf([nodeStatus('n1')], null), servers: [server('exited', { pid: null, last_exit: { exit_code: null, signal: 'SIGKILL', expected: true } })] });
    expect(row(killed, 'redis1')).toMatch(/^redis1\s+redis\s+redis\s+-\s+down \(SIGKILL\)\s+6400/);
    expect(formatStatus(clusterStatusOf([nodeStatus('n1')], null))).not.toContain('SERVER');
  });
});
