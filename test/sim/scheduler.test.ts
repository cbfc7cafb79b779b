import { describe, expect, it } from 'vitest';
import { Scheduler, SimLimitError } from '../../src/lib/sim/scheduler.js';
import { createRng } from '../../src/lib/util/prng.js';
import { InvariantError } from '../../src/lib/util/errors.js';

describe('sim scheduler', () => {
  it('runs events in time order, and events at the same time in the order they were scheduled', () => {
    const scheduler = new Scheduler(7);
    const pick = createRng(99);
    const planned: { at: number; order: number }[] = [];
    const ran: { at: number; order: number; now: number }[] = [];
    for (let order = 0; order < 2000; order++) {
      // Few distinct times, so many events share one.
      const at = pick.int(50);
      planned.push({ at, order });
      scheduler.at(at, () => ran.push({ at, order, now: scheduler.now_ms }));
    }
    while (scheduler.step()) {
      // drain
    }
    const expected = [...planned].sort((a, b) => a.at - b.at || a.order - b.order);
    expect(ran.map((r) => [r.at, r.order])).toEqual(expected.map((p) => [p.at, p.order]));
    expect(ran.every((r) => r.now === r.at)).toBe(true);
    expect(scheduler.events_run).toBe(2000);
  });

  it('events scheduled while running take their place in the order', () => {
    const scheduler = new Scheduler(1);
    const ran: string[] = [];
    scheduler.at(10, () => {
      ran.push('a@10');
      scheduler.after(0, () => ran.push('c@10'));
      scheduler.after(5, () => ran.push('d@15'));
    });
    scheduler.at(10, () => ran.push('b@10'));
    scheduler.at(12, () => ran.push('x@12'));
    scheduler.runUntil(100);
    expect(ran).toEqual(['a@10', 'b@10', 'c@10', 'x@12', 'd@15']);
    expect(scheduler.now_ms).toBe(100);
  });

  it('step(until) leaves later events and time alone', () => {
    const scheduler = new Scheduler(1);
    let ran = 0;
    scheduler.at(5, () => ran++);
    scheduler.at(20, () => ran++);
    expect(scheduler.step(10)).toBe(true);
    expect(scheduler.step(10)).toBe(false);
    expect(ran).toBe(1);
    expect(scheduler.now_ms).toBe(5);
    expect(scheduler.nextAtMs()).toBe(20);
    expect(scheduler.pending).toBe(1);
  });

  it('refuses an event in the past', () => {
    const scheduler = new Scheduler(1);
    scheduler.runUntil(50);
    expect(() => scheduler.at(49, () => undefined)).toThrow(InvariantError);
    expect(() => scheduler.at(Number.NaN, () => undefined)).toThrow(InvariantError);
  });

  it('its queue is bounded: a runaway simulation fails loudly', () => {
    const scheduler = new Scheduler(1, 100);
    for (let i = 0; i < 100; i++) scheduler.at(i, () => undefined);
    expect(() => scheduler.at(1, () => undefined)).toThrow(SimLimitError);
  });

  it('the same seed gives the same random draws and so the same run; another seed another', () => {
    const trace = (seed: number): string[] => {
      const scheduler = new Scheduler(seed);
      const out: string[] = [];
      const spawn = (depth: number): void => {
        out.push(`${scheduler.now_ms}:${depth}`);
        if (depth < 6) for (let k = 0; k < 2; k++) scheduler.after(scheduler.rng.int(20), () => spawn(depth + 1));
      };
      scheduler.at(0, () => spawn(0));
      scheduler.runUntil(1000);
      return out;
    };
    expect(trace(11)).toEqual(trace(11));
    expect(trace(11)).not.toEqual(trace(12));
    // The scheduler's PRNG is the project's one PRNG.
    const rng = createRng(11);
    const scheduler = new Scheduler(11);
    expect([scheduler.rng.next(), scheduler.rng.next()]).toEqual([rng.next(), rng.next()]);
  });
});
