import { describe, expect, it } from 'vitest';
import type { ClusterEvent, ClusterStatus } from '../../src/lib/control/api.js';
import { viewFor } from '../../src/registry.js';
import { availableColumns } from '../../src/lib/dashboard/layout.js';
import { dashboardReducer, farewellLines, lagBehindLeader, emptyModel, linkFaultViews, reduceAll, type DashboardInput, type DashboardModel } from '../../src/lib/dashboard/model.js';
import type { LoadStats } from '../../src/lib/load-stats.js';
import { recordedRaftEvents, until } from './recorded.js';
import { clusterStatus, nodeStatus } from '../helpers/status.js';

const events = recordedRaftEvents();
const logTexts = (inputs: readonly DashboardInput[]) => reduceAll(inputs).log.map((e) => e.text);

describe('dashboardReducer on a recorded raft run', () => {
  it('finds the first leader and every node from the stream alone', () => {
    const model = reduceAll(until(events, (e) => e.type === 'node_state' && e.state.role === 'leader'));
    expect(model.name).toBe('raft');
    expect(model.seed).toBe(7);
    expect(model.nodes.map((n) => n.id)).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    expect(model.leader).toBe('n5');
    expect(model.leader_term).toBe(1);
    expect(model.no_leader_since_t).toBeNull();
    expect(model.log.map((e) => e.text)).toContain('n5 starts an election for term 1');
    expect(model.log.at(-1)!.text).toBe('n5 is leader (term 1)');
  });

  it('reports the killed leader, how long there was no leader, and the new leader with a higher term', () => {
    const upToKill = until(events, (e) => e.type === 'fault' && e.action === 'kill');
    const afterKill = reduceAll(upToKill);
    const killed = afterKill.nodes.find((n) => n.id === 'n5')!;
    expect(killed.status).toBe('down');
    expect(killed.exit_signal).toBe('SIGKILL');
    expect(afterKill.leader).toBeNull();
    expect(afterKill.no_leader_since_t).not.toBeNull();
    const texts = logTexts(until(events, (e) => e.type === 'node_state' && e.state.role === 'leader' && e.node !== 'n5'));
    expect(texts).toEqual(expect.arrayContaining(['n5 down (signal SIGKILL)', 'no leader (n5 no longer leads)', 'killed n5 (leader)', 'n3 is leader (term 2)']));
  });

  it('tracks the paused node, the partition groups and the link faults, then the heal', () => {
    const partitioned = reduceAll(until(events, (e) => e.type === 'fault' && e.action === 'link_faults' && e.description.includes('delay')));
    expect(partitioned.nodes.find((n) => n.id === 'n1')!.status).toBe('paused');
    expect(partitioned.partition).toEqual([['n3'], ['n1', 'n2', 'n4', 'n5']]);
    expect(partitioned.link_faults).toEqual([
      { scope: 'all links', words: ['loss 20%'] },
      { scope: 'n2-n3', words: ['delay 50ms'] },
    ]);
    expect(partitioned.faults).toContain('n1 paused');
    const healed = reduceAll(until(events, (e) => e.type === 'fault' && e.action === 'heal'));
    expect(healed.partition).toBeNull();
    expect(healed.link_faults).toEqual([]);
    expect(healed.log.at(-1)).toMatchObject({ kind: 'heal', text: 'healed: no partitions or link faults' });
  });

  it('logs the restart, samples committed throughput while the load runs, and ends with the cluster down', () => {
    const model = reduceAll(events);
    expect(model.cluster_down).toBe(true);
    expect(model.nodes.find((n) => n.id === 'n5')).toMatchObject({ status: 'up', restarts: 1 });
    const texts = model.log.map((e) => e.text);
    expect(texts).toContain('n5 restarted (restart 1)');
    expect(texts.some((t) => t.startsWith('load done: ok 213'))).toBe(true);
    expect(model.throughput_per_s.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...model.throughput_per_s)).toBeGreaterThan(30);
    expect(model.load?.running).toBe(false);
  });

  it('keeps the event log bounded', () => {
    let model = emptyModel();
    for (let i = 0; i < 1000; i++) model = dashboardReducer(model, { type: 'local_note', t: i, text: `note ${i}` });
    expect(model.log.length).toBeLessThanOrEqual(200);
    expect(model.log.at(-1)!.text).toBe('note 999');
  });

  it('returns the same model for events it does not show, so no frame is drawn for them', () => {
    const model = reduceAll(events.slice(0, 20));
    const ignored = { type: 'client_result', client: 'c1', dest: 'n1', request: {}, reply: {}, call_ms: 1, return_ms: 2, t: 1, seq: 1 } as ClusterEvent;
    expect(dashboardReducer(model, ignored)).toBe(model);
  });

  it('never changes the model it is given', () => {
    const before = reduceAll(events.slice(0, 30));
    const copy = JSON.parse(JSON.stringify(before)) as unknown;
    for (const event of events.slice(30, 200)) dashboardReducer(before, event);
    expect(JSON.parse(JSON.stringify(before))).toEqual(copy);
  });
});

