import { describe, expect, it } from 'vitest';
import {
  client_timeout_ms_max,
  clock_offset_ms_max,
  controlActionSchema,
  link_delay_ms_max,
  nemesis_interval_ms_max,
  nemesis_interval_ms_min,
  nemesis_steps_max,
  run_duration_ms_max,
  run_duration_ms_min,
  seed_max,
} from '../../src/lib/control/api.js';
import { nemesisFaultCount, nemesisSchedule, undoOnce } from '../../src/lib/faults/nemesis.js';
import { createRng } from '../../src/lib/util/prng.js';

const accepts = (action: unknown) => controlActionSchema.safeParse(action).success;

describe('control action limits', () => {
  const nemesis = (interval_ms: number, duration_ms: number, seed = 1) => ({ type: 'nemesis_start', interval_ms, duration_ms, seed });

  it('bounds a nemesis by the named limits', () => {
    expect(accepts(nemesis(nemesis_interval_ms_min, 1000))).toBe(true);
    expect(accepts(nemesis(nemesis_interval_ms_min - 1, 1000))).toBe(false);
    expect(accepts(nemesis(nemesis_interval_ms_max, run_duration_ms_max))).toBe(true);
    expect(accepts(nemesis(nemesis_interval_ms_max + 1, run_duration_ms_max))).toBe(false);
    expect(accepts(nemesis(1000, run_duration_ms_min - 1))).toBe(false);
    expect(accepts(nemesis(1000, 1000, seed_max))).toBe(true);
    expect(accepts(nemesis(1000, 1000, seed_max + 1))).toBe(false);
  });

  it('refuses a nemesis with more faults than a schedule may hold, instead of failing inside the supervisor', () => {
    const interval_ms = 1000;
    expect(accepts(nemesis(interval_ms, interval_ms * nemesis_steps_max))).toBe(true);
    expect(accepts(nemesis(interval_ms, interval_ms * (nemesis_steps_max + 1)))).toBe(false);
    // The schema and the schedule count faults the same way.
    expect(nemesisSchedule(1, ['n1', 'n2', 'n3'], 300, 2000)).toHaveLength(nemesisFaultCount(300, 2000) + 1);
  });

  // A load's limits are its workload's (test/workloads/lin-kv/runtime.test.ts).
  it('bounds link faults, skew and client timeouts by the named limits', () => {
    expect(accepts({ type: 'link_faults', delay_ms: link_delay_ms_max })).toBe(true);
    expect(accepts({ type: 'link_faults', delay_ms: link_delay_ms_max + 1 })).toBe(false);
    expect(accepts({ type: 'skew', node: 'n1', offset_ms: -clock_offset_ms_max })).toBe(true);
    expect(accepts({ type: 'skew', node: 'n1', offset_ms: clock_offset_ms_max + 1 })).toBe(false);
    expect(accepts({ type: 'send', dest: 'n1', body: { type: 'x' }, timeout_ms: client_timeout_ms_max + 1 })).toBe(false);
  });

  it('a seed above the limit would only repeat a smaller one', () => {
    // Why seed_max is what it is: the generator keeps 32 bits of state.
    expect(createRng(seed_max + 1 + 7).next()).toBe(createRng(7).next());
  });
});

describe('undoOnce', () => {
  it('drops repeated actions, keeping the first of each in order', () => {
    expect(undoOnce([{ type: 'heal' }, { type: 'heal' }])).toEqual([{ type: 'heal' }]);
    expect(undoOnce([{ type: 'restart', node: 'n2' }, { type: 'heal' }])).toEqual([{ type: 'restart', node: 'n2' }, { type: 'heal' }]);
    expect(undoOnce([{ type: 'resume', node: 'n1' }, { type: 'resume', node: 'n2' }, { type: 'heal' }, { type: 'resume', node: 'n1' }])).toEqual([
      { type: 'resume', node: 'n1' },
      { type: 'resume', node: 'n2' },
      { type: 'heal' },
    ]);
  });
});
