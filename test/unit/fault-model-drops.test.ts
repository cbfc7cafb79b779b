import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeDrops, drawBaseLatencyMs, FaultModel, type BaseLatency, type Fate } from '../../src/lib/faults/fault-model.js';
import { Router } from '../../src/lib/supervisor/router.js';
import { TraceWriter } from '../../src/lib/supervisor/trace.js';
import { createRng } from '../../src/lib/util/prng.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const scratchDir = tempDirs('dslab-fault-drops-');
const nodes = ['n0', 'n1', 'n2', 'n3', 'n4'];
const services = ['seq-kv', 'lin-kv'];
/** A random source that never asks for a loss, duplicate or reorder (none is set) and draws the middle of a range. */
const half = () => 0.5;

function delivered(fate: Fate): number[] {
  if (!fate.delivered) throw new Error(`expected delivery, got ${fate.reason}`);
  return fate.delays_ms;
}

describe('directed drops (majorities ring)', () => {
  it('are one-way: a drops b cuts b→a and leaves a→b', () => {
    const model = new FaultModel(nodes, services);
    model.setDrops({ n0: ['n1'] });
    expect(model.isCut('n1', 'n0')).toBe(true);
    expect(model.isCut('n0', 'n1')).toBe(false);
    expect(model.decide('n1', 'n0', half)).toEqual({ delivered: false, reason: 'partition' });
    expect(model.decide('n0', 'n1', half).delivered).toBe(true);
    expect(model.decideStream('n1', 'n0', half)).toEqual({ action: 'hold' });
    // Everyone else is untouched, services and clients included.
    for (const [src, dest] of [['n2', 'n0'], ['n1', 'n2'], ['n0', 'seq-kv'], ['seq-kv', 'n0'], ['c3001', 'n0'], ['n1', 'c3001']] as const) {
      expect(model.isCut(src, dest), `${src}->${dest}`).toBe(false);
    }
  });

  it('cut both ways only when both drop each other, and reflect exactly what was set (empty lists left out)', () => {
    const model = new FaultModel(nodes);
    model.setDrops({ n0: ['n3', 'n4'], n3: ['n0'], n1: [] });
    expect(model.isCut('n3', 'n0') && model.isCut('n0', 'n3')).toBe(true);
    expect(model.isCut('n4', 'n0')).toBe(true);
    expect(model.isCut('n0', 'n4')).toBe(false);
    expect(model.dropsInForce()).toEqual({ n0: ['n3', 'n4'], n3: ['n0'] });
    expect(model.partition()).toBeNull();
  });

  it('refuse an id that is no node (a service or a client included)', () => {
    const model = new FaultModel(nodes, services);
    expect(() => model.setDrops({ n9: ['n0'] })).toThrow(/unknown node n9/);
    expect(() => model.setDrops({ n0: ['seq-kv'] })).toThrow(/unknown node seq-kv/);
    expect(() => model.setDrops({ c3001: ['n0'] })).toThrow(/unknown node c3001/);
    expect(model.dropsInForce()).toEqual({});
  });

  it('are replaced by a partition into groups, and replace one', () => {
    const model = new FaultModel(nodes);
    model.setDrops({ n0: ['n1'] });
    model.setPartition([['n0', 'n1'], ['n2', 'n3', 'n4']]);
    expect(model.dropsInForce()).toEqual({});
    expect(model.isCut('n1', 'n0')).toBe(false);
    expect(model.isCut('n1', 'n2')).toBe(true);
    model.setDrops({ n2: ['n1'] });
    expect(model.partition()).toBeNull();
    expect(model.isCut('n1', 'n2')).toBe(true);
    expect(model.isCut('n2', 'n1')).toBe(false);
    expect(model.isCut('n0', 'n3')).toBe(false);
  });

  it('are cleared by heal', () => {
    const model = new FaultModel(nodes);
    model.setDrops({ n0: ['n1', 'n2'] });
    expect(model.isHealthy()).toBe(false);
    model.heal();
    expect(model.dropsInForce()).toEqual({});
    expect(model.isCut('n1', 'n0')).toBe(false);
    expect(model.isHealthy()).toBe(true);
  });

  it('are described receiver by receiver', () => {
    const model = new FaultModel(nodes);
    model.setDrops({ n0: ['n3', 'n4'], n1: ['n4'], n2: [] });
    expect(model.describe()).toEqual(['partition: n0 drops n3,n4; n1 drops n4']);
    expect(describeDrops({ n2: [], n3: ['n0'] })).toBe('partition: n3 drops n0');
  });
});