describe('dashboardReducer on other streams', () => {
  const t = 1_000;
  const base = (type: string, extra: Record<string, unknown>) => ({ type, t, seq: 1, ...extra }) as unknown as ClusterEvent;

  const threeNodes = (system = 'raft') => [
    base('cluster_up', { name: 'c', system, nodes: ['n1', 'n2', 'n3'], seed: 1, view: viewFor(system) }),
    ...['n1', 'n2', 'n3'].map((node, i) => base('node_up', { node, pid: 10 + i, restarts: 0 })),
  ];

  it('never keeps a paused or killed node as leader, and logs the change', () => {
    const leading = [
      ...threeNodes(),
      base('node_state', { node: 'n1', state: { role: 'leader', term: 2 } }),
      base('node_state', { node: 'n2', state: { role: 'follower', term: 2, leader: 'n1' } }),
    ];
    const paused = reduceAll([...leading, base('node_paused', { node: 'n1' })]);
    expect(paused.leader).toBeNull();
    expect(paused.log.at(-1)!.text).toBe('no leader (n1 no longer leads)');
    const killed = reduceAll([...leading, base('node_down', { node: 'n1', exit_code: null, signal: 'SIGKILL', stderr_tail: [], expected: true })]);
    expect(killed.leader).toBeNull();
    // Resumed, it leads again only because it still says so and is live.
    expect(reduceAll([...leading, base('node_paused', { node: 'n1' }), base('node_resumed', { node: 'n1' })]).leader).toBe('n1');
  });

  it('does not take a role left from before a restart (as a snapshot tells it) as leadership', () => {
    const status = {
      name: 'c',
      system: 'raft',
      view: viewFor('raft'),
      seed: 1,
      started_at_ms: 500,
      faults: [],
      partition: null,
      active_faults: { partition: null, links: [], paused: [], clock_offsets_ms: {} },
      leader: null,
      leader_inferred: false,
      nodes: ['n1', 'n2'].map((id) => ({ id, status: 'up', exit_code: null, exit_signal: null, restarts: id === 'n1' ? 1 : 0, state: { role: id === 'n1' ? 'leader' : 'follower', term: 3 }, role_stale: id === 'n1' })),
    } as unknown as ClusterStatus;
    const model = reduceAll([{ type: 'snapshot', t, status }]);
    expect(model.leader).toBeNull();
    expect(model.nodes[0]!.role_stale).toBe(true);
    const reported = dashboardReducer(model, base('node_state', { node: 'n1', state: { role: 'leader', term: 4 } }));
    expect(reported.leader).toBe('n1');
    expect(reported.nodes[0]!.role_stale).toBe(false);
  });

  it('logs a pre-vote as such, not as an election, and an election with its new term', () => {
    const model = reduceAll([
      ...threeNodes(),
      base('node_state', { node: 'n2', state: { role: 'follower', term: 3 } }),
      base('node_state', { node: 'n2', state: { role: 'pre_candidate', term: 3 } }),
      base('node_state', { node: 'n2', state: { role: 'candidate', term: 4 } }),
    ]);
    expect(model.log.filter((e) => e.kind === 'election').map((e) => e.text)).toEqual(['n2 runs a pre-vote (term 3)', 'n2 starts an election for term 4']);
  });

  it('shows the leader the supervisor infers from client replies, labelled, until it is cleared or a node reports a leader', () => {
    const silent = [...threeNodes('student'), base('leader_inferred', { node: 'n3', reason: 'n3 answered a write from c1' })];
    const inferred = reduceAll(silent);
    expect(inferred).toMatchObject({ leader: 'n3', leader_inferred: true, leader_term: null });
    expect(inferred.log.at(-1)!.text).toBe('n3 is leader (inferred from client replies)');
    expect(reduceAll([...silent, base('leader_inferred', { node: null, reason: 'n3 went down' })]).leader).toBeNull();
    expect(reduceAll([...silent, base('node_paused', { node: 'n3' })]).leader).toBeNull();
    const reported = reduceAll([...silent, base('node_state', { node: 'n1', state: { role: 'leader', term: 1 } })]);
    expect(reported).toMatchObject({ leader: 'n1', leader_inferred: false, leader_term: 1 });
    const snapshot = reduceAll([{ type: 'snapshot', t, status: { name: 'c', system: 'student', view: viewFor('student'), seed: 1, started_at_ms: 0, faults: [], partition: null, active_faults: { partition: null, links: [], paused: [], clock_offsets_ms: {} }, leader: 'n2', leader_inferred: true, nodes: ['n1', 'n2'].map((id) => ({ id, status: 'up', exit_code: null, exit_signal: null, restarts: 0, state: {}, role_stale: false })) } as unknown as ClusterStatus }]);
    expect(snapshot).toMatchObject({ leader: 'n2', leader_inferred: true });
  });

  it('shows router-level facts for nodes that report no state', () => {
    const model = reduceAll([
      base('cluster_up', { name: 'mine', system: 'student', nodes: ['n1', 'n2'], seed: 1, view: viewFor('student') }),
      base('node_up', { node: 'n1', pid: 10, restarts: 0 }),
      base('node_up', { node: 'n2', pid: 11, restarts: 0 }),
      base('rates', { interval_ms: 1000, nodes: { n1: { in_per_s: 5, out_per_s: 7 }, n2: { in_per_s: 7, out_per_s: 5 } }, dropped_per_s: 0 }),
    ]);
    expect(model.leader).toBeNull();
    expect(model.nodes.map((n) => [n.id, n.status, n.in_per_s, n.out_per_s])).toEqual([
      ['n1', 'up', 5, 7],
      ['n2', 'up', 7, 5],
    ]);
  });

  it("takes each node's last contact with the leader from the router's deliveries, and not for a paused node", () => {
    const at = (when: number, type: string, extra: Record<string, unknown>) => ({ ...base(type, extra), t: when }) as ClusterEvent;
    const leading = { role: 'leader', term: 3, leader: 'n1' };
    const following = { role: 'follower', term: 3, leader: 'n1' };
    const model = reduceAll([
      at(100, 'cluster_up', { name: 'c', system: 'raft', nodes: ['n1', 'n2', 'n3', 'n4'], seed: 1, view: viewFor('raft') }),
      ...['n1', 'n2', 'n3', 'n4'].map((node, i) => at(100, 'node_up', { node, pid: 10 + i, restarts: 0 })),
      at(200, 'node_state', { node: 'n1', state: leading }),
      ...['n2', 'n3', 'n4'].map((node) => at(200, 'node_state', { node, state: following })),
      at(300, 'node_paused', { node: 'n4' }),
      at(5_000, 'rates', {
        interval_ms: 1000,
        // n3 is cut off from the leader: its last message from n1 arrived long ago, though others still reach it.
        nodes: { n1: { in_per_s: 9, out_per_s: 9 }, n2: { in_per_s: 9, out_per_s: 9 }, n3: { in_per_s: 4, out_per_s: 4 }, n4: { in_per_s: 3, out_per_s: 0 } },
        dropped_per_s: 0,
        heard_from: { n2: { n1: 4_950, n3: 4_990 }, n3: { n1: 1_200, n2: 4_990 }, n4: { n1: 4_980 } },
      }),
    ]);
    const contact = Object.fromEntries(model.nodes.map((n) => [n.id, n.leader_contact_t]));
    expect(model.leader).toBe('n1');
    expect(contact.n1).toBe(5_000);
    expect(contact.n2).toBe(4_950);
    expect(contact.n3).toBe(1_200);
    // Delivered into a paused node's pipe is not heard: it never had contact and still has none.
    expect(contact.n4).toBeNull();
  });

  it("understands Zab's words: leading, looking, epoch", () => {
    const model = reduceAll([
      base('cluster_up', { name: 'zk', system: 'zab', nodes: ['n1', 'n2', 'n3'], seed: 1, view: viewFor('zab') }),
      base('node_up', { node: 'n1', pid: 10, restarts: 0 }),
      base('node_up', { node: 'n2', pid: 11, restarts: 0 }),
      base('node_state', { node: 'n2', state: { role: 'looking', epoch: 3, zxid: '0x300000000' } }),
      base('node_state', { node: 'n1', state: { role: 'leading', epoch: 3, zxid: '0x300000001' } }),
    ]);
    expect(model.leader).toBe('n1');
    expect(model.leader_term).toBe(3);
    expect(model.log.map((e) => e.text)).toEqual(expect.arrayContaining(['n2 starts an election (at epoch 3)', 'n1 is leader (epoch 3)']));
  });

  it('shows how far a follower lags the leader, and reports entries rolled back', () => {
    const model = reduceAll([
      base('cluster_up', { name: 'c', system: 'raft', nodes: ['n1', 'n2'], seed: 1, view: viewFor('raft') }),
      base('node_up', { node: 'n1', pid: 10, restarts: 0 }),
      base('node_up', { node: 'n2', pid: 11, restarts: 0 }),
      base('node_state', { node: 'n1', state: { role: 'leader', term: 2, commit_index: 40 } }),
      base('node_state', { node: 'n2', state: { role: 'follower', term: 2, commit_index: 33, rolled_back: 0 } }),
      base('node_state', { node: 'n2', state: { role: 'follower', term: 2, commit_index: 33, rolled_back: 3 } }),
    ]);
    expect(lagBehindLeader(model, model.nodes[1]!, 'commit_index')).toBe(7);
    expect(lagBehindLeader(model, model.nodes[0]!, 'commit_index')).toBeNull();
    expect(model.log.at(-1)).toMatchObject({ kind: 'rollback', text: 'n2 rolled back 3 uncommitted entries' });
  });

  it('logs a Zab leader’s session expiry as its own kind, naming the session and its deleted ephemerals', () => {
    const model = reduceAll([
      base('cluster_up', { name: 'c', system: 'zab', nodes: ['n1'], seed: 1, view: viewFor('zab') }),
      base('node_state', { node: 'n1', state: { role: 'leading', epoch: 1, established: true, sessions_expired: 0 } }),
      base('node_state', { node: 'n1', state: { role: 'leading', epoch: 1, established: true, sessions_expired: 1, last_expired_session: 's1.4', last_expired_ephemerals: '/lock' } }),
    ]);
    expect(model.log.at(-1)).toMatchObject({ kind: 'expiry', text: 'n1 expired session s1.4 (nothing heard for its timeout): its ephemerals /lock are deleted' });
  });

  it('logs each Zab join with its sync mode and what a TRUNC cut, and the round of each election', () => {
    const model = reduceAll([
      base('cluster_up', { name: 'c', system: 'zab', nodes: ['n1', 'n2'], seed: 1, view: viewFor('zab') }),
      base('node_state', { node: 'n2', state: { role: 'following', epoch: 1, leader: 'n1', sync_mode: 'DIFF', syncs: 1, truncated_txns: 0 } }),
      base('node_state', { node: 'n2', state: { role: 'looking', epoch: 1, leader: null, election_round: 4, sync_mode: null, syncs: 1, truncated_txns: 0 } }),
      base('node_state', { node: 'n2', state: { role: 'following', epoch: 2, leader: 'n1', sync_mode: 'TRUNC', syncs: 2, truncated_txns: 3 } }),
      // Another report of the same join is no new line.
      base('node_state', { node: 'n2', state: { role: 'following', epoch: 2, leader: 'n1', sync_mode: 'TRUNC', syncs: 2, truncated_txns: 3, last_zxid: '2:5' } }),
      base('node_state', { node: 'n2', state: { role: 'following', epoch: 3, leader: 'n1', sync_mode: 'DIFF', syncs: 3, truncated_txns: 0 } }),
    ]);
    const lines = model.log.filter((l) => l.kind === 'sync' || l.kind === 'election').map((l) => `${l.kind}: ${l.text}`);
    expect(lines).toEqual([
      'sync: n2 synced with n1 by DIFF for epoch 1',
      'election: n2 starts an election (round 4, at epoch 1)',
      'sync: n2 synced with n1 by TRUNC (cut 3 txns the leader never had) for epoch 2',
      'sync: n2 synced with n1 by DIFF for epoch 3',
    ]);
  });

  it('starts from a snapshot when the history no longer holds the start of the cluster', () => {
    const status = {
      name: 'raft',
      system: 'raft',
      view: viewFor('raft'),
      seed: 9,
      started_at_ms: 500,
      faults: ['partition {n1} | {n2,n3}', 'loss 5% on n1-n3', 'n3 paused'],
      partition: [['n1'], ['n2', 'n3']],
      active_faults: { partition: [['n1'], ['n2', 'n3']], links: [{ link: 'n1-n3', faults: { loss: 0.05, duplicate: 0, reorder: 0, delay_ms: 0, jitter_ms: 0 } }], paused: ['n3'], clock_offsets_ms: {} },
      nodes: ['n1', 'n2', 'n3'].map((id) => ({
        id,
        status: id === 'n3' ? 'paused' : 'up',
        exit_code: null,
        exit_signal: null,
        restarts: 0,
        state: { role: id === 'n2' ? 'leader' : 'follower', term: 4 },
      })),
    } as unknown as ClusterStatus;
    const model = reduceAll([{ type: 'snapshot', t, status }]);
    expect(model.leader).toBe('n2');
    expect(model.partition).toEqual([['n1'], ['n2', 'n3']]);
    expect(model.link_faults).toEqual([{ scope: 'n1-n3', words: ['loss 5%'] }]);
    expect(model.nodes[2]!.status).toBe('paused');
    expect(model.log).toEqual([]);
  });
});

