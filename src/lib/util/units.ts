import { UserError } from './errors.js';

const duration_units_ms: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses "250ms", "2s", "1.5m", "1h", or a bare number of milliseconds. */
export function parseDurationMs(text: string, what = 'duration'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!match) throw new UserError(`bad ${what} "${text}": expected a number with a unit, like 250ms, 2s or 1m`);
  const value = Number(match[1]) * duration_units_ms[match[2] ?? 'ms']!;
  return Math.round(value);
}

/** Parses a signed clock offset such as "+500ms", "-2s" or "0". */
export function parseSignedDurationMs(text: string, what = 'offset'): number {
  const match = /^\s*([+-]?)(.*)$/.exec(text)!;
  const magnitude = parseDurationMs(match[2]!, what);
  return match[1] === '-' ? -magnitude : magnitude;
}

/** Parses "20%", "20" (percent) into a fraction in [0, 1]. */
export function parsePercent(text: string, what = 'percentage'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  if (!match) throw new UserError(`bad ${what} "${text}": expected a number from 0 to 100, like 20%`);
  const percent = Number(match[1]);
  if (percent > 100) throw new UserError(`bad ${what} "${text}": must be at most 100%`);
  return percent / 100;
}

/** Parses a range such as "150-300ms" or "150ms-1s" (the unit of the second part applies to a bare first part). */
export function parseDurationRangeMs(text: string, what = 'range'): { min_ms: number; max_ms: number } {
  const parts = text.split('-');
  if (parts.length !== 2) throw new UserError(`bad ${what} "${text}": expected a range like 150-300ms`);
  const unit = /(ms|s|m|h)\s*$/.exec(parts[1]!)?.[1] ?? '';
  const first = /[a-z]\s*$/.test(parts[0]!) ? parts[0]! : `${parts[0]}${unit}`;
  const min_ms = parseDurationMs(first, what);
  const max_ms = parseDurationMs(parts[1]!, what);
  if (min_ms <= 0 || max_ms < min_ms) throw new UserError(`bad ${what} "${text}": the range must be positive and ordered`);
  return { min_ms, max_ms };
}

export function formatDurationMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds ? `${minutes}m${seconds}s` : `${minutes}m`;
}

export function formatPercent(fraction: number): string {
  return `${Number((fraction * 100).toFixed(2))}%`;
}
