import { describe, expect, it } from 'vitest';
import { FaultModel } from '../../src/lib/faults/fault-model.js';
import { SimNetwork, type SimNetworkOptions } from '../../src/lib/sim/network.js';
import { Scheduler } from '../../src/lib/sim/scheduler.js';
import { createRng } from '../../src/lib/util/prng.js';

interface Arrival {
  from: string;
  to: string;
  body: { n: number };
  at: number;
}

const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];

function setup(options: Partial<SimNetworkOptions> = {}, seed = 1) {
  const scheduler = new Scheduler(seed);
  const arrivals: Arrival[] = [];
  const network = new SimNetwork<{ n: number }>(scheduler, ids, { latency_ms_min: 1, latency_ms_max: 1, ...options }, (from, to, body) =>
    arrivals.push({ from, to, body, at: scheduler.now_ms }),
  );
  return { scheduler, network, arrivals };
}

/** Sends `count` messages n1 -> n2, one per ms, then runs everything. */
function sendMany(net: ReturnType<typeof setup>, count: number, from = 'n1', to = 'n2'): Map<number, number> {
  const sentAt = new Map<number, number>();
  for (let n = 0; n < count; n++) {
    net.scheduler.after(n, () => {
      sentAt.set(n, net.scheduler.now_ms);
      net.network.send(from, to, { n });
    });
  }
  net.scheduler.runUntil(Number.POSITIVE_INFINITY);
  return sentAt;
}

