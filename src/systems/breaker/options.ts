// What a breaker node reads from DSLAB_OPTIONS (and its planted bug), with the defaults. Parsing only:
// it reads the environment it is handed and touches nothing else.

import { breaker_planted_bugs, type ResilienceConfig, resolveResilienceConfig } from './core/index.js';

/** What the services call: dslab's own node d1, or a real redis-server behind the fault proxy. */
export const dependency_kinds = ['dslab', 'redis'] as const;
export type DependencyKind = (typeof dependency_kinds)[number];
export const dependency_default: DependencyKind = 'dslab';
export const services_default = 3;

/** d1's time in service per request, with no fault. */
export const dep_service_ms_default = 20;
/** d1's workers: requests it serves at once; the rest wait in its queue. */
export const dep_capacity_default = 8;
/** d1's queue; past it a request is refused at once (error 11). */
export const dep_queue_max_default = 10_000;
export const dep_service_ms_max = 600_000;
export const dep_capacity_max = 10_000;
export const dep_queue_max_limit = 1_000_000;

export interface DependencyOptions {
  service_ms: number;
  capacity: number;
  queue_max: number;
}

export interface BreakerOptions {
  dependency: DependencyKind;
  resilience: ResilienceConfig;
  dep: DependencyOptions;
}

/** The options object in DSLAB_OPTIONS; malformed JSON reads as none. */
export function givenOptions(env: NodeJS.ProcessEnv): Record<string, unknown> {
  try {
    const given = JSON.parse(env.DSLAB_OPTIONS ?? '{}') as unknown;
    return given && typeof given === 'object' && !Array.isArray(given) ? (given as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function readBreakerOptions(env: NodeJS.ProcessEnv): BreakerOptions {
  return resolveBreakerOptions(givenOptions(env));
}

/**
 * Options with every default applied. `up` checked them with the plugin's schema; a node started by
 * hand with a bad value gets the defaults for the resilience settings rather than not starting.
 */
export function resolveBreakerOptions(given: Readonly<Record<string, unknown>>): BreakerOptions {
  let resilience: ResilienceConfig;
  try {
    resilience = resolveResilienceConfig(given);
  } catch {
    resilience = resolveResilienceConfig({});
  }
  const whole = (value: unknown, min: number, max: number, fallback: number) => (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : fallback);
  return {
    dependency: dependency_kinds.find((d) => d === given.breaker_dependency) ?? dependency_default,
    resilience,
    dep: {
      service_ms: whole(given.breaker_dep_service_ms, 0, dep_service_ms_max, dep_service_ms_default),
      capacity: whole(given.breaker_dep_capacity, 1, dep_capacity_max, dep_capacity_default),
      queue_max: whole(given.breaker_dep_queue_max, 0, dep_queue_max_limit, dep_queue_max_default),
    },
  };
}

/**
 * DSLAB_BREAKER_PLANTED_BUG, a test hook for the circuit-breaker lab's variants (never a user option):
 * one bug planted in the reference service. The core's (never_half_opens, half_open_admits_all,
 * window_never_forgets, timeout_counts_as_success, retry_without_budget) are handed to the core;
 * bulkhead_leaks_on_timeout is the service host's own: a call that timed out keeps its bulkhead permit.
 */
export const service_planted_bugs = [...breaker_planted_bugs, 'bulkhead_leaks_on_timeout'] as const;
export type ServicePlantedBug = (typeof service_planted_bugs)[number];

export function readBreakerPlantedBug(env: NodeJS.ProcessEnv): ServicePlantedBug | null {
  const name = env.DSLAB_BREAKER_PLANTED_BUG?.trim() ?? '';
  if (name === '') return null;
  const bug = service_planted_bugs.find((b) => b === name);
  if (bug) return bug;
  throw new Error(`DSLAB_BREAKER_PLANTED_BUG=${name} names no planted bug (${service_planted_bugs.join(', ')})`);
}
