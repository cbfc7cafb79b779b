// The breaker system's entry in the registry (src/registry.ts): its `up` flags, options schema, node
// groups, roles and dashboard columns. Declarations only: importing it does no I/O.

import { Flags } from '@oclif/core';
import { z } from 'zod';
import type { NodeGroup, SystemPlugin } from '../../lib/plugin.js';
import { UserError } from '../../lib/util/errors.js';
import { formatDurationMs, parseDurationMs, parsePercentPoints } from '../../lib/util/units.js';
import {
  backoff_ms_limit,
  bulkhead_calls_max,
  bulkhead_kinds,
  bulkhead_queue_calls_max,
  bulkhead_queue_wait_ms_max,
  call_timeout_ms_max,
  half_open_calls_max,
  jitters,
  open_wait_ms_max,
  retries_max_limit,
  retry_budget_per_s_max,
  retry_budget_window_ms_max,
  slow_call_ms_max,
  window_buckets_max,
  window_calls_max,
  window_kinds,
  window_ms_max,
} from './core/config.js';
import { preset_names } from './core/presets.js';
import { resolveResilienceConfig } from './core/index.js';
import { breaker_steps } from './steps.js';
import { dep_capacity_default, dep_capacity_max, dep_queue_max_default, dep_queue_max_limit, dep_service_ms_default, dep_service_ms_max, dependency_default, dependency_kinds, resolveBreakerOptions, services_default } from './options.js';

const whole = (min: number, max: number) => z.number().int().min(min).max(max).optional();
const percent = z.number().gt(0).max(100).optional();

/**
 * What a breaker node reads from DSLAB_OPTIONS (options.ts; the resilience settings resolve over a
 * preset in core/config.ts). Every name carries the breaker_ prefix: every system's options travel in
 * one object.
 */
export const breaker_options = z
  .strictObject({
    breaker_dependency: z.enum(dependency_kinds).optional(),
    breaker_enabled: z.boolean().optional(),
    breaker_preset: z.enum(preset_names).optional(),
    breaker_window_kind: z.enum(window_kinds).optional(),
    breaker_window_calls: whole(1, window_calls_max),
    breaker_window_ms: whole(1, window_ms_max),
    breaker_window_buckets: whole(1, window_buckets_max),
    breaker_min_calls: whole(1, window_calls_max),
    breaker_failure_rate_pct: percent,
    breaker_slow_rate_pct: percent,
    breaker_slow_call_ms: whole(1, slow_call_ms_max),
    breaker_open_wait_ms: whole(0, open_wait_ms_max),
    breaker_half_open_calls: whole(1, half_open_calls_max),
    breaker_call_timeout_ms: whole(1, call_timeout_ms_max),
    breaker_bulkhead_kind: z.enum(bulkhead_kinds).optional(),
    breaker_bulkhead_max: whole(1, bulkhead_calls_max),
    breaker_bulkhead_queue_max: whole(0, bulkhead_queue_calls_max),
    breaker_bulkhead_queue_wait_ms: whole(0, bulkhead_queue_wait_ms_max),
    breaker_retries_max: whole(0, retries_max_limit),
    breaker_backoff_ms_base: whole(0, backoff_ms_limit),
    breaker_backoff_ms_max: whole(0, backoff_ms_limit),
    breaker_jitter: z.enum(jitters).optional(),
    breaker_retry_budget_pct: z.number().min(0).max(100).nullable().optional(),
    breaker_retry_budget_min_per_s: whole(0, retry_budget_per_s_max),
    breaker_retry_budget_window_ms: whole(1, retry_budget_window_ms_max),
    breaker_fallback: z.boolean().optional(),
    breaker_dep_service_ms: whole(0, dep_service_ms_max),
    breaker_dep_capacity: whole(1, dep_capacity_max),
    breaker_dep_queue_max: whole(0, dep_queue_max_limit),
  })
  .superRefine((options, context) => {
    // Settings each fine alone but not together (min calls past a count window's size …): the core says which.
    try {
      resolveResilienceConfig(options);
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      context.addIssue({ code: 'custom', path: [], message: inFlagWords(error.message) });
    }
  });