describe('sim network', () => {
  it('a healthy link with a fixed latency delivers every message once, in order, after that latency', () => {
    const net = setup({ latency_ms_min: 3, latency_ms_max: 3 });
    const sentAt = sendMany(net, 200);
    expect(net.arrivals.map((a) => a.body.n)).toEqual([...Array(200).keys()]);
    expect(net.arrivals.every((a) => a.at === sentAt.get(a.body.n)! + 3)).toBe(true);
    expect(net.network.stats).toMatchObject({ sent: 200, delivered: 200, duplicated: 0, dropped_loss: 0, dropped_partition: 0 });
    expect(net.network.in_flight).toBe(0);
  });

  it('a latency range reorders messages on one link, each within the range', () => {
    const net = setup({ latency_ms_min: 1, latency_ms_max: 30 });
    const sentAt = sendMany(net, 500);
    const latencies = net.arrivals.map((a) => a.at - sentAt.get(a.body.n)!);
    expect(Math.min(...latencies)).toBe(1);
    expect(Math.max(...latencies)).toBe(30);
    const order = net.arrivals.map((a) => a.body.n);
    expect(order).not.toEqual([...order].sort((a, b) => a - b));
  });

  it('decides each message exactly as the FaultModel does with the same random draws', () => {
    // With a fixed latency the network draws nothing of its own, so a FaultModel fed a PRNG with
    // the same seed must predict every fate and delay.
    const seed = 31;
    const net = setup({ latency_ms_min: 0, latency_ms_max: 0 }, seed);
    const change = { loss: 0.2, duplicate: 0.25, delay_ms: 40, jitter_ms: 15, reorder: 0.3 };
    net.network.faults.setLinkFaults(change);
    const model = new FaultModel(ids);
    model.setLinkFaults(change);
    const rng = createRng(seed);
    const expected: { n: number; at: number }[] = [];
    for (let n = 0; n < 2000; n++) {
      net.network.send('n1', 'n2', { n });
      const fate = model.decide('n1', 'n2', rng.next);
      if (fate.delivered) for (const d of fate.delays_ms) expected.push({ n, at: d });
    }
    net.scheduler.runUntil(Number.POSITIVE_INFINITY);
    const key = (x: { n: number; at: number }) => `${x.n}@${x.at}`;
    expect(net.arrivals.map((a) => key({ n: a.body.n, at: a.at })).sort()).toEqual(expected.map(key).sort());
    expect(net.network.stats.duplicated).toBeGreaterThan(0);
    expect(net.network.stats.dropped_loss).toBeGreaterThan(0);
  });

  it('a partition drops messages between groups and keeps them within one; heal restores the links', () => {
    const net = setup();
    net.network.faults.setPartition([['n1', 'n2'], ['n3', 'n4', 'n5']]);
    net.network.send('n1', 'n2', { n: 1 });
    net.network.send('n1', 'n3', { n: 2 });
    net.network.send('n4', 'n2', { n: 3 });
    net.network.send('n5', 'n3', { n: 4 });
    net.scheduler.runUntil(10);
    expect(net.arrivals.map((a) => a.body.n)).toEqual([1, 4]);
    expect(net.network.stats.dropped_partition).toBe(2);
    net.network.faults.heal();
    net.network.send('n1', 'n3', { n: 5 });
    net.scheduler.runUntil(20);
    expect(net.arrivals.map((a) => a.body.n)).toEqual([1, 4, 5]);
  });

  it('a fault is decided when a message is sent, as in the router: one already in flight still arrives', () => {
    const net = setup({ latency_ms_min: 10, latency_ms_max: 10 });
    net.network.send('n1', 'n3', { n: 1 });
    net.scheduler.runUntil(5);
    net.network.faults.setPartition([['n1'], ['n2', 'n3', 'n4', 'n5']]);
    net.network.send('n1', 'n3', { n: 2 });
    net.scheduler.runUntil(50);
    expect(net.arrivals.map((a) => [a.body.n, a.at])).toEqual([[1, 10]]);
  });

  it('loss and duplication happen at about their rates', () => {
    const net = setup();
    net.network.faults.setLinkFaults({ loss: 0.3 });
    sendMany(net, 10_000);
    const lost = net.network.stats.dropped_loss / 10_000;
    expect(lost).toBeGreaterThan(0.27);
    expect(lost).toBeLessThan(0.33);
    expect(net.arrivals.length).toBe(10_000 - net.network.stats.dropped_loss);

    const dup = setup();
    dup.network.faults.setLinkFaults({ duplicate: 0.2 });
    sendMany(dup, 10_000);
    const share = dup.network.stats.duplicated / 10_000;
    expect(share).toBeGreaterThan(0.17);
    expect(share).toBeLessThan(0.23);
    expect(dup.arrivals.length).toBe(10_000 + dup.network.stats.duplicated);
    // Each duplicated message arrives exactly twice.
    const copies = new Map<number, number>();
    for (const a of dup.arrivals) copies.set(a.body.n, (copies.get(a.body.n) ?? 0) + 1);
    expect([...copies.values()].filter((c) => c === 2).length).toBe(dup.network.stats.duplicated);
    expect([...copies.values()].every((c) => c === 1 || c === 2)).toBe(true);
  });

  it('delay with jitter adds to the latency, within delay ± jitter', () => {
    const net = setup({ latency_ms_min: 2, latency_ms_max: 2 });
    net.network.faults.setLinkFaults({ delay_ms: 100, jitter_ms: 20 });
    const sentAt = sendMany(net, 1000);
    const extra = net.arrivals.map((a) => a.at - sentAt.get(a.body.n)! - 2);
    expect(Math.min(...extra)).toBeGreaterThanOrEqual(80);
    expect(Math.max(...extra)).toBeLessThanOrEqual(120);
    expect(Math.max(...extra) - Math.min(...extra)).toBeGreaterThan(30);
  });

  it('a fault on one link leaves the others alone', () => {
    const net = setup();
    net.network.faults.setLinkFaults({ loss: 1 }, ['n1', 'n2']);
    sendMany(net, 100, 'n2', 'n1');
    sendMany(net, 100, 'n1', 'n3');
    expect(net.arrivals.filter((a) => a.to === 'n1')).toEqual([]);
    expect(net.arrivals.filter((a) => a.to === 'n3').length).toBe(100);
  });

  it('holds at most in_flight_messages_max messages; the rest are dropped and counted', () => {
    const net = setup({ latency_ms_min: 100, latency_ms_max: 100, in_flight_messages_max: 50 });
    for (let n = 0; n < 80; n++) net.network.send('n1', 'n2', { n });
    expect(net.network.in_flight).toBe(50);
    expect(net.network.stats.dropped_overflow).toBe(30);
    net.scheduler.runUntil(200);
    expect(net.arrivals.length).toBe(50);
    expect(net.network.in_flight).toBe(0);
    net.network.send('n1', 'n2', { n: 99 });
    expect(net.network.in_flight).toBe(1);
  });

  it('serialize hands every copy over as its own JSON round trip', () => {
    const net = setup({ serialize: true });
    net.network.faults.setLinkFaults({ duplicate: 1 });
    const body = { n: 7, nested: { when: new Date(0) } } as unknown as { n: number };
    net.network.send('n1', 'n2', body);
    net.scheduler.runUntil(10);
    expect(net.arrivals.length).toBe(2);
    const [a, b] = net.arrivals;
    expect(a!.body).not.toBe(body);
    expect(a!.body).not.toBe(b!.body);
    // A Date does not survive JSON: the receiver sees what a real transport would give it.
    expect(a!.body).toEqual({ n: 7, nested: { when: '1970-01-01T00:00:00.000Z' } });
  });

  it('the same seed delivers the same messages at the same times; another seed does not', () => {
    const run = (seed: number): string => {
      const net = setup({ latency_ms_min: 1, latency_ms_max: 20 }, seed);
      net.network.faults.setLinkFaults({ loss: 0.1, duplicate: 0.1, reorder: 0.2 });
      sendMany(net, 300);
      return JSON.stringify(net.arrivals);
    };
    expect(run(5)).toBe(run(5));
    expect(run(5)).not.toBe(run(6));
  });
});
