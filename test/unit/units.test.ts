import { describe, expect, it } from 'vitest';
import {
  describeDurationRange,
  formatDurationMs,
  parseDurationMs,
  parseDurationRangeMs,
  parseNumberInRange,
  parsePercent,
  parsePercentPoints,
  parseSignedDurationMs,
} from '../../src/lib/util/units.js';

describe('units', () => {
  it.each([
    ['250ms', 250],
    ['2s', 2000],
    ['1.5s', 1500],
    ['1m', 60_000],
    ['1h', 3_600_000],
    [' 3 s ', 3000],
    ['0', 0],
  ])('parses duration %s', (text, ms) => expect(parseDurationMs(text)).toBe(ms));

  it.each(['', 'soon', '-1s', '2 days', '1.2.3s'])('rejects duration %j', (text) => expect(() => parseDurationMs(text, '--ms')).toThrow(/bad --ms/));

  it('refuses a number without a unit, except 0 and where the flag says it is in ms', () => {
    // "10" could mean 10 s or 10 ms; before, it silently meant 10 ms.
    expect(() => parseDurationMs('10', '--duration')).toThrow(/^bad --duration "10": give a unit, like 10ms or 10s$/);
    expect(() => parseDurationMs('1.5', '--duration')).toThrow(/give a unit/);
    expect(parseDurationMs('100', '--ms', { bare_ms: true })).toBe(100);
  });

  it('checks a range and names the flag and both ends', () => {
    const range = { min: 100, max: 3_600_000 };
    expect(parseDurationMs('100ms', '--interval', { range })).toBe(100);
    expect(parseDurationMs('1h', '--interval', { range })).toBe(3_600_000);
    expect(() => parseDurationMs('50ms', '--interval', { range })).toThrow(/^--interval must be from 100ms to 1h, got 50ms$/);
    expect(() => parseDurationMs('0s', '--interval', { range })).toThrow(/^--interval must be from 100ms to 1h, got 0s$/);
    expect(() => parseDurationMs('61m', '--interval', { range })).toThrow(/got 61m/);
  });

  it('parses signed offsets, with a unit, within a signed range', () => {
    expect(parseSignedDurationMs('+500ms')).toBe(500);
    expect(parseSignedDurationMs('-2s')).toBe(-2000);
    expect(parseSignedDurationMs('0')).toBe(0);
    expect(parseSignedDurationMs('-0')).toBe(0);
    expect(() => parseSignedDurationMs('+-1s')).toThrow(/bad offset/);
    expect(() => parseSignedDurationMs('5', 'clock offset')).toThrow(/^bad clock offset "5": give a unit/);
    const range = { min: -86_400_000, max: 86_400_000 };
    expect(parseSignedDurationMs('-24h', 'clock offset', { range })).toBe(-86_400_000);
    expect(() => parseSignedDurationMs('+25h', 'clock offset', { range })).toThrow(/^clock offset must be from -24h to \+24h, got \+25h$/);
  });

  it('describes ranges', () => {
    expect(describeDurationRange({ min: 1, max: 600_000 })).toBe('from 1ms to 10m');
    expect(describeDurationRange({ min: -1000, max: 1000 })).toBe('from -1s to +1s');
  });

  it('parses numbers within a range', () => {
    expect(parseNumberInRange('200', '--clients', { min: 1, max: 200 })).toBe(200);
    expect(parseNumberInRange('0.5', '--rate', { min: 0.1, max: 100_000 }, false)).toBe(0.5);
    expect(() => parseNumberInRange('201', '--clients', { min: 1, max: 200 })).toThrow(/^--clients must be a whole number from 1 to 200, got 201$/);
    expect(() => parseNumberInRange('1.5', '--clients', { min: 1, max: 200 })).toThrow(/whole number/);
    expect(() => parseNumberInRange('ten', '--clients', { min: 1, max: 200 })).toThrow(/got ten/);
    expect(() => parseNumberInRange('', '--clients', { min: 1, max: 200 })).toThrow(/got ""/);
    expect(() => parseNumberInRange('0', '--rate', { min: 0.1, max: 100_000 }, false)).toThrow(/^--rate must be a number from 0.1 to 100000, got 0$/);
    expect(() => parseNumberInRange('99999999999999999999', '--seed', { min: 0, max: Number.MAX_VALUE })).toThrow(/whole number/);
  });

  it('parses duration ranges, which need a unit too', () => {
    expect(parseDurationRangeMs('150-300ms')).toEqual({ min_ms: 150, max_ms: 300 });
    expect(parseDurationRangeMs('150ms-1s')).toEqual({ min_ms: 150, max_ms: 1000 });
    expect(() => parseDurationRangeMs('150-300', '--election-timeout')).toThrow(/^bad --election-timeout "150-300": give a unit/);
  });

  it('parses percentages into points to hundredths', () => {
    expect(parsePercentPoints('50%')).toBe(50);
    expect(parsePercentPoints('12.5')).toBe(12.5);
    expect(parsePercentPoints('33.3333%')).toBe(33.33);
    expect(() => parsePercentPoints('101%', '--errors')).toThrow(/bad --errors "101%": must be at most 100%/);
  });

  it('parses percentages into fractions', () => {
    expect(parsePercent('20%')).toBe(0.2);
    expect(parsePercent('5')).toBe(0.05);
    expect(parsePercent('0%')).toBe(0);
    expect(parsePercent('100%')).toBe(1);
    expect(() => parsePercent('101%')).toThrow(/at most 100%/);
    expect(() => parsePercent('-5%')).toThrow(/bad percentage/);
    expect(() => parsePercent('lots')).toThrow(/bad percentage/);
  });

  it('formats durations', () => {
    expect(formatDurationMs(50)).toBe('50ms');
    expect(formatDurationMs(2000)).toBe('2s');
    expect(formatDurationMs(1500)).toBe('1.5s');
    expect(formatDurationMs(90_000)).toBe('1m30s');
    expect(formatDurationMs(3_600_000)).toBe('1h');
    expect(formatDurationMs(86_400_000)).toBe('24h');
    expect(formatDurationMs(5_400_000)).toBe('1h30m');
    // Just under a unit is that unit, never "60.0s" or "59m60s".
    expect(formatDurationMs(999.6)).toBe('1s');
    expect(formatDurationMs(59_960)).toBe('1m');
    expect(formatDurationMs(2_040)).toBe('2s');
    expect(formatDurationMs(3_599_999)).toBe('1h');
    expect(formatDurationMs(7_199_000)).toBe('2h');
  });
});