describe('a system without leaders', () => {
  const t = 1_000;
  const base = (type: string, extra: Record<string, unknown>) => ({ type, t, seq: 1, ...extra }) as unknown as ClusterEvent;

  it('never counts the time without a leader, and reads the same words a raft cluster would differently', () => {
    const events = (system: string) => [
      base('node_up', { node: 'n1', pid: 10, restarts: 0 }),
      base('cluster_up', { name: 'c', system, nodes: ['n1'], seed: 1, view: viewFor(system) }),
      base('node_state', { node: 'n1', state: { role: 'echo' } }),
      base('node_down', { node: 'n1', exit_code: 0, signal: null, stderr_tail: [], expected: true }),
    ];
    const echo = reduceAll(events('echo'));
    expect(echo.no_leader_since_t).toBeNull();
    expect(echo.log.map((e) => e.kind)).not.toContain('no_leader');
    const snapshot = reduceAll([{ type: 'snapshot', t, status: { name: 'c', system: 'echo', view: viewFor('echo'), seed: 1, started_at_ms: 0, faults: [], partition: null, active_faults: { partition: null, links: [], paused: [], clock_offsets_ms: {} }, leader: null, leader_inferred: false, nodes: [] } as unknown as ClusterStatus }]);
    expect(snapshot.no_leader_since_t).toBeNull();
    // The same stream under a system that has leaders does miss one.
    const raftSnapshot = reduceAll([{ type: 'snapshot', t, status: { name: 'c', system: 'raft', view: viewFor('raft'), seed: 1, started_at_ms: 0, faults: [], partition: null, active_faults: { partition: null, links: [], paused: [], clock_offsets_ms: {} }, leader: null, leader_inferred: false, nodes: [] } as unknown as ClusterStatus }]);
    expect(raftSnapshot.no_leader_since_t).toBe(t);
  });
});

