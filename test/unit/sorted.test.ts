import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/lib/util/prng.js';
import { countAtMost, countBelow } from '../../src/lib/util/sorted.js';

describe('binary searches over sorted numbers', () => {
  it('count the values at most x and below x as a scan does, repeated values and ends included', () => {
    const rng = createRng(7);
    for (let round = 0; round < 2000; round++) {
      const values = Array.from({ length: Math.floor(rng.next() * 12) }, () => Math.floor(rng.next() * 8)).sort((a, b) => a - b);
      for (let x = -1; x <= 9; x++) {
        expect(countAtMost(values, x)).toBe(values.filter((v) => v <= x).length);
        expect(countBelow(values, x)).toBe(values.filter((v) => v < x).length);
      }
    }
  });
});
