// The breaker, bulkhead and retry settings and how the `breaker_*` options resolve over a preset.
// Pure: no I/O, no clock; a bad value is a UserError naming the option.

import { UserError } from '../../../lib/util/errors.js';
import { type PresetName, preset_names, presets } from './presets.js';

export type WindowKind = 'count' | 'time';
export const window_kinds = ['count', 'time'] as const satisfies readonly WindowKind[];
export type BulkheadKind = 'none' | 'semaphore' | 'queue';
export const bulkhead_kinds = ['none', 'semaphore', 'queue'] as const satisfies readonly BulkheadKind[];
export type Jitter = 'full' | 'none';
export const jitters = ['full', 'none'] as const satisfies readonly Jitter[];

export interface BreakerConfig {
  /** false: every call is admitted (the window is still kept, for the figures). */
  enabled: boolean;
  window_kind: WindowKind;
  /** Count window: the last this many calls. */
  window_calls: number;
  /** Time window: the last this long, kept in window_buckets buckets (old outcomes leave a bucket at a time). */
  window_ms: number;
  window_buckets: number;
  /** The window must hold at least this many calls before a rate can open the breaker. */
  min_calls: number;
  /** Opens when this share of the window's calls failed (timeouts included), or more. */
  failure_rate_pct: number;
  /** Opens when this share of the window's calls were slow, or more. */
  slow_rate_pct: number;
  /** A call that took this long or longer is slow. */
  slow_call_ms: number;
  /** How long it stays open before it lets trial calls through. */
  open_wait_ms: number;
  /** Trial calls in half-open: all must succeed to close; the first to fail reopens. */
  half_open_calls: number;
  /** A call unanswered this long has timed out: a failure. */
  call_timeout_ms: number;
}

export interface BulkheadConfig {
  /** none: no limit; semaphore: at most max calls at once, the rest rejected; queue: the rest wait in a bounded queue. */
  kind: BulkheadKind;
  max: number;
  queue_max: number;
  /** A queued call not admitted within this is rejected. */
  queue_wait_ms: number;
}

export interface RetryConfig {
  /** Retries after the first attempt (0: no retries). */
  retries_max: number;
  /** The backoff before retry n is up to min(backoff_ms_max, backoff_ms_base · 2^(n-1)). */
  backoff_ms_base: number;
  backoff_ms_max: number;
  /** full: the delay is drawn uniformly from 0 to the backoff; none: the backoff itself. */
  jitter: Jitter;
  /** Retries over the budget window stay within this share of client requests over it (plus the floor); null: no budget. */
  budget_pct: number | null;
  /** Retries allowed per second of the budget window whatever the requests (so a quiet service can still retry). */
  budget_min_per_s: number;
  budget_window_ms: number;
}

export interface ResilienceConfig {
  preset: PresetName;
  breaker: BreakerConfig;
  bulkhead: BulkheadConfig;
  retry: RetryConfig;
  /** Serve a fallback answer instead of failing a call the breaker, bulkhead or dependency refused. */
  fallback: boolean;
}

/** The presets, checked here against the types (presets.ts imports nothing, so no cycle). */
export const preset_configs: Readonly<Record<PresetName, Omit<ResilienceConfig, 'preset'>>> = presets;

/** Limits on the settings: past these a value is a typo, not a configuration. */
export const window_calls_max = 100_000;
export const window_ms_max = 3_600_000;
export const window_buckets_max = 1000;
export const half_open_calls_max = 10_000;
export const open_wait_ms_max = 3_600_000;
export const slow_call_ms_max = 3_600_000;
export const call_timeout_ms_max = 3_600_000;
export const bulkhead_calls_max = 100_000;
export const bulkhead_queue_calls_max = 1_000_000;
export const bulkhead_queue_wait_ms_max = 3_600_000;
export const retries_max_limit = 100;
export const backoff_ms_limit = 3_600_000;
export const retry_budget_per_s_max = 100_000;
export const retry_budget_window_ms_max = 3_600_000;
/** The retry budget's window is counted in this many buckets: requests and retries leave it a tenth of it at a time. */
export const retry_budget_buckets = 10;

/** Each `breaker_*` option: where it goes in the config and how it is checked. */
type OptionRule =
  | { kind: 'int'; min: number; max: number }
  | { kind: 'pct' }
  | { kind: 'bool' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'pct_or_null' };