describe('linkFaultViews', () => {
  it('lists the faults on every link first, then those of single links, in words, and leaves out links without faults', () => {
    const none = { loss: 0, duplicate: 0, reorder: 0, delay_ms: 0, jitter_ms: 0 };
    expect(
      linkFaultViews([
        { link: null, faults: { ...none, delay_ms: 100, jitter_ms: 20 } },
        { link: 'n1-n3', faults: { ...none, loss: 0.05 } },
        { link: 'n2-n4', faults: none },
      ]),
    ).toEqual([
      { scope: 'all links', words: ['delay 100ms±20ms'] },
      { scope: 'n1-n3', words: ['loss 5%'] },
    ]);
  });
});

describe('dashboardReducer on a cluster of node groups', () => {
  const t = 1_000;
  const base = (type: string, extra: Record<string, unknown>) => ({ type, t, seq: 1, ...extra }) as unknown as ClusterEvent;

  it("puts each node in its group, group by group in the cluster's order, also for reports that came before cluster_up", () => {
    const model = reduceAll([
      base('node_state', { node: 'w2', state: { role: 'serving' } }),
      base('cluster_up', { name: 'c', system: 'snow', nodes: ['z1', 'z2', 'w1', 'w2'], seed: 1, view: viewFor('snow'), groups: [{ name: 'coordinator', nodes: ['z1', 'z2'] }, { name: 'workers', nodes: ['w1', 'w2'] }] }),
    ]);
    expect(model.groups).toEqual(['coordinator', 'workers']);
    expect(model.nodes.map((n) => `${n.group}:${n.id}`)).toEqual(['coordinator:z1', 'coordinator:z2', 'workers:w1', 'workers:w2']);
    expect(model.nodes.find((n) => n.id === 'w2')!.state.role).toBe('serving');
  });

  it('takes the groups from a status snapshot', () => {
    const node = (id: string, group: string) => ({ id, group, status: 'up', exit_code: null, exit_signal: null, restarts: 0, state: {}, role_stale: false });
    const status = { name: 'c', system: 'snow', seed: 1, started_at_ms: 0, nodes: [node('w1', 'workers'), node('z1', 'coordinator')], faults: [], active_faults: { partition: null, links: [], paused: [], clock_offsets_ms: {} }, leader: null, leader_inferred: false } as unknown as ClusterStatus;
    const model = dashboardReducer(emptyModel(), { type: 'snapshot', t, status });
    expect(model.groups).toEqual(['workers', 'coordinator']);
    expect(model.nodes.map((n) => n.id)).toEqual(['w1', 'z1']);
  });
});

