// What a Raft node reads from DSLAB_OPTIONS, with the defaults. Parsing only: it reads the environment
// it is handed and touches nothing else.

import type { RaftConfig } from './core/core.js';

/** Entries applied between snapshots when the user does not say. */
export const snapshot_every_default = 10_000;

export type ReadMode = 'index' | 'lease' | 'serializable';

export interface RaftNodeOptions {
  raft: Partial<RaftConfig>;
  read_mode: ReadMode;
  snapshot_every: number;
  report_apply: boolean;
}

/**
 * Options arrive as JSON in DSLAB_OPTIONS (set by `dslab up` from its flags):
 * election_timeout_ms_min/_max, heartbeat_interval_ms, snapshot_every, read.
 * Unknown or malformed fields fall back to defaults, so a node always starts.
 */
export function readRaftOptions(env: NodeJS.ProcessEnv): RaftNodeOptions {
  let given: Record<string, unknown> = {};
  try {
    given = JSON.parse(env.DSLAB_OPTIONS ?? '{}') as Record<string, unknown>;
  } catch {
    given = {};
  }
  const positive = (value: unknown): number | undefined => (typeof value === 'number' && value > 0 ? value : undefined);
  const raft: Partial<RaftConfig> = {};
  const min = positive(given.election_timeout_ms_min);
  const max = positive(given.election_timeout_ms_max);
  const heartbeat = positive(given.heartbeat_interval_ms);
  if (min !== undefined && max !== undefined && max >= min) {
    raft.election_timeout_ms_min = min;
    raft.election_timeout_ms_max = max;
  }
  if (heartbeat !== undefined && heartbeat < (raft.election_timeout_ms_min ?? Infinity)) raft.heartbeat_interval_ms = heartbeat;
  const read_mode: ReadMode = given.read === 'serializable' || given.read === 'lease' ? given.read : 'index';
  if (read_mode === 'lease') raft.lease_reads = true;
  return {
    raft,
    read_mode,
    snapshot_every: typeof given.snapshot_every === 'number' && given.snapshot_every >= 0 ? given.snapshot_every : snapshot_every_default,
    report_apply: given.report_apply !== false,
  };
}
