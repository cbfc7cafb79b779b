import { describe, expect, it } from 'vitest';
import { drawBaseLatencyMs, FaultModel } from '../../src/lib/faults/fault-model.js';
import { final_recovery_wait_s, hasFinalReads, rpcTimeoutMs } from '../../src/maelstrom/timing.js';
import { createRng } from '../../src/lib/util/prng.js';

// Maelstrom's --latency as the router draws it (FaultModel's base latency).
const drawLatencyMs = (dist: 'constant' | 'uniform' | 'exponential', mean_ms: number, uniform01: () => number) => drawBaseLatencyMs({ mean_ms, dist }, uniform01);

function draws(dist: 'constant' | 'uniform' | 'exponential', mean_ms: number, count: number): number[] {
  const rng = createRng(7);
  return Array.from({ length: count }, () => drawLatencyMs(dist, mean_ms, rng.next));
}

/** Whether a message from `src` to `dest` gets the network's base latency. */
function hasLatency(src: string, dest: string): boolean {
  const model = new FaultModel(['n0', 'n1', 'n2'], ['seq-kv']);
  model.setBaseLatency({ mean_ms: 100, dist: 'constant' });
  const fate = model.decide(src, dest, () => 0.5);
  return fate.delivered && fate.delays_ms[0] === 100;
}
const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;

describe('latency draws', () => {
  it('constant is the mean, every time; zero mean is no latency in any distribution', () => {
    expect(new Set(draws('constant', 100, 50))).toEqual(new Set([100]));
    for (const dist of ['constant', 'uniform', 'exponential'] as const) expect(draws(dist, 0, 20).every((ms) => ms === 0)).toBe(true);
  });

  it('uniform: whole ms in [0, 2·mean), averaging the mean', () => {
    const values = draws('uniform', 100, 20_000);
    expect(values.every((ms) => Number.isInteger(ms) && ms >= 0 && ms < 200)).toBe(true);
    expect(Math.min(...values)).toBe(0);
    expect(Math.max(...values)).toBe(199);
    expect(mean(values)).toBeGreaterThan(95);
    expect(mean(values)).toBeLessThan(105);
  });

  it('exponential: whole ms, mean near the given one, a long tail', () => {
    const values = draws('exponential', 100, 20_000);
    expect(values.every((ms) => Number.isInteger(ms) && ms >= 0)).toBe(true);
    // Truncating to whole ms lowers the mean by about half a ms.
    expect(mean(values)).toBeGreaterThan(94);
    expect(mean(values)).toBeLessThan(106);
    expect(Math.max(...values)).toBeGreaterThan(500);
    // The median of an exponential is ln 2 of its mean.
    const sorted = [...values].sort((a, b) => a - b);
    expect(sorted[10_000]).toBeGreaterThan(64);
    expect(sorted[10_000]).toBeLessThan(75);
  });

  it('a draw of exactly 0 from the source stays finite', () => {
    expect(drawLatencyMs('exponential', 100, () => 0)).toBe(0);
    expect(drawLatencyMs('uniform', 100, () => 0.999_999)).toBe(199);
  });

  it('applies between nodes and between a node and a service, never to a client', () => {
    expect(hasLatency('n0', 'n1')).toBe(true);
    expect(hasLatency('n2', 'seq-kv')).toBe(true);
    expect(hasLatency('c3', 'n1')).toBe(false);
    expect(hasLatency('n1', 'c3')).toBe(false);
  });
});

describe("Maelstrom's timing", () => {
  it('lin-kv waits ten mean latencies, at least 1 s; others 5 s', () => {
    expect(rpcTimeoutMs('lin-kv', 0)).toBe(1000);
    expect(rpcTimeoutMs('lin-kv', 250)).toBe(2500);
    expect(rpcTimeoutMs('broadcast', 250)).toBe(5000);
  });

  it('final reads after a 10 s recovery wait, only for the workloads that have them', () => {
    expect(final_recovery_wait_s).toBe(10);
    expect(['broadcast', 'g-set', 'g-counter', 'pn-counter'].every((w) => hasFinalReads(w as never))).toBe(true);
    expect(hasFinalReads('echo')).toBe(false);
    expect(hasFinalReads('lin-kv')).toBe(false);
    expect(hasFinalReads('unique-ids')).toBe(false);
  });
});