describe('real servers on the dashboard', () => {
  const t = 1_000;
  const redis = (state: 'running' | 'exited' | 'paused') => ({
    id: 'redis1', group: 'redis', kind: 'redis', state, pid: state === 'exited' ? null : 77, port: 6400, address: '127.0.0.1:6400', restarts: 2, output_tail: [], links: [],
    last_exit: state === 'exited' ? { exit_code: null, signal: 'SIGKILL', expected: true } : null,
  });

  it("are rows in their group's section from a snapshot, with no role, and a killed one is down", () => {
    const status = { ...clusterStatus([nodeStatus('n1', { group: 'nodes', state: { role: 'leader' } })], { system: 'kvredis' }), servers: [redis('running')] } as ClusterStatus;
    const model = dashboardReducer(emptyModel(), { type: 'snapshot', t, status });
    expect(model.groups).toEqual(['nodes', 'redis']);
    expect(model.nodes.map((n) => [n.id, n.group, n.server, n.status, n.restarts])).toEqual([['n1', 'nodes', null, 'up', 0], ['redis1', 'redis', 'redis', 'up', 2]]);
    expect(model.nodes[1]!.state).toEqual({});
    const killed = dashboardReducer(emptyModel(), { type: 'snapshot', t, status: { ...status, servers: [redis('exited')] } });
    expect(killed.nodes[1]).toMatchObject({ status: 'down', exit_signal: 'SIGKILL' });
  });

  it('are known as servers from the cluster_up event, and go down and up with node events', () => {
    const model = reduceAll([
      { t, seq: 1, type: 'cluster_up', name: 'kv', system: 'kvredis', nodes: ['n1', 'redis1'], seed: 1, groups: [{ name: 'nodes', nodes: ['n1'] }, { name: 'redis', nodes: ['redis1'], server: 'redis' }] },
      { t, seq: 2, type: 'node_down', node: 'redis1', exit_code: null, signal: 'SIGKILL', stderr_tail: [], expected: true },
    ]);
    expect(model.nodes.map((n) => [n.id, n.group, n.server, n.status])).toEqual([['n1', 'nodes', null, 'starting'], ['redis1', 'redis', 'redis', 'down']]);
  });
});

