import { describe, expect, it } from 'vitest';
import { RecentLatencies } from '../../src/lib/load-stats.js';

describe('RecentLatencies', () => {
  it('reads p50 and p99 of the operations answered within the window only, and none once the window has passed', () => {
    const recent = new RecentLatencies(2000, 1000);
    // A slow start, then fast answers: the whole-load figures would still carry the slow ones.
    for (let i = 0; i < 50; i++) recent.add(1_000 + i, 400);
    expect(recent.percentiles(2_900)).toEqual({ p50: 400, p99: 400 });
    for (let i = 1; i <= 100; i++) recent.add(4_000 + i, i / 10);
    expect(recent.percentiles(4_100)).toEqual({ p50: 5.1, p99: 10 });
    expect(recent.percentiles(7_000)).toBeNull();
  });

  it('keeps at most its bound of samples, the newest', () => {
    const recent = new RecentLatencies(60_000, 10);
    for (let i = 0; i < 10; i++) recent.add(100, 1_000);
    for (let i = 0; i < 10; i++) recent.add(200, 2);
    expect(recent.percentiles(300)).toEqual({ p50: 2, p99: 2 });
  });
});
