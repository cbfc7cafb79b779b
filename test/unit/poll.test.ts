import { afterEach, describe, expect, it, vi } from 'vitest';
import { pollUntil, waitUntilHolds, type Look } from '../../src/lib/util/poll.js';

afterEach(() => {
  vi.useRealTimers();
});

/** A look that is not done for the first `misses` calls, then done with the call's number. */
function lookDoneAfter(misses: number) {
  let calls = 0;
  const look = (): Look<number> => {
    calls++;
    return calls > misses ? { done: true, value: calls } : { done: false, why: `miss ${calls}` };
  };
  return { look, calls: () => calls };
}

describe('pollUntil', () => {
  it('looks again until the look is done, and returns what it found', async () => {
    const { look, calls } = lookDoneAfter(2);
    const outcome = await pollUntil(Date.now() + 60_000, 1, look);
    expect(outcome).toEqual({ done: true, value: 3 });
    expect(calls()).toBe(3);
  });

  it('takes the first look even past the deadline, then gives up with its why', async () => {
    const { look, calls } = lookDoneAfter(5);
    const outcome = await pollUntil(Date.now() - 1, 1, look);
    expect(outcome).toEqual({ done: false, why: 'miss 1' });
    expect(calls()).toBe(1);
  });

  it('gives up with the last look’s why once the deadline has passed', async () => {
    vi.useFakeTimers();
    const { look, calls } = lookDoneAfter(1_000);
    const polling = pollUntil(Date.now() + 100, 50, look);
    await vi.advanceTimersByTimeAsync(500);
    const outcome = await polling;
    expect(outcome.done).toBe(false);
    // Looks at 0, 50, 100 (not yet past) and 150 (past): the last one's why is kept.
    expect(calls()).toBe(4);
    expect(outcome).toEqual({ done: false, why: 'miss 4' });
  });

  it('pauses interval_ms between looks, or the pause a look asks for', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const polling = pollUntil(Date.now() + 60_000, 50, (): Look<null> => {
      calls++;
      if (calls === 1) return { done: false, why: 'go again at once', pause_ms: 0 };
      if (calls === 2) return { done: false, why: 'wait the usual pause' };
      return { done: true, value: null };
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(49);
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(3);
    expect(await polling).toEqual({ done: true, value: null });
  });
});

describe('waitUntilHolds', () => {
  it('returns null once the condition holds', async () => {
    let calls = 0;
    const why = await waitUntilHolds(60_000, 1, async () => (++calls < 3 ? `only ${calls}` : null));
    expect(why).toBeNull();
    expect(calls).toBe(3);
  });

  it('returns why the condition still does not hold when time is up', async () => {
    let calls = 0;
    const why = await waitUntilHolds(0, 1, () => `still waiting (${++calls})`);
    expect(why).toMatch(/^still waiting \(\d+\)$/);
    expect(why).toBe(`still waiting (${calls})`);
  });
});