describe('a first state report that reaches the supervisor before its node_up', () => {
  it('keeps the role it reports, so the leader is known; a later start after a crash still forgets the old process', () => {
    const start = (node: string, seq: number): ClusterEvent => ({ type: 'node_up', node, pid: 10 + seq, restarts: 0, t: 1000 + seq, seq }) as ClusterEvent;
    const state = (node: string, role: string, seq: number): ClusterEvent => ({ type: 'node_state', node, state: { role, term: 3 }, t: 1000 + seq, seq }) as ClusterEvent;
    const model = reduceAll([
      { type: 'cluster_up', name: 'c', system: 'raft', nodes: ['n1', 'n2'], seed: 3, view: viewFor('raft'), t: 1000, seq: 1 } as ClusterEvent,
      state('n1', 'leader', 2),
      start('n1', 3),
      start('n2', 4),
      state('n2', 'follower', 5),
    ]);
    expect(model.leader).toBe('n1');
    const restarted = reduceAll([
      ...[
        { type: 'cluster_up', name: 'c', system: 'raft', nodes: ['n1'], seed: 3, view: viewFor('raft'), t: 1000, seq: 1 } as ClusterEvent,
        start('n1', 2),
        state('n1', 'leader', 3),
        { type: 'node_down', node: 'n1', exit_code: null, signal: 'SIGKILL', expected: true, stderr_tail: [], t: 1004, seq: 4 } as unknown as ClusterEvent,
      ],
      { ...start('n1', 5), restarts: 1 } as ClusterEvent,
    ]);
    expect(restarted.nodes.find((n) => n.id === 'n1')?.state).toEqual({});
    expect(restarted.leader).toBeNull();
  });
});