/** The flag that sets each option, so a message about options names what the user typed. */
export const option_flags: Readonly<Record<string, string>> = {
  breaker_window_ms: '--window',
  breaker_window_calls: '--window',
  breaker_window_buckets: '--window-buckets',
  breaker_min_calls: '--min-calls',
  breaker_backoff_ms_base: '--backoff',
  breaker_backoff_ms_max: '--backoff-max',
};

/** A core message naming options, with the flags that set them in their place. */
export function inFlagWords(message: string): string {
  return message.replace(/\bbreaker_[a-z_]+\b/g, (name) => option_flags[name] ?? name);
}

const services: NodeGroup = { name: 'services', prefix: 's', program: new URL('./service.js', import.meta.url), count_flag: 'services' };
const dependency: NodeGroup = { name: 'dependency', prefix: 'd', program: new URL('./dependency.js', import.meta.url), count: 1 };
const redis: NodeGroup = { name: 'redis', prefix: 'redis', server: 'redis', count: 1 };

/** A duration flag's value in ms, named by its flag in any complaint. */
function duration(flags: Readonly<Record<string, unknown>>, flag: string): number | undefined {
  const text = flags[flag];
  return typeof text === 'string' && text !== '' ? parseDurationMs(text, `--${flag}`) : undefined;
}

/** A percentage flag's value (20% → 20). */
function percentOf(flags: Readonly<Record<string, unknown>>, flag: string): number | undefined {
  const text = flags[flag];
  return typeof text === 'string' && text !== '' ? parsePercentPoints(text, `--${flag}`) : undefined;
}

/** `--window 10s` (a time window) or `--window 100` (the last 100 calls). */
export function windowOptions(text: string): Record<string, unknown> {
  if (/^\s*\d+\s*$/.test(text)) return { breaker_window_kind: 'count', breaker_window_calls: Number(text) };
  try {
    return { breaker_window_kind: 'time', breaker_window_ms: parseDurationMs(text, '--window') };
  } catch {
    throw new UserError(`--window "${text}" is neither a duration (a time window, like 10s) nor a number of calls (a count window, like 100)`);
  }
}

/** `--retry-budget 20%`, or `none` for naive retries. */
export function retryBudgetPct(text: string): number | null {
  if (text.trim() === 'none') return null;
  return parsePercentPoints(text, '--retry-budget');
}

/** `--bulkhead 10` (at most 10 calls at once), or `none`. */
export function bulkheadOptions(text: string): Record<string, unknown> {
  if (text.trim() === 'none') return { breaker_bulkhead_kind: 'none' };
  if (!/^\s*\d+\s*$/.test(text)) throw new UserError(`--bulkhead "${text}": give the calls a service makes at once, like 10, or none`);
  return { breaker_bulkhead_max: Number(text) };
}

