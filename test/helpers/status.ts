import type { ClusterStatus, NodeStatus } from '../../src/lib/control/api.js';

/** A node's status as the supervisor reports it: an up node with some traffic and no reports, then the test's changes. */
export function nodeStatus(id: string, overrides: Partial<NodeStatus> = {}): NodeStatus {
  return {
    id,
    pid: 100,
    status: 'up',
    exit_code: null,
    exit_signal: null,
    restarts: 0,
    msgs_in: 10,
    msgs_out: 10,
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

/** A cluster's status around the given nodes, with no faults and no leader unless the test says so. */
export function clusterStatus(nodes: NodeStatus[], overrides: Partial<ClusterStatus> = {}): ClusterStatus {
  return {
    name: 'cluster',
    system: 'raft',
    dir: '/tmp/cluster',
    supervisor_pid: 1,
    seed: 1,
    started_at_ms: 0,
    uptime_ms: 1000,
    nodes,
    faults: [],
    partition: null,
    active_faults: { partition: null, links: [], paused: [], clock_offsets_ms: {} },
    links: [],
    leader: null,
    leader_inferred: false,
    nemesis: null,
    trace: { path: '/tmp/cluster/trace.jsonl', bytes: 0, truncated: false },
    ...overrides,
  };
}
