// The breaker system's seeded simulation (src/systems/breaker/sim.ts): the core keeps its safety rules
// over hundreds of random runs, a seed replays its run, and each planted bug is caught by the rule it breaks.

import { describe, expect, it } from 'vitest';
import { BreakerSimFailure, breaker_simulator, randomBreakerSimConfig, runBreakerSimulation } from '../../src/systems/breaker/sim.js';

function ruleBroken(seed: number, bug: string): string | null {
  try {
    runBreakerSimulation(randomBreakerSimConfig(seed, bug));
    return null;
  } catch (error) {
    if (!(error instanceof BreakerSimFailure)) throw error;
    return error.rule;
  }
}

describe('breaker simulation', () => {
  it('keeps every safety rule over 100 seeded runs, which open, half-open, close and refuse many times', () => {
    const totals: Record<string, number> = {};
    for (let seed = 1; seed <= 100; seed++) {
      const stats = runBreakerSimulation(randomBreakerSimConfig(seed));
      for (const [key, value] of Object.entries(stats)) totals[key] = (totals[key] ?? 0) + value;
    }
    expect(totals.opened).toBeGreaterThan(100);
    expect(totals.closed).toBeGreaterThan(100);
    expect(totals.short_circuited).toBeGreaterThan(1000);
    expect(totals.rejected).toBeGreaterThan(1000);
    expect(totals.retries).toBeGreaterThan(1000);
  }, 60_000);

  it('a seed replays its run', async () => {
    const first = await breaker_simulator.run(42);
    const second = await breaker_simulator.run(42);
    expect(first.seed).toBe(42);
    expect(second.stats).toEqual(first.stats);
    expect(first.stats.requests).toBeGreaterThan(0);
    expect((await breaker_simulator.run(43)).stats).not.toEqual(first.stats);
  });

  it.each([
    ['never_half_opens', 'stayed_open_past_wait'],
    ['half_open_admits_all', 'half_open_overadmitted'],
    ['window_never_forgets', 'opened_without_cause'],
    ['timeout_counts_as_success', 'not_opened_at_threshold'],
    ['retry_without_budget', 'retry_amplification'],
  ])('catches the planted bug %s by the rule %s', (bug, rule) => {
    const rules = new Set<string | null>();
    for (let seed = 1; seed <= 40; seed++) rules.add(ruleBroken(seed, bug));
    expect([...rules]).toContain(rule);
  });
});
