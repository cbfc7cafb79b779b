import { describe, expect, it } from 'vitest';
// @ts-expect-error: the benchmarks are plain JavaScript, without types.
import { missingFigure } from '../../bench/lib.mjs';

/** run-all fails a benchmark whose result lacks a figure: what a renamed field of the code's output looks like from a benchmark. */
describe('missingFigure', () => {
  it('finds no gap in a result whose every figure is a number, a word or an explicit null', () => {
    expect(missingFigure({ ids_per_s: 12, latency_ms: { median: 0.4, p99: null }, runs: [1, 2], result: 'valid' })).toBeNull();
  });

  it('names the path of an undefined field, a NaN or an infinite number', () => {
    expect(missingFigure({ router: { latency_ms: { median: 1, p99: undefined } } })).toBe('router.latency_ms.p99');
    expect(missingFigure({ cycles_per_s: Number.NaN })).toBe('cycles_per_s');
    expect(missingFigure({ results: [{ ok: 1 }, { ok: Number.POSITIVE_INFINITY }] })).toBe('results.1.ok');
    expect(missingFigure(undefined)).toBe('(the result)');
  });
});
