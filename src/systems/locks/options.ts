// What a lock node reads from DSLAB_OPTIONS (and its planted bug), with the defaults. Parsing only:
// it reads the environment it is handed and touches nothing else.

import { type ContenderCommand, holds_line_default, patternProblem, releases_line_default } from './recipes/command.js';

/**
 * What a lock node reads from DSLAB_OPTIONS (set by `dslab up locks` from its
 * flags, checked there by the plugin's schema). Missing or malformed fields
 * fall back to the defaults, so a node started by hand always starts.
 */
export const lock_backends = ['redis', 'zk', 'etcd'] as const;
export type LockBackend = (typeof lock_backends)[number];

/**
 * The recipes, by backend. The unsafe ones exist to show why they fail:
 * redis-naive (SETNX, a separate PEXPIRE, a plain DEL) and etcd-no-recheck
 * (trusts the predecessor's delete without checking its own lease, etcd-io/etcd#11456).
 */
export const lock_recipes = ['redis', 'redis-naive', 'zk', 'kazoo', 'etcd', 'etcd-no-recheck'] as const;
export type LockRecipe = (typeof lock_recipes)[number];
export const recipe_backend: Readonly<Record<LockRecipe, LockBackend>> = {
  redis: 'redis',
  'redis-naive': 'redis',
  zk: 'zk',
  // kazoo's Lock recipe in a real ZooKeeper client (recipes/command.ts runs it), over the Zab servers' client ports.
  kazoo: 'zk',
  etcd: 'etcd',
  'etcd-no-recheck': 'etcd',
};
/** Recipes whose lock is taken by a program of their own, one process per round (recipes/command.ts): the counter can only be the resource's. */
export const command_recipes: readonly LockRecipe[] = ['kazoo'];
/** The recipe a backend uses when --recipe is not given: its safe one. */
export const default_recipe: Readonly<Record<LockBackend, LockRecipe>> = { redis: 'redis', zk: 'zk', etcd: 'etcd' };

export const counter_places = ['resource', 'backend'] as const;
export type CounterPlace = (typeof counter_places)[number];

export const backend_default: LockBackend = 'redis';
/** The lock's time to live (Redis PX, etcd lease TTL, ZooKeeper session timeout). */
export const ttl_ms_default = 2000;
/** etcd grants leases in whole seconds and refuses shorter than its minimum (2 s with its default timings). */
export const etcd_ttl_ms_min = 2000;
/** How long a contender works between reading the counter and writing it back: the window a fault must hit. */
export const hold_ms_default = 50;
export const hold_ms_max = 60_000;
export const ttl_ms_max = 600_000;
export const contenders_default = 3;

export interface LockOptions {
  backend: LockBackend;
  /** 'command' when the contenders run the user's --contender-cmd. */
  recipe: LockRecipe | 'command';
  /** The user's contender command (--contender-cmd, --holds-line, --releases-line); null otherwise. */
  command: ContenderCommand | null;
  counter: CounterPlace;
  fencing: boolean;
  ttl_ms: number;
  hold_ms: number;
}

export function readLockOptions(env: NodeJS.ProcessEnv): LockOptions {
  let given: Record<string, unknown> = {};
  try {
    given = JSON.parse(env.DSLAB_OPTIONS ?? '{}') as Record<string, unknown>;
  } catch {
    given = {};
  }
  return resolveLockOptions(given);
}

/** The contender command in the options (lock_command, with its line patterns or the seed's Go program's), or null when there is none or it is malformed. */
export function contenderCommandOf(given: Readonly<Record<string, unknown>>): ContenderCommand | null {
  const argv = given.lock_command;
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((word) => typeof word === 'string')) return null;
  const pattern = (value: unknown, fallback: string) => (typeof value === 'string' && patternProblem(value) === null ? value : fallback);
  return { argv: argv as string[], holds_line: pattern(given.lock_holds_line, holds_line_default), releases_line: pattern(given.lock_releases_line, releases_line_default) };
}

/** Options with every default applied: the backend follows the recipe when only the recipe is given; a contender command runs over the Zab servers unless another backend is named. */
export function resolveLockOptions(given: Readonly<Record<string, unknown>>): LockOptions {
  const command = contenderCommandOf(given);
  const recipe_given = command ? 'command' : lock_recipes.find((r) => r === given.lock_recipe);
  const backend_given = lock_backends.find((b) => b === given.lock_backend);
  const backend = backend_given ?? (recipe_given === 'command' ? 'zk' : recipe_given ? recipe_backend[recipe_given] : backend_default);
  const recipe = recipe_given ?? default_recipe[backend];
  const duration = (value: unknown, fallback: number, max: number) => (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= max ? value : fallback);
  return {
    backend,
    recipe,
    command,
    counter: counter_places.find((c) => c === given.lock_counter) ?? 'resource',
    fencing: given.lock_fencing === true,
    ttl_ms: duration(given.lock_ttl_ms, ttl_ms_default, ttl_ms_max) || ttl_ms_default,
    hold_ms: duration(given.lock_hold_ms, hold_ms_default, hold_ms_max),
  };
}

/**
 * DSLAB_LOCKS_PLANTED_BUG, a test hook for the locks lab's variants (never a
 * user option): one bug planted in the reference contender or resource, each
 * a known way a lock or a fence goes wrong.
 * - plain_del: the Redis lock is released by a plain DEL, whoever holds it now;
 * - separate_expire: the Redis lock is taken by SETNX and given its TTL by a separate PEXPIRE;
 * - watch_holder: a ZooKeeper waiter watches the lowest node (the holder) instead of the one just below its own: every release wakes every waiter;
 * - trust_watch: a ZooKeeper waiter takes the lock when its watch fires, without reading the children again;
 * - no_lease_recheck: the etcd lock does not check its own key after waiting (etcd-io/etcd#11456);
 * - accept_equal_token: the resource accepts a write whose token equals the largest it accepted.
 */
export const lock_planted_bugs = ['plain_del', 'separate_expire', 'watch_holder', 'trust_watch', 'no_lease_recheck', 'accept_equal_token'] as const;
export type LockPlantedBug = (typeof lock_planted_bugs)[number];

export function readLockPlantedBug(env: NodeJS.ProcessEnv): LockPlantedBug | null {
  const name = env.DSLAB_LOCKS_PLANTED_BUG?.trim() ?? '';
  if (name === '') return null;
  const bug = lock_planted_bugs.find((b) => b === name);
  if (bug) return bug;
  throw new Error(`DSLAB_LOCKS_PLANTED_BUG=${name} names no planted bug (${lock_planted_bugs.join(', ')})`);
}
