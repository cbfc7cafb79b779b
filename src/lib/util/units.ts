import { UserError } from './errors.js';

const duration_units_ms: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Inclusive bounds on a value; each command names the flag, these say what it may be. */
export interface Range {
  min: number;
  max: number;
}

export interface DurationOptions {
  /** Accepted values, in ms; outside them the message names both ends. */
  range?: Range;
  /** A bare number means milliseconds (only where the flag says so, like `delay --ms`); otherwise a unit is required. */
  bare_ms?: boolean;
}

/**
 * Parses "250ms", "2s", "1.5m" or "1h" into milliseconds. A number without a
 * unit is refused (is "10" seconds or milliseconds?), except 0, which is the
 * same in every unit, and where `bare_ms` says the flag is in milliseconds.
 */
export function parseDurationMs(text: string, what = 'duration', options: DurationOptions = {}): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!match) throw new UserError(`bad ${what} "${text}": expected a number with a unit, like 250ms, 2s or 1m`);
  const number = Number(match[1]);
  if (match[2] === undefined && number !== 0 && !options.bare_ms) {
    throw new UserError(`bad ${what} "${text}": give a unit, like ${match[1]}ms or ${match[1]}s`);
  }
  const value_ms = Math.round(number * duration_units_ms[match[2] ?? 'ms']!);
  if (options.range) checkDurationRange(value_ms, text, what, options.range);
  return value_ms;
}

/** Parses a signed clock offset such as "+500ms", "-2s" or "0"; `range` may reach below zero. */
export function parseSignedDurationMs(text: string, what = 'offset', options: DurationOptions = {}): number {
  const match = /^\s*([+-]?)(.*)$/.exec(text)!;
  const magnitude = parseDurationMs(match[2]!, what, { bare_ms: options.bare_ms });
  const value_ms = match[1] === '-' && magnitude !== 0 ? -magnitude : magnitude;
  if (options.range) checkDurationRange(value_ms, text, what, options.range);
  return value_ms;
}

function checkDurationRange(value_ms: number, text: string, what: string, range: Range): void {
  if (value_ms < range.min || value_ms > range.max) throw new UserError(`${what} must be ${describeDurationRange(range)}, got ${text.trim()}`);
}

/** "from 100ms to 1h" (or "from -24h to +24h" for a signed range), for messages and help texts. */
export function describeDurationRange(range: Range): string {
  const signed = range.min < 0;
  const format = (ms: number) => (ms < 0 ? `-${formatDurationMs(-ms)}` : `${signed && ms > 0 ? '+' : ''}${formatDurationMs(ms)}`);
  return `from ${format(range.min)} to ${format(range.max)}`;
}

/** Parses a number given on the command line, checking it is within `range` (and whole when `integer`). */
export function parseNumberInRange(text: string, what: string, range: Range, integer = true): number {
  const pattern = integer ? /^\s*-?\d+\s*$/ : /^\s*-?\d+(?:\.\d+)?\s*$/;
  const value = Number(text);
  if (!pattern.test(text) || !Number.isFinite(value) || value < range.min || value > range.max || (integer && !Number.isSafeInteger(value))) {
    throw new UserError(`${what} must be ${integer ? 'a whole number' : 'a number'} ${describeNumberRange(range)}, got ${text.trim() || '""'}`);
  }
  return value;
}

export function describeNumberRange(range: Range): string {
  return `from ${range.min} to ${range.max}`;
}

/** Parses "20%", "20" (percent) into a fraction in [0, 1]. */
export function parsePercent(text: string, what = 'percentage'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  if (!match) throw new UserError(`bad ${what} "${text}": expected a number from 0 to 100, like 20%`);
  const percent = Number(match[1]);
  if (percent > 100) throw new UserError(`bad ${what} "${text}": must be at most 100%`);
  return percent / 100;
}

/** Parses "50%" or "12.5" as percentage points (50, 12.5), to hundredths: options kept as a _pct. */
export function parsePercentPoints(text: string, what = 'percentage'): number {
  return Math.round(parsePercent(text, what) * 10_000) / 100;
}

/** Parses a range such as "150-300ms" or "150ms-1s" (the unit of the second part applies to a bare first part). */
export function parseDurationRangeMs(text: string, what = 'range'): { min_ms: number; max_ms: number } {
  const parts = text.split('-');
  if (parts.length !== 2) throw new UserError(`bad ${what} "${text}": expected a range like 150-300ms`);
  const unit = /(ms|s|m|h)\s*$/.exec(parts[1]!)?.[1];
  if (unit === undefined) throw new UserError(`bad ${what} "${text}": give a unit, like ${text.trim()}ms`);
  const first = /[a-z]\s*$/.test(parts[0]!) ? parts[0]! : `${parts[0]}${unit}`;
  const min_ms = parseDurationMs(first, what);
  const max_ms = parseDurationMs(parts[1]!, what);
  if (min_ms <= 0 || max_ms < min_ms) throw new UserError(`bad ${what} "${text}": the range must be positive and ordered`);
  return { min_ms, max_ms };
}

export function formatDurationMs(ms: number): string {
  // Rounded once, to the precision shown, so a value just under a unit reads as that unit ("1m", not "60.0s").
  if (Math.round(ms) < 1000) return `${Math.round(ms)}ms`;
  const tenths = Math.round(ms / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(tenths % 10 === 0 ? 0 : 1)}s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return seconds % 60 ? `${Math.floor(seconds / 60)}m${seconds % 60}s` : `${seconds / 60}m`;
  const minutes = Math.round(ms / 60_000);
  return minutes % 60 ? `${Math.floor(minutes / 60)}h${minutes % 60}m` : `${minutes / 60}h`;
}

export function formatPercent(fraction: number): string {
  return `${Number((fraction * 100).toFixed(2))}%`;
}
