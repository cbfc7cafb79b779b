// Seeded simulation of snowflake generators under clock steps and bursts. Replay a failure with
//   SNOWFLAKE_SIM_SEED=<seed> npx vitest run test/snowflake/sim.test.ts
import { describe, expect, it } from 'vitest';
import { epoch_ms_default } from '../../src/systems/snowflake/core/ids.js';
import { default_layout, sonyflake_layout, type Layout } from '../../src/systems/snowflake/core/layout.js';
import { runSnowflakeSimulation, type SnowflakeSimStats } from '../../src/systems/snowflake/sim.js';

const replay = process.env['SNOWFLAKE_SIM_SEED'];
const seeds = replay ? [Number(replay)] : Array.from({ length: 200 }, (_, i) => i + 1);

function runAll(layout: Layout, datacenters: number, burst_max: number): SnowflakeSimStats {
  const total: SnowflakeSimStats = { issued: 0, waits_sequence: 0, waits_clock_back: 0, refusals: 0 };
  for (const seed of seeds) {
    const stats = runSnowflakeSimulation({ seed, layout, epoch_ms: epoch_ms_default, workers: 6, datacenters, max_backward_ms: 5, events: 300, burst_max });
    for (const key of Object.keys(total) as (keyof SnowflakeSimStats)[]) total[key] += stats[key];
  }
  return total;
}

describe('snowflake simulation', () => {
  it('issues unique, per-worker increasing ids under clock steps and bursts (Twitter layout)', () => {
    const stats = runAll(default_layout, 2, 9000);
    // The schedules did what they are for: wraps, waited-out steps and refusals all happened.
    expect(stats.issued).toBeGreaterThan(1_000_000);
    expect(stats.waits_sequence).toBeGreaterThan(0);
    expect(stats.waits_clock_back).toBeGreaterThan(0);
    expect(stats.refusals).toBeGreaterThan(0);
  });

  it('does the same with the Sonyflake layout', () => {
    const stats = runAll(sonyflake_layout, 1, 600);
    expect(stats.issued).toBeGreaterThan(10_000);
    expect(stats.waits_sequence).toBeGreaterThan(0);
    expect(stats.refusals).toBeGreaterThan(0);
  });
});