export function breakerOptionsFromFlags(flags: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  const set = (name: string, value: unknown) => {
    if (value !== undefined) options[name] = value;
  };
  if (typeof flags.dependency === 'string') options.breaker_dependency = flags.dependency;
  if (typeof flags.preset === 'string') options.breaker_preset = flags.preset;
  if (flags['no-breaker'] === true) options.breaker_enabled = false;
  if (typeof flags.window === 'string') Object.assign(options, windowOptions(flags.window));
  set('breaker_window_buckets', flags['window-buckets']);
  set('breaker_min_calls', flags['min-calls']);
  set('breaker_failure_rate_pct', percentOf(flags, 'failure-rate'));
  set('breaker_slow_rate_pct', percentOf(flags, 'slow-rate'));
  set('breaker_slow_call_ms', duration(flags, 'slow-call'));
  set('breaker_open_wait_ms', duration(flags, 'open-wait'));
  set('breaker_half_open_calls', flags['half-open-calls']);
  set('breaker_call_timeout_ms', duration(flags, 'call-timeout'));
  if (typeof flags.bulkhead === 'string') Object.assign(options, bulkheadOptions(flags.bulkhead));
  if (typeof flags['bulkhead-queue'] === 'number') {
    if (options.breaker_bulkhead_kind === 'none') throw new UserError('--bulkhead none and --bulkhead-queue contradict each other: give one');
    options.breaker_bulkhead_kind = 'queue';
    options.breaker_bulkhead_queue_max = flags['bulkhead-queue'];
  } else if (typeof flags.bulkhead === 'string' && options.breaker_bulkhead_kind === undefined) options.breaker_bulkhead_kind = 'semaphore';
  set('breaker_bulkhead_queue_wait_ms', duration(flags, 'queue-wait'));
  set('breaker_retries_max', flags.retries);
  set('breaker_backoff_ms_base', duration(flags, 'backoff'));
  set('breaker_backoff_ms_max', duration(flags, 'backoff-max'));
  if (typeof flags.jitter === 'string') options.breaker_jitter = flags.jitter;
  if (typeof flags['retry-budget'] === 'string') options.breaker_retry_budget_pct = retryBudgetPct(flags['retry-budget']);
  if (flags.fallback === true) options.breaker_fallback = true;
  set('breaker_dep_capacity', flags.capacity);
  set('breaker_dep_service_ms', duration(flags, 'service-time'));
  set('breaker_dep_queue_max', flags['dependency-queue']);
  return options;
}

