import { isProcessAlive, listClusters, type ClusterInfo } from './paths.js';

/** Why a cluster is or is not running, as `dslab ls` shows it. */
export type ClusterState = 'running' | 'failed start' | 'stopped' | 'supervisor died';

export interface ClusterSummary {
  name: string;
  system: string;
  state: ClusterState;
  /** Why the last start failed (state "failed start"), else null. */
  start_error: string | null;
  started_at_ms: number;
  age_ms: number;
  nodes: number;
  dir: string;
}

/**
 * Every cluster under `home`, newest first, with whether it runs and why not:
 * a start that failed, a clean stop, or a supervisor that exited without
 * marking its record (killed, or its machine restarted).
 */
export function summarizeClusters(home: string, now_ms = Date.now()): ClusterSummary[] {
  return listClusters(home).map((info) => ({
    name: info.name,
    system: info.system,
    state: clusterState(info),
    start_error: info.start_error ?? null,
    started_at_ms: info.started_at_ms,
    age_ms: Math.max(0, now_ms - info.started_at_ms),
    nodes: info.nodes.length,
    dir: info.dir,
  }));
}

export function clusterState(info: ClusterInfo): ClusterState {
  if (info.running) return isProcessAlive(info.supervisor_pid) ? 'running' : 'supervisor died';
  return info.start_error ? 'failed start' : 'stopped';
}