describe('leader contact, observers, violations and the farewell', () => {
  const at = (t: number, type: string, extra: Record<string, unknown>) => ({ type, t, seq: 1, ...extra }) as unknown as ClusterEvent;
  const rates = (t: number, heard_from: Record<string, Record<string, number>>) =>
    at(t, 'rates', { interval_ms: 1000, nodes: { n1: { in_per_s: 13, out_per_s: 40 }, n2: { in_per_s: 13, out_per_s: 13 }, n3: { in_per_s: 13, out_per_s: 13 } }, dropped_per_s: 0, heard_from });
  const raftStart = [
    at(100, 'cluster_up', { name: 'c', system: 'raft', nodes: ['n1', 'n2', 'n3'], seed: 1, view: viewFor('raft') }),
    ...['n1', 'n2', 'n3'].map((node, i) => at(100, 'node_up', { node, pid: 10 + i, restarts: 0 })),
    at(200, 'node_state', { node: 'n1', state: { role: 'leader', term: 2, leader: 'n1' } }),
    ...['n2', 'n3'].map((node) => at(200, 'node_state', { node, state: { role: 'follower', term: 2, leader: 'n1' } })),
  ];
  const contactCell = (model: DashboardModel, id: string, now_ms: number) => {
    const column = availableColumns(model).find((c) => c.key === 'contact')!;
    return column.cell(model.nodes.find((n) => n.id === id)!, { model, now_ms });
  };

  it('reads contact under steady 75 ms heartbeats the same between router reports; a cut-off follower climbs report by report', () => {
    // n2 hears a heartbeat every 75 ms: each report finds the last one 0-75 ms old. n3 is cut off from n1 after 1.2 s.
    const model = reduceAll([...raftStart, rates(1_000, { n2: { n1: 940 }, n3: { n1: 960 } }), rates(2_000, { n2: { n1: 1_990 }, n3: { n1: 1_200 } }), rates(3_000, { n2: { n1: 2_930 }, n3: { n1: 1_200 } })]);
    // Frames between reports, as the dashboard draws them ten times a second.
    const shown = [3_000, 3_100, 3_400, 3_600, 3_950].map((now) => contactCell(model, 'n2', now).text);
    expect(new Set(shown)).toEqual(new Set(['<0.1s']));
    expect(contactCell(model, 'n3', 3_600)).toMatchObject({ text: '1.8s', color: 'yellow' });
    expect(contactCell(reduceAll([...raftStart, rates(2_000, { n3: { n1: 1_200 } })]), 'n3', 2_500)).toMatchObject({ text: '0.8s', color: undefined });
  });

  it('says a Zab observer that lost its leader looks for one, and a voter starts an election', () => {
    const model = reduceAll([
      at(100, 'cluster_up', { name: 'zk', system: 'zab', nodes: ['n1', 'n2', 'n3'], seed: 1, view: viewFor('zab') }),
      at(200, 'node_state', { node: 'n3', state: { role: 'observing', epoch: 1, leader: 'n1', observer: true } }),
      at(300, 'node_state', { node: 'n3', state: { role: 'looking', epoch: 1, election_round: 2, observer: true } }),
      at(300, 'node_state', { node: 'n2', state: { role: 'looking', epoch: 1, election_round: 2, observer: false } }),
    ]);
    const texts = model.log.map((e) => e.text);
    expect(texts).toContain('n3 looks for the leader (an observer does not vote)');
    expect(texts).toContain('n2 starts an election (round 2, at epoch 1)');
    expect(texts.filter((text) => text.startsWith('n3 starts'))).toEqual([]);
  });

  it('tells of each violation a node reports as its count rises, in its words', () => {
    const report = (t: number, violations: number, last_violation: string | null) => at(t, 'node_state', { node: 'r1', state: { role: 'resource', violations, last_violation } });
    const model = reduceAll([
      at(100, 'cluster_up', { name: 'locks', system: 'locks', nodes: ['r1', 'k1'], seed: 1, view: viewFor('locks') }),
      report(200, 0, null),
      report(300, 1, 'k1 and k2 both held the lock 12:00:01.200–.450; 1 increment lost'),
      report(400, 1, 'k1 and k2 both held the lock 12:00:01.200–.450; 1 increment lost'),
      report(500, 3, "k2's write at 12:00:02.000 was accepted with token 5, not above k1's 5 before it"),
    ]);
    expect(model.log.filter((e) => e.kind === 'violation').map((e) => e.text)).toEqual([
      'r1 saw a violation: k1 and k2 both held the lock 12:00:01.200–.450; 1 increment lost',
      "r1 saw 2 violations, the last: k2's write at 12:00:02.000 was accepted with token 5, not above k1's 5 before it",
    ]);
  });

  it('leaves one line in place of the last frame: stopped, gone, lost, or left running (with the verdicts so far)', () => {
    const up = reduceAll(raftStart);
    expect(farewellLines(up, { how: 'stopped' })).toEqual(['cluster c stopped']);
    expect(farewellLines(dashboardReducer(up, at(900, 'cluster_down', { name: 'c' })), { how: 'cluster_gone' })).toEqual(['cluster c stopped']);
    expect(farewellLines(dashboardReducer(up, { type: 'stream_ended', t: 900, error: 'socket hang up' }), { how: 'cluster_gone' })).toEqual(['left the dashboard: lost the event stream of cluster c (socket hang up)']);
    const judged = dashboardReducer(up, at(900, 'node_state', { node: 'n2', state: { role: 'follower', verdict: 'counter 4 after 4 acknowledged increments, 0 lost; 0 overlaps', verdict_ok: true } }));
    expect(farewellLines(judged, { how: 'left' })).toEqual(['left the dashboard; cluster c keeps running (dslab down stops it)', 'n2: counter 4 after 4 acknowledged increments, 0 lost; 0 overlaps']);
  });
});