export const breaker: SystemPlugin = {
  name: 'breaker',
  description: 'services calling a dependency (dslab\'s d1 or a real redis-server) through circuit breakers, bulkheads and budgeted retries',
  groups: [services, dependency, redis],
  groupsFor(options) {
    return [services, resolveBreakerOptions(options).dependency === 'redis' ? redis : dependency];
  },
  bin_group: 'services',
  // Flag defaults live in options.ts and the core's presets (shown in help): a default here would reach every other system's nodes too.
  flags: {
    services: Flags.integer({ min: 1, default: services_default, description: 'breaker: how many services (s1..sN), each calling the dependency through its own breaker' }),
    dependency: Flags.string({ options: [...dependency_kinds], description: 'breaker: what the services call: dslab\'s node d1 (a service time, a capacity and a queue) or a real redis-server behind the fault proxy', defaultHelp: async () => dependency_default }),
    preset: Flags.string({ options: [...preset_names], description: 'breaker: the settings every other breaker flag overrides: dslab\'s (small enough to watch), Hystrix\'s or resilience4j\'s documented defaults', defaultHelp: async () => 'dslab' }),
    'no-breaker': Flags.boolean({ description: 'breaker: call the dependency with no circuit breaker (bulkhead and retries stay)' }),
    window: Flags.string({ description: 'breaker: the sliding window: a duration for a time window (10s), a number for the last N calls (100)', helpValue: 'DURATION|N' }),
    'window-buckets': Flags.integer({ min: 1, max: window_buckets_max, description: 'breaker: a time window moves in this many buckets (old outcomes leave a bucket at a time)' }),
    'min-calls': Flags.integer({ min: 1, max: window_calls_max, description: 'breaker: the window must hold this many calls before it can open' }),
    'failure-rate': Flags.string({ description: 'breaker: open when this share of the window\'s calls failed or timed out', helpValue: 'PERCENT' }),
    'slow-rate': Flags.string({ description: 'breaker: open when this share of the window\'s calls were slow', helpValue: 'PERCENT' }),
    'slow-call': Flags.string({ description: 'breaker: a call that takes this long is slow', helpValue: 'DURATION' }),
    'open-wait': Flags.string({ description: 'breaker: how long it stays open before trial calls', helpValue: 'DURATION' }),
    'half-open-calls': Flags.integer({ min: 1, max: half_open_calls_max, description: 'breaker: trial calls in half-open: all must succeed to close' }),
    'call-timeout': Flags.string({ description: 'breaker: a call to the dependency unanswered this long has failed (a timeout)', helpValue: 'DURATION' }),
    bulkhead: Flags.string({ description: 'breaker: at most this many calls to the dependency at once per service, the rest rejected (or queued with --bulkhead-queue); none for no limit', helpValue: 'N|none' }),
    'bulkhead-queue': Flags.integer({ min: 0, max: bulkhead_queue_calls_max, description: 'breaker: calls past the bulkhead wait in a queue of this many instead of being rejected' }),
    'queue-wait': Flags.string({ description: 'breaker: a call queued at the bulkhead this long is rejected', helpValue: 'DURATION' }),
    retries: Flags.integer({ min: 0, max: retries_max_limit, description: 'breaker: retries after a failed call (each through the breaker and bulkhead again)' }),
    backoff: Flags.string({ description: 'breaker: the first retry\'s backoff; each next one doubles it', helpValue: 'DURATION' }),
    'backoff-max': Flags.string({ description: 'breaker: the longest backoff', helpValue: 'DURATION' }),
    jitter: Flags.string({ options: [...jitters], description: 'breaker: full: each backoff is drawn from 0 to its value; none: the value itself' }),
    'retry-budget': Flags.string({ description: 'breaker: retries stay within this share of recent requests; none for naive retries', helpValue: 'PERCENT|none' }),
    fallback: Flags.boolean({ description: 'breaker: answer a refused or failed call with a fallback instead of an error' }),
    capacity: Flags.integer({ min: 1, max: dep_capacity_max, description: 'breaker: requests d1 serves at once; the rest wait in its queue', defaultHelp: async () => String(dep_capacity_default) }),
    'service-time': Flags.string({ description: 'breaker: how long d1 takes per request', helpValue: 'DURATION', defaultHelp: async () => formatDurationMs(dep_service_ms_default) }),
    'dependency-queue': Flags.integer({ min: 0, max: dep_queue_max_limit, description: 'breaker: requests d1 keeps waiting; past it d1 refuses at once', defaultHelp: async () => String(dep_queue_max_default) }),
  },
  optionsFromFlags: breakerOptionsFromFlags,
  options: breaker_options,
  // Services and the dependency lead nothing.
  roles: { leading: [], electing: [], probing: [], following: [], other: ['service', 'dependency'], term_fields: [], write_requests: [] },
  columns: [
    { key: 'breaker', title: 'BREAKER', fields: ['breaker'], width: 9, drop_rank: 9 },
    { key: 'breaker_for_s', title: 'IN-STATE', fields: ['breaker_for_s'], width: 8, drop_rank: 6 },
    { key: 'error_pct', title: 'ERR%', fields: ['error_pct'], width: 5, drop_rank: 8 },
    { key: 'req_per_s', title: 'REQ/S', fields: ['req_per_s', 'served_per_s'], width: 6, drop_rank: 8 },
    { key: 'short_per_s', title: 'SHORT/S', fields: ['short_per_s'], width: 7, drop_rank: 7 },
    { key: 'rejected_per_s', title: 'REJ/S', fields: ['rejected_per_s'], width: 6, drop_rank: 6 },
    { key: 'p50_ms', title: 'P50', fields: ['p50_ms'], width: 6, drop_rank: 3 },
    { key: 'p99_ms', title: 'P99', fields: ['p99_ms'], width: 6, drop_rank: 5 },
    { key: 'dep_calls_per_s', title: 'DEP/S', fields: ['dep_calls_per_s'], width: 6, drop_rank: 7 },
    // The dependency's own: its queue, its recent time per request (queue and service) and its application fault.
    { key: 'queue', title: 'QUEUE', fields: ['queue'], width: 6, drop_rank: 6 },
    { key: 'service_ms', title: 'SVC-MS', fields: ['service_ms'], width: 6, drop_rank: 5 },
    { key: 'fail', title: 'FAIL', fields: ['fail'], width: 12, drop_rank: 4 },
  ],
  workloads: ['breaker'],
  workload_groups: { breaker: 'services' },
  // The circuit-breaker lab's steps: loads, application faults, state waits and the checker over the trace.
  steps: breaker_steps,
};
