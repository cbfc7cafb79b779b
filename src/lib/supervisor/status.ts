// What a running cluster says of itself: the status the control API serves (nodes, faults, links,
// services, servers, leader, nemesis, trace) and the record kept in the cluster's directory.
import type { Topology } from '../cluster/groups.js';
import type { ClusterGroupInfo, ClusterInfo, ClusterPaths, ClusterZkInfo } from '../cluster/paths.js';
import type { ClusterStatus } from '../control/api.js';
import type { LeaderFinding } from '../roles.js';
import type { ServiceHub } from '../services/hub.js';
import type { Clients } from './clients.js';
import type { SupervisorConfig } from './config.js';
import type { FaultActions } from './fault-actions.js';
import type { NemesisRunner } from './nemesis-runner.js';
import { type NodeRecord, nodeStatusOf } from './node-table.js';
import type { Router } from './router.js';
import type { ServerMembers } from './servers.js';
import type { TraceWriter } from './trace.js';
import type { ZkClientPortSet } from './zk-ports.js';

/** The supervisor's parts a status is read from. */
export interface StatusSources {
  readonly config: SupervisorConfig;
  readonly paths: ClusterPaths;
  readonly started_at_ms: number;
  readonly nodes: ReadonlyMap<string, NodeRecord>;
  readonly router: Router;
  readonly services: ServiceHub;
  readonly servers: ServerMembers;
  readonly clients: Clients;
  readonly nemesis: NemesisRunner;
  readonly trace: TraceWriter;
  readonly faults: FaultActions;
  /** The Zab servers' ZooKeeper client ports, if the cluster has any. */
  readonly zk: ZkClientPortSet | null;
  leaderFinding(): LeaderFinding | null;
}

export function clusterStatus(from: StatusSources): ClusterStatus {
  const leader = from.leaderFinding();
  const zk = from.zk?.status();
  return {
    name: from.config.name,
    system: from.config.system,
    view: from.config.view,
    dir: from.paths.dir,
    supervisor_pid: process.pid,
    seed: from.config.seed,
    started_at_ms: from.started_at_ms,
    uptime_ms: Date.now() - from.started_at_ms,
    nodes: [...from.nodes.values()].map(nodeStatusOf),
    faults: from.faults.activeFaults(),
    partition: from.router.faults.partition(),
    active_faults: from.faults.activeFaultData(),
    links: from.router.linkCounters().map(({ link, counters }) => ({ link, ...counters })),
    services: from.services.counters(),
    ...(from.servers.size > 0 ? { servers: from.servers.status() } : {}),
    client_messages: from.clients.messageCounts(),
    leader: leader?.id ?? null,
    leader_inferred: leader?.inferred ?? false,
    nemesis: from.nemesis.state(),
    trace: { path: from.trace.path, bytes: from.trace.bytes, truncated: from.trace.truncated },
    ...(zk ? { zk } : {}),
  };
}

/** The cluster's record (cluster.json): what it was started with, whether it runs, and why a start failed. */
export function clusterInfo(config: SupervisorConfig, topology: Topology, paths: ClusterPaths, started_at_ms: number, state: { running: boolean; start_error: string | null; zk: ClusterZkInfo | null }): ClusterInfo {
  return {
    name: config.name,
    system: config.system,
    nodes: [...topology.nodeIds],
    command: config.groups[0]!.command,
    groups: groupsInfo(config, topology),
    seed: config.seed,
    dir: paths.dir,
    socket: paths.socket,
    supervisor_pid: process.pid,
    started_at_ms,
    running: state.running,
    start_error: state.start_error,
    ...(state.zk ? { zk: state.zk } : {}),
    ...(config.options ? { options: config.options } : {}),
  };
}

/** The groups as the cluster's record lists them. */
export function groupsInfo(config: SupervisorConfig, topology: Topology): ClusterGroupInfo[] {
  return config.groups.map((g) => ({ name: g.name, prefix: g.prefix, nodes: [...topology.members(g.name)!] }));
}
