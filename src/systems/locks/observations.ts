// The resource's record of critical sections and the shape of its report, shared with the locks
// workload's checker. Types and limits only: no behaviour.

/**
 * What the resource node records about every critical section it saw, and
 * what it reports: the checker (src/workloads/locks/checker.ts) judges a run from these alone.
 * Times are the resource's clock, in ms since the epoch.
 */
export interface Observation {
  kind: 'read' | 'write';
  /** The contender (k1). */
  node: string;
  /** The contender's own count of its critical sections: a read and a write with one round are one section. */
  round: number;
  /** Which run of the contender's process: a restarted contender counts its rounds from 1 again. */
  incarnation?: string;
  /** The fencing token the contender held, null when its recipe gives none. */
  token: number | null;
  at_ms: number;
  /** The counter value read, or the value written. */
  value: number;
  /** When the contender's lock was granted, by its own clock. */
  acquired_ms: number;
  /** The lock's TTL (or lease, or session timeout) the contender was granted. */
  ttl_ms: number;
  /** Writes: whether the resource (or the backend, when the counter lives there) accepted it. */
  accepted?: boolean;
  /** Writes at the resource: the counter just before this write. */
  before?: number;
  /** A rejected write: why. */
  reason?: string;
}

/** The resource's answer to lock_report: one page of observations and the counter as it stands. */
export interface LockReport {
  counter_place: 'resource' | 'backend';
  fencing: boolean;
  /** The counter at the resource (resource mode), or as a contender read it from the backend (backend mode); null when unknown. */
  counter: number | null;
  /** The largest token the resource accepted. */
  max_token: number | null;
  observations: Observation[];
  /** Observations that did not fit the resource's bounded record (the oldest are kept). */
  dropped: number;
  total: number;
  next: number | null;
  /**
   * The backend the lock lives in, as the cluster shows it (not the resource's to say): it tells what a
   * grant's ttl_ms means. Redis's PX lapses ttl_ms after the grant; a ZooKeeper session or an etcd lease
   * lasts while the holder keeps renewing it. Absent when unknown (a saved report from an older version).
   */
  lock_backend?: 'redis' | 'zk' | 'etcd';
}

/** Observations the resource keeps; past this it counts what it drops. */
export const observations_max = 200_000;
/** Observations per lock_report reply, well under the protocol's 1 MiB line. */
export const report_page_max = 2_000;