describe('link rates and the running load', () => {
  const at = (t: number, type: string, extra: Record<string, unknown>) => ({ type, t, seq: 1, ...extra }) as unknown as ClusterEvent;
  const stats = (t: Partial<LoadStats>): LoadStats => ({ offered: 0, completed: 0, ok: 0, not_found: 0, mismatched: 0, fail: 0, unknown: 0, skipped: 0, elapsed_ms: 0, throughput_per_s: 0, latency_ms: null, by_function: {}, ...t });
  const options = { clients: 3, rate_per_s: 20, duration_ms: 4000, keys: 0, history_path: null };
  const load = (t: number, phase: string, figures: Partial<LoadStats>) => at(t, 'load', { phase, stats: stats(figures), options });
  const rates = (t: number, extra: Record<string, unknown>) => at(t, 'rates', { interval_ms: 1000, nodes: { n0: { in_per_s: 7, out_per_s: 7 } }, dropped_per_s: 0, ...extra });
  const start = [at(0, 'cluster_up', { name: 'test-echo', system: 'student', nodes: ['n0', 'n1', 'n2'], seed: 1, view: viewFor('student') }), ...['n0', 'n1', 'n2'].map((node, i) => at(0, 'node_up', { node, pid: 10 + i, restarts: 0 }))];

  it("keeps the router's busiest links, how many links were busy and the drops of its last report; a supervisor that names no links leaves them unknown", () => {
    expect(reduceAll([...start, rates(1_000, {})])).toMatchObject({ links: null, dropped_per_s: 0 });
    const links = [
      { src: 'n1', dest: 'n2', per_s: 120 },
      { src: null, dest: 'n0', per_s: 7 },
    ];
    const model = reduceAll([...start, rates(1_000, { links: [{ src: 'n2', dest: 'n1', per_s: 3 }], links_active: 1 }), rates(2_000, { links, links_active: 5, dropped_per_s: 4 })]);
    expect(model).toMatchObject({ links, links_active: 5, dropped_per_s: 4 });
    // An interval with no traffic: no links, none busy.
    expect(reduceAll([rates(3_000, { links: [], links_active: 0 })], model)).toMatchObject({ links: [], links_active: 0, dropped_per_s: 0 });
  });

  it("keeps the load's latest figures from start to done, with its length, and says when it is done", () => {
    const running = reduceAll([
      ...start,
      load(1_000, 'start', {}),
      load(2_000, 'progress', { offered: 21, completed: 20, ok: 19, unknown: 1, elapsed_ms: 1000, throughput_per_s: 19, latency_ms: { p50: 1.5, p90: 3, p99: 9.2, max: 12 } }),
      load(3_000, 'progress', { offered: 41, completed: 40, ok: 37, fail: 2, unknown: 1, elapsed_ms: 2000, throughput_per_s: 19, latency_ms: { p50: 1.4, p90: 3, p99: 8, max: 12 } }),
    ]);
    expect(running.load).toMatchObject({ running: true, duration_ms: 4000, stats: { completed: 40, ok: 37, fail: 2, unknown: 1, latency_ms: { p50: 1.4, p99: 8 } } });
    expect(running.throughput_per_s).toEqual([19, 18]);
    const done = dashboardReducer(running, load(5_000, 'done', { offered: 80, completed: 80, ok: 77, fail: 2, unknown: 1, elapsed_ms: 4000, throughput_per_s: 19 }));
    expect(done.load).toMatchObject({ running: false, stats: { completed: 80, ok: 77 } });
    // A new load starts from nothing.
    expect(dashboardReducer(done, load(6_000, 'start', {})).load).toMatchObject({ running: true, stats: { completed: 0 } });
  });

  it('takes up a load already running when the view attaches mid-load (progress without a start)', () => {
    const model = reduceAll([...start, load(2_000, 'progress', { completed: 30, ok: 30, elapsed_ms: 1500, throughput_per_s: 20 })]);
    expect(model.load).toMatchObject({ running: true, duration_ms: 4000, stats: { completed: 30 } });
  });
});
