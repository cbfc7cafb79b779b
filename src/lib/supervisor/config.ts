// What a supervisor is started with, as plain data (the cluster's groups, seed, options and view).
// A leaf of types: the grader's steps and the launcher name it without importing the supervisor.
import type { GroupConfig } from '../cluster/groups.js';
import type { SystemView } from '../view.js';
import type { BaseLatency } from '../faults/fault-model.js';

export interface SupervisorConfig {
  name: string;
  system: string;
  /** The node groups, each a program run under its own id prefix; one group "nodes" (n1..nN) for a single-program cluster. */
  groups: GroupConfig[];
  seed: number;
  home: string;
  /** Working directory of the node processes (so a --bin path relative to the user's directory works). */
  cwd: string;
  init_timeout_ms: number;
  /** System options for the nodes, passed as JSON in DSLAB_OPTIONS. */
  options?: Record<string, unknown>;
  /** Start from the data directories a previous run of this cluster left (default: empty ones). */
  keep_data?: boolean;
  /** The system's role vocabulary and dashboard columns, from its plugin (src/registry.ts). */
  view: SystemView;
  /** The group answering each workload, where the system says (SystemPlugin.workload_groups); otherwise the first program group. */
  workload_groups?: Record<string, string>;
  /** The workloads the system's clients speak (SystemPlugin.workloads): each one's closing check runs at `down`. */
  workloads?: string[];
  /** The network's base latency from the start (`dslab test --latency`): node and service links only; heal leaves it. */
  latency?: BaseLatency;
  /**
   * The ZooKeeper client port of the first Zab server (groups with zk_client_port), the next
   * servers' following it; 0: any free ports. Absent: ZooKeeper's 2181 and on where free, else any.
   */
  zk_port?: number;
}