const breaker_rules: Record<keyof BreakerConfig, [string, OptionRule]> = {
  enabled: ['breaker_enabled', { kind: 'bool' }],
  window_kind: ['breaker_window_kind', { kind: 'enum', values: window_kinds }],
  window_calls: ['breaker_window_calls', { kind: 'int', min: 1, max: window_calls_max }],
  window_ms: ['breaker_window_ms', { kind: 'int', min: 1, max: window_ms_max }],
  window_buckets: ['breaker_window_buckets', { kind: 'int', min: 1, max: window_buckets_max }],
  min_calls: ['breaker_min_calls', { kind: 'int', min: 1, max: window_calls_max }],
  failure_rate_pct: ['breaker_failure_rate_pct', { kind: 'pct' }],
  slow_rate_pct: ['breaker_slow_rate_pct', { kind: 'pct' }],
  slow_call_ms: ['breaker_slow_call_ms', { kind: 'int', min: 1, max: slow_call_ms_max }],
  open_wait_ms: ['breaker_open_wait_ms', { kind: 'int', min: 0, max: open_wait_ms_max }],
  half_open_calls: ['breaker_half_open_calls', { kind: 'int', min: 1, max: half_open_calls_max }],
  call_timeout_ms: ['breaker_call_timeout_ms', { kind: 'int', min: 1, max: call_timeout_ms_max }],
};
const bulkhead_rules: Record<keyof BulkheadConfig, [string, OptionRule]> = {
  kind: ['breaker_bulkhead_kind', { kind: 'enum', values: bulkhead_kinds }],
  max: ['breaker_bulkhead_max', { kind: 'int', min: 1, max: bulkhead_calls_max }],
  queue_max: ['breaker_bulkhead_queue_max', { kind: 'int', min: 0, max: bulkhead_queue_calls_max }],
  queue_wait_ms: ['breaker_bulkhead_queue_wait_ms', { kind: 'int', min: 0, max: bulkhead_queue_wait_ms_max }],
};
const retry_rules: Record<keyof RetryConfig, [string, OptionRule]> = {
  retries_max: ['breaker_retries_max', { kind: 'int', min: 0, max: retries_max_limit }],
  backoff_ms_base: ['breaker_backoff_ms_base', { kind: 'int', min: 0, max: backoff_ms_limit }],
  backoff_ms_max: ['breaker_backoff_ms_max', { kind: 'int', min: 0, max: backoff_ms_limit }],
  jitter: ['breaker_jitter', { kind: 'enum', values: jitters }],
  budget_pct: ['breaker_retry_budget_pct', { kind: 'pct_or_null' }],
  budget_min_per_s: ['breaker_retry_budget_min_per_s', { kind: 'int', min: 0, max: retry_budget_per_s_max }],
  budget_window_ms: ['breaker_retry_budget_window_ms', { kind: 'int', min: retry_budget_buckets, max: retry_budget_window_ms_max }],
};

/** Every option resolveResilienceConfig reads, for a plugin's schema and its error messages. */
export const resilience_option_names: readonly string[] = [
  'breaker_preset',
  'breaker_fallback',
  ...Object.values(breaker_rules).map(([name]) => name),
  ...Object.values(bulkhead_rules).map(([name]) => name),
  ...Object.values(retry_rules).map(([name]) => name),
];

function checked(name: string, value: unknown, rule: OptionRule): unknown {
  switch (rule.kind) {
    case 'bool':
      if (typeof value !== 'boolean') throw new UserError(`${name} must be true or false, not ${JSON.stringify(value)}`);
      return value;
    case 'enum':
      if (typeof value !== 'string' || !rule.values.includes(value)) throw new UserError(`${name} must be one of ${rule.values.join(', ')}, not ${JSON.stringify(value)}`);
      return value;
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < rule.min || value > rule.max) {
        throw new UserError(`${name} must be a whole number from ${rule.min} to ${rule.max}, not ${JSON.stringify(value)}`);
      }
      return value;
    case 'pct':
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 100) throw new UserError(`${name} must be a percentage above 0 and at most 100, not ${JSON.stringify(value)}`);
      return value;
    case 'pct_or_null':
      if (value === null) return null;
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 100) throw new UserError(`${name} must be a percentage from 0 to 100 (or null: no budget), not ${JSON.stringify(value)}`);
      return value;
  }
}

function overlay<T extends object>(base: T, rules: Record<keyof T, [string, OptionRule]>, options: Readonly<Record<string, unknown>>): T {
  const out = { ...base } as Record<string, unknown>;
  for (const [field, [name, rule]] of Object.entries(rules) as [string, [string, OptionRule]][]) {
    if (options[name] !== undefined) out[field] = checked(name, options[name], rule);
  }
  return out as T;
}

/** Settings that are each fine but together make no sense, in words; null when there are none. */
export function resilienceConfigProblem(config: ResilienceConfig): string | null {
  const { breaker, retry } = config;
  if (breaker.window_ms % breaker.window_buckets !== 0) return `breaker_window_ms (${breaker.window_ms}) must be a whole number of breaker_window_buckets (${breaker.window_buckets}) buckets`;
  if (breaker.window_kind === 'count' && breaker.min_calls > breaker.window_calls) {
    return `breaker_min_calls (${breaker.min_calls}) is more than a count window of ${breaker.window_calls} calls holds: the breaker could never open`;
  }
  if (retry.budget_window_ms % retry_budget_buckets !== 0) return `breaker_retry_budget_window_ms (${retry.budget_window_ms}) must be a multiple of ${retry_budget_buckets}`;
  if (retry.backoff_ms_max < retry.backoff_ms_base) return `breaker_backoff_ms_max (${retry.backoff_ms_max}) is below breaker_backoff_ms_base (${retry.backoff_ms_base})`;
  return null;
}

/**
 * The configuration the `breaker_*` options (DSLAB_OPTIONS) ask for: the preset's
 * (`breaker_preset`, default dslab) with each option given overriding its field.
 * Throws a UserError naming the option for a bad value or a bad combination.
 */
export function resolveResilienceConfig(options: Readonly<Record<string, unknown>>): ResilienceConfig {
  const preset_name = options.breaker_preset === undefined ? 'dslab' : (checked('breaker_preset', options.breaker_preset, { kind: 'enum', values: preset_names }) as PresetName);
  const preset = preset_configs[preset_name];
  const config: ResilienceConfig = {
    preset: preset_name,
    breaker: overlay(preset.breaker, breaker_rules, options),
    bulkhead: overlay(preset.bulkhead, bulkhead_rules, options),
    retry: overlay(preset.retry, retry_rules, options),
    fallback: options.breaker_fallback === undefined ? preset.fallback : (checked('breaker_fallback', options.breaker_fallback, { kind: 'bool' }) as boolean),
  };
  const problem = resilienceConfigProblem(config);
  if (problem !== null) throw new UserError(problem);
  return config;
}
