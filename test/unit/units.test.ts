import { describe, expect, it } from 'vitest';
import { formatDurationMs, parseDurationMs, parsePercent, parseSignedDurationMs } from '../../src/lib/util/units.js';

describe('units', () => {
  it.each([
    ['250ms', 250],
    ['2s', 2000],
    ['1.5s', 1500],
    ['1m', 60_000],
    ['100', 100],
    [' 3 s ', 3000],
  ])('parses duration %s', (text, ms) => expect(parseDurationMs(text)).toBe(ms));

  it.each(['', 'soon', '-1s', '2 days', '1.2.3s'])('rejects duration %j', (text) => expect(() => parseDurationMs(text, '--ms')).toThrow(/bad --ms/));

  it('parses signed offsets', () => {
    expect(parseSignedDurationMs('+500ms')).toBe(500);
    expect(parseSignedDurationMs('-2s')).toBe(-2000);
    expect(parseSignedDurationMs('0')).toBe(0);
    expect(() => parseSignedDurationMs('+-1s')).toThrow(/bad offset/);
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
  });
});
