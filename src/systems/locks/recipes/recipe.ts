// What every lock recipe implements, and the waits and limits they share. No backend calls of its own.

/**
 * One lock recipe: how a contender acquires and releases the lock over its
 * backend, and (for `--counter backend`) reads and writes the counter kept
 * there. The contender (contender.ts) owns the loop, the resource and the
 * state reports; a recipe owns only its backend's calls.
 */
export interface Held {
  /** The fencing token that comes with this grant: Redis INCR taken with the lock, the znode's sequence number, the etcd key's create revision; null when the recipe gives none. */
  token: number | null;
  /** The contender's clock when the grant arrived. */
  acquired_ms: number;
  /** The TTL (lease, session timeout) the grant lives by. */
  ttl_ms: number;
  /** Recipe state (the Redis value, the znode path, the etcd key and lease). */
  detail: Record<string, unknown>;
}

/** What `dslab lock status` shows of the lock itself, as the backend tells it. */
export interface LockInfo {
  /** The contender the backend says holds the lock, or null. */
  holder: string | null;
  token: number | null;
  /** Time left on the holder's TTL or lease, in ms; null when unknown or none. */
  ttl_left_ms: number | null;
  /** Contenders queued behind the holder, in order (ZooKeeper and etcd queue; Redis does not). */
  waiters: string[];
  /** Set when the recipe cannot see the lock (it lives in a contender command's own client): why, instead of a holder. */
  unseen?: string;
}

export type ReleaseOutcome = 'released' | 'lost';

export interface Recipe {
  readonly name: string;
  /** Waits until this contender holds the lock (or throws: backend unreachable, gave up). */
  acquire(): Promise<Held>;
  /**
   * Whether the holder may still trust its grant before it writes: a ZooKeeper
   * holder whose session is expired or about to be must stop. Recipes with no
   * way to tell (a Redis holder cannot know its key expired) say true.
   */
  mayWrite(held: Held): boolean;
  /** Why mayWrite said no, in words, when the recipe can say more than that its session could no longer be trusted. */
  whyStopped?(held: Held): string;
  /** Gives the lock up; 'lost' when it was no longer this contender's (expired, taken by another). */
  release(held: Held): Promise<ReleaseOutcome>;
  /** `--counter backend`: the counter kept in the backend (0 when absent). */
  readCounter(): Promise<number>;
  writeCounter(value: number): Promise<void>;
  info(): Promise<LockInfo>;
  close(): Promise<void>;
}

/** What a recipe is built from: the contender's id and clock, the lock's TTL, and where its backend is. */
export interface RecipeContext {
  node: string;
  now(): number;
  ttl_ms: number;
  /** host:port of this contender's proxied link to the backend server (redis, etcd). */
  server_address: string | null;
  /** The Zab coordinator's servers (zk). */
  coordinator: string[];
  log(text: string): void;
  /**
   * Tells the contender that it waits in the backend's queue now (true: its
   * watch on the entry just before its own is in place) or no longer does
   * (false). Reported as `lock_queued`, so a grader can aim a fault at a
   * waiter that is surely waiting, not still joining the queue.
   */
  queued?(queued: boolean): void;
  /** A lab variant's planted bug (options.ts, DSLAB_LOCKS_PLANTED_BUG); absent in normal runs. */
  planted_bug?: string | null;
}

/** How long a contender retries a busy lock before the round fails: a lock held for ever (a killed holder without a TTL) must not hang a run. */
export const acquire_wait_ms_max = 60_000;
/** Between tries at a busy Redis lock (Redis has no queue to wait in); a little jitter keeps contenders apart. */
export const retry_ms_min = 10;
export const retry_ms_max = 40;
/** A backend call that takes longer than this fails the round (a partition stalls calls; the run goes on). */
export const backend_call_timeout_ms = 5_000;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function retryDelayMs(): number {
  return retry_ms_min + Math.random() * (retry_ms_max - retry_ms_min);
}

export class AcquireTimeout extends Error {}
