import { describe, expect, it } from 'vitest';
import { SimLimitError } from '../../src/lib/sim/scheduler.js';
import { InvariantError } from '../../src/lib/util/errors.js';
import { toyCluster } from './toy-core.js';

const beatsFrom = (core: { received: { from: string; body: { type: string; n: number } }[] } | null, from: string): number[] =>
  (core?.received ?? []).filter((r) => r.from === from && r.body.type === 'beat').map((r) => r.body.n);

describe('sim host', () => {
  it('runs each input as tick, the input, then each Ready: persist before its messages leave, then handle', () => {
    const { host, driver, scheduler } = toyCluster(1, {}, {}, ['n1', 'n2']);
    host.start('n1');
    host.start('n2');
    scheduler.runUntil(10);
    // At 10 ms n1's timer fires (and n2's right after): tick bumps the count, persist, then send.
    const n1 = driver.log.filter((l) => l.startsWith('10 n1') || l.startsWith('10 messages beat1>n2'));
    expect(n1).toEqual(['10 n1 tick', '10 n1 persist 1', '10 messages beat1>n2', '10 n1 handle']);
    scheduler.runUntil(11);
    // The beat arrives after the 1 ms latency, as an input: tick first, then step.
    const arrival = driver.log.filter((l) => l.startsWith('11 n2'));
    expect(arrival.slice(0, 2)).toEqual(['11 n2 tick', '11 n2 step n1 beat 1']);
    expect(host.node('n1').durable.count).toBe(1);
  });

  it('arms one timer per node at the core\'s nextTimerMs', () => {
    const { host, scheduler } = toyCluster(1, { period_ms: 25 });
    for (const id of host.nodeIds) host.start(id);
    scheduler.runUntil(101);
    expect(beatsFrom(host.node('n2').core, 'n1')).toEqual([1, 2, 3, 4]);
    expect(host.node('n1').durable.count).toBe(4);
  });

  it('a crash keeps only what was persisted; the node drops messages while down and restarts from its durable state', () => {
    const { host, scheduler, driver } = toyCluster(1);
    for (const id of host.nodeIds) host.start(id);
    scheduler.runUntil(35);
    expect(host.node('n1').core!.received.length).toBeGreaterThan(0);
    expect(host.crash('n1')).toBe(true);
    expect(host.crash('n1')).toBe(false);
    expect(host.node('n1').core).toBeNull();
    const durable = host.node('n1').durable.count;
    expect(durable).toBe(3);
    scheduler.runUntil(80);
    // No timer fired while down: nobody heard a beat from n1 after the crash.
    expect(Math.max(...beatsFrom(host.node('n2').core, 'n1'))).toBe(3);
    expect(host.stats.dropped_down).toBeGreaterThan(0);
    expect(host.start('n1')).toBe(true);
    expect(host.start('n1')).toBe(false);
    expect(driver.log).toContain(`80 n1 start count=${durable}`);
    // Volatile state is gone, the durable count carries on.
    expect(host.node('n1').core!.received).toEqual([]);
    scheduler.runUntil(91);
    expect(beatsFrom(host.node('n2').core, 'n1').at(-1)).toBe(4);
    expect(host.node('n1').starts).toBe(2);
    expect(host.stats).toMatchObject({ starts: 4, crashes: 1 });
  });

  it('a paused node holds its inputs and takes them in order on resume, after a tick; its timer waits', () => {
    const { host, scheduler, driver } = toyCluster(1);
    for (const id of host.nodeIds) host.start(id);
    scheduler.runUntil(15);
    expect(host.pause('n1')).toBe(true);
    expect(host.pause('n1')).toBe(false);
    const before = host.node('n1').core!.received.length;
    scheduler.runUntil(55);
    expect(host.node('n1').core!.received.length).toBe(before);
    expect(host.node('n1').inbox.length).toBe(8); // beats 2..5 from n2 and n3
    // Its timer did not fire: no beat from n1 since the pause.
    expect(Math.max(...beatsFrom(host.node('n2').core, 'n1'))).toBe(1);
    const logFrom = driver.log.length;
    expect(host.resume('n1')).toBe(true);
    expect(host.resume('n1')).toBe(false);
    const after = driver.log.slice(logFrom).filter((l) => l.includes(' n1 tick') || l.includes(' n1 step'));
    expect(after[0]).toBe('55 n1 tick');
    const steps = after.filter((l) => l.includes('step'));
    expect(steps.map((l) => l.split(' ').slice(3).join(' '))).toEqual([
      'n2 beat 2',
      'n3 beat 2',
      'n2 beat 3',
      'n3 beat 3',
      'n2 beat 4',
      'n3 beat 4',
      'n2 beat 5',
      'n3 beat 5',
    ]);
    // The overdue timer fired on resume, and it keeps firing afterwards.
    scheduler.runUntil(70);
    expect(beatsFrom(host.node('n2').core, 'n1')).toEqual([1, 2, 3]);
  });

  it('a paused node\'s held inputs are bounded; a crash discards them', () => {
    const { host, scheduler } = toyCluster(1, {}, { paused_inbox_inputs_max: 3 });
    for (const id of host.nodeIds) host.start(id);
    host.pause('n1');
    scheduler.runUntil(45);
    expect(host.node('n1').inbox.length).toBe(3);
    expect(host.stats.dropped_inbox_full).toBe(5);
    host.crash('n1');
    expect(host.node('n1').inbox.length).toBe(0);
  });

  it('outside inputs run on an up node, wait on a paused one and are lost on a down one', () => {
    const { host, scheduler } = toyCluster(1);
    for (const id of host.nodeIds) host.start(id);
    const ping = (n: number) => (core: { out: unknown[] }) => core.out.push({ to: 'n2', body: { type: 'ping', n } });
    expect(host.input('n1', ping(1))).toBe('handled');
    host.pause('n1');
    expect(host.input('n1', ping(2))).toBe('held');
    scheduler.runUntil(5);
    host.resume('n1');
    host.crash('n1');
    expect(host.input('n1', ping(3))).toBe('lost');
    scheduler.runUntil(9);
    const pings = host.node('n2').core!.received.filter((r) => r.body.type === 'ping').map((r) => [r.body.n, r.at]);
    expect(pings).toEqual([
      [1, 1],
      [2, 6],
    ]);
  });

  it('a core that never stops producing Readys fails loudly', () => {
    const { host, driver } = toyCluster(1);
    driver.runaway = true;
    expect(() => host.start('n1')).toThrow(SimLimitError);
  });

  it('a message to a node that is not in the cluster is a bug', () => {
    const { host, driver, scheduler } = toyCluster(1);
    driver.beat_to = () => ['n9'];
    host.start('n1');
    expect(() => scheduler.runUntil(20)).toThrow(InvariantError);
  });

  describe('asynchronous storage', () => {
    it('a write lands after its latency, in order, and the core hears of it as an input', () => {
      const { host, scheduler, driver } = toyCluster(1, { storage_latency_ms: 7 }, {}, ['n1', 'n2']);
      host.start('n1');
      host.start('n2');
      scheduler.runUntil(16);
      expect(host.node('n1').durable.count).toBe(0);
      expect(host.node('n1').core!.count).toBe(1);
      scheduler.runUntil(17);
      expect(host.node('n1').durable.count).toBe(1);
      expect(driver.log).toContain('17 n1 stored 1');
      scheduler.runUntil(60);
      expect(host.node('n1').core!.stored).toEqual([1, 2, 3, 4, 5]);
      expect(host.node('n2').core!.received.filter((r) => r.from === 'n1').map((r) => [r.body.n, r.at])).toEqual([
        [1, 18],
        [2, 28],
        [3, 38],
        [4, 48],
        [5, 58],
      ]);
    });

    it('a crash loses the writes still in flight, even if the node is back before they would land', () => {
      const { host, scheduler } = toyCluster(1, { storage_latency_ms: 7 }, {}, ['n1', 'n2']);
      host.start('n1');
      host.start('n2');
      scheduler.runUntil(22); // write 1 landed at 17, write 2 (at 20) lands at 27
      host.crash('n1');
      host.start('n1');
      scheduler.runUntil(28);
      expect(host.stats.writes_lost).toBe(1);
      expect(host.node('n1').durable.count).toBe(1);
      expect(host.node('n1').core!.stored).toEqual([]);
    });
  });

  it('the same seed replays the same run; another seed differs', () => {
    const trace = (seed: number): string => {
      const { host, scheduler, driver } = toyCluster(seed, { start_jitter_ms: 10 }, { network: { latency_ms_min: 1, latency_ms_max: 9 } });
      for (const id of host.nodeIds) host.start(id);
      host.network.faults.setLinkFaults({ loss: 0.2, duplicate: 0.2 });
      scheduler.runUntil(300);
      return driver.log.join('\n');
    };
    expect(trace(3)).toBe(trace(3));
    expect(trace(3)).not.toBe(trace(4));
  });
});