describe('base latency', () => {
  const constant: BaseLatency = { mean_ms: 40, dist: 'constant' };

  it('applies to node↔node and node↔service messages, never to a client link', () => {
    const model = new FaultModel(nodes, services);
    model.setBaseLatency(constant);
    expect(delivered(model.decide('n0', 'n1', half))).toEqual([40]);
    expect(delivered(model.decide('n2', 'seq-kv', half))).toEqual([40]);
    expect(delivered(model.decide('lin-kv', 'n3', half))).toEqual([40]);
    expect(delivered(model.decide('c1', 'n0', half))).toEqual([0]);
    expect(delivered(model.decide('n0', 'c3001', half))).toEqual([0]);
    expect(model.decideStream('n0', 'n1', half)).toEqual({ action: 'forward', delay_ms: 40 });
    expect(model.decideStream('c2', 'n1', half)).toEqual({ action: 'forward', delay_ms: 0 });
  });

  it('adds to a link delay, is kept by heal and removed by null (or a zero mean)', () => {
    const model = new FaultModel(nodes);
    model.setBaseLatency(constant);
    model.setLinkFaults({ delay_ms: 10 });
    expect(delivered(model.decide('n0', 'n1', half))).toEqual([50]);
    model.heal();
    expect(model.base()).toEqual(constant);
    expect(delivered(model.decide('n0', 'n1', half))).toEqual([40]);
    // Base latency is the network itself, not a fault: the model still reads as healthy.
    expect(model.isHealthy()).toBe(true);
    model.setBaseLatency({ mean_ms: 0, dist: 'uniform' });
    expect(model.base()).toBeNull();
    model.setBaseLatency(constant);
    model.setBaseLatency(null);
    expect(delivered(model.decide('n0', 'n1', half))).toEqual([0]);
    expect(() => model.setBaseLatency({ mean_ms: -1, dist: 'constant' })).toThrow();
  });

  it('is not applied to a message a drop cuts', () => {
    const model = new FaultModel(nodes);
    model.setBaseLatency(constant);
    model.setDrops({ n1: ['n0'] });
    expect(model.decide('n0', 'n1', half)).toEqual({ delivered: false, reason: 'partition' });
    expect(delivered(model.decide('n1', 'n0', half))).toEqual([40]);
  });
});

describe('base latency distributions', () => {
  const draws = 20_000;
  const sample = (latency: BaseLatency, seed: number) => {
    const rng = createRng(seed);
    return Array.from({ length: draws }, () => drawBaseLatencyMs(latency, rng.next));
  };
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

  it('constant is exactly the mean', () => {
    expect(new Set(sample({ mean_ms: 100, dist: 'constant' }, 1))).toEqual(new Set([100]));
  });

  it('uniform lies in [0, 2·mean) and averages the mean', () => {
    const values = sample({ mean_ms: 100, dist: 'uniform' }, 2);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(200);
    // Spread over the whole range, not bunched at the mean.
    expect(Math.min(...values)).toBeLessThan(10);
    expect(Math.max(...values)).toBeGreaterThan(190);
    // Whole ms, floored: the average is about half a ms below the mean.
    expect(mean(values)).toBeGreaterThan(95);
    expect(mean(values)).toBeLessThan(105);
  });

  it('exponential averages the mean and has a long tail', () => {
    const values = sample({ mean_ms: 100, dist: 'exponential' }, 3);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(mean(values)).toBeGreaterThan(92);
    expect(mean(values)).toBeLessThan(108);
    // P(x > 3·mean) = e^-3 ≈ 5%.
    const tail = values.filter((v) => v > 300).length / values.length;
    expect(tail).toBeGreaterThan(0.03);
    expect(tail).toBeLessThan(0.07);
  });

  it('draw nothing for a zero mean, and the edge draws stay finite', () => {
    expect(drawBaseLatencyMs({ mean_ms: 0, dist: 'exponential' }, () => 0.99)).toBe(0);
    expect(drawBaseLatencyMs({ mean_ms: 10, dist: 'exponential' }, () => 0)).toBe(0);
    expect(Number.isFinite(drawBaseLatencyMs({ mean_ms: 10, dist: 'exponential' }, () => 1 - 2 ** -53))).toBe(true);
    expect(drawBaseLatencyMs({ mean_ms: 10, dist: 'uniform' }, () => 1 - 2 ** -53)).toBe(19);
  });
});

describe('router with base latency', () => {
  const line = (src: string, dest: string, n: number) => JSON.stringify({ src, dest, body: { type: 'ping', msg_id: n } });

  it('delivers a node-to-node message after the base latency, and a client message at once', async () => {
    const trace = new TraceWriter(path.join(scratchDir(), 'trace.jsonl'));
    const arrivals: { dest: string; id: number; at: number }[] = [];
    const router = new Router(nodes, createRng(7), trace, (dest, text) => (arrivals.push({ dest, id: JSON.parse(text).body.msg_id, at: Date.now() }), true), services);
    router.faults.setBaseLatency({ mean_ms: 60, dist: 'constant' });
    const sent = Date.now();
    router.route('n0', 'n1', line('n0', 'n1', 1), sent);
    router.route('c3001', 'n2', line('c3001', 'n2', 2), sent);
    router.route('n3', 'seq-kv', line('n3', 'seq-kv', 3), sent);
    // The client's message went through at once; the others wait.
    expect(arrivals.map((a) => a.id)).toEqual([2]);
    const deadline = Date.now() + 5000;
    while (arrivals.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(arrivals.map((a) => a.id).sort()).toEqual([1, 2, 3]);
    for (const arrival of arrivals.filter((a) => a.id !== 2)) expect(arrival.at - sent).toBeGreaterThanOrEqual(55);
    router.stop();
    await trace.close();
  });
});
