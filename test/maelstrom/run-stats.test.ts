import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LinkStatus } from '../../src/lib/control/api.js';
import { Router } from '../../src/lib/supervisor/router.js';
import { TraceWriter } from '../../src/lib/supervisor/trace.js';
import { createRng } from '../../src/lib/util/prng.js';
import { netStats } from '../../src/maelstrom/run/net-stats.js';
import { linksSince } from '../../src/maelstrom/run/run.js';
import type { RunHistoryEntry } from '../../src/maelstrom/run/result.js';
import { availabilityOf, operationStats, quantiles, timelineOf } from '../../src/maelstrom/run/stats.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const scratchDir = tempDirs('dslab-run-stats-');

const entry = (f: string, outcome: RunHistoryEntry['outcome'], call_ms: number, return_ms: number | null, extra: Partial<RunHistoryEntry> = {}): RunHistoryEntry => ({ client: 'c3001', node: 'n0', f, call_ms, return_ms, outcome, ...extra });

describe('netStats', () => {
  it('splits client and server messages, counts a duplicate as a second receive, and matches a recount of random traffic through the router', async () => {
    const nodes = ['n0', 'n1', 'n2', 'n3'];
    const services = ['seq-kv'];
    const clients = ['c3001', 'c3002', 'c3003'];
    const endpoints = [...nodes, ...services, ...clients];
    const trace = new TraceWriter(path.join(scratchDir(), 'trace.jsonl'));
    let received = 0;
    const router = new Router(nodes, createRng(11), trace, () => (received++, true), services);
    // Loss and duplication, no delay: every copy is handed over at once, so the callback counts receives as they happen.
    router.faults.setLinkFaults({ loss: 0.2, duplicate: 0.3 });
    router.faults.setLinkFaults({ loss: 0.5, duplicate: 0.5 }, ['n0', 'c3001']);
    router.faults.setDrops({ n1: ['n2'] });
    const rng = createRng(12);
    const expected = { client: { sent: 0, received: 0 }, server: { sent: 0, received: 0 } };
    for (let i = 0; i < 3000; i++) {
      const src = rng.pick(endpoints);
      const dest = rng.pick(endpoints.filter((e) => e !== src && !(clients.includes(e) && clients.includes(src))));
      const before = received;
      router.route(src, dest, JSON.stringify({ src, dest, body: { type: 'x', msg_id: i } }), i);
      const side = clients.includes(src) || clients.includes(dest) ? expected.client : expected.server;
      side.sent++;
      side.received += received - before;
    }
    router.stop();
    await trace.close();
    const links: LinkStatus[] = router.linkCounters().map(({ link, counters }) => ({ link, ...counters }));
    // The traffic really had drops and duplicates on both sides, or the recount would prove little.
    expect(expected.client.received).not.toBe(expected.client.sent);
    expect(expected.server.received).not.toBe(expected.server.sent);
    const operations = 250;
    const stats = netStats(links, operations);
    expect(stats.clients).toEqual({ send_count: expected.client.sent, recv_count: expected.client.received, msg_count: expected.client.sent, msgs_per_op: null });
    expect(stats.servers).toMatchObject({ send_count: expected.server.sent, recv_count: expected.server.received, msg_count: expected.server.sent });
    expect(stats.all).toMatchObject({ send_count: 3000, recv_count: expected.client.received + expected.server.received, msg_count: 3000 });
    expect(stats.servers.msgs_per_op).toBeCloseTo(expected.server.sent / operations, 9);
    expect(stats.all.msgs_per_op).toBeCloseTo(3000 / operations, 9);
  });

  it('counts a link with a client at either end as client traffic, service links as server traffic', () => {
    const stats = netStats(
      [
        { link: 'c3001->n0', delivered: 3, dropped: 1, duplicated: 0 },
        { link: 'n0->c3001', delivered: 2, dropped: 0, duplicated: 2 },
        { link: 'n0->seq-kv', delivered: 5, dropped: 2, duplicated: 1 },
        { link: 'n0->n1', delivered: 7, dropped: 0, duplicated: 0 },
      ],
      4,
    );
    expect(stats.clients).toEqual({ send_count: 6, recv_count: 7, msg_count: 6, msgs_per_op: null });
    expect(stats.servers).toEqual({ send_count: 14, recv_count: 13, msg_count: 14, msgs_per_op: 3.5 });
    expect(stats.all).toEqual({ send_count: 20, recv_count: 20, msg_count: 20, msgs_per_op: 5 });
  });

  it('gives no messages per operation when no operation was invoked', () => {
    const stats = netStats([{ link: 'n0->n1', delivered: 7, dropped: 0, duplicated: 0 }], 0);
    expect(stats.all.msgs_per_op).toBeNull();
    expect(stats.servers.msgs_per_op).toBeNull();
    expect(stats.servers.msg_count).toBe(7);
  });
});

describe('quantiles', () => {
  /** Nearest rank by its definition: the smallest value at least a fraction q of the values do not exceed (in integer arithmetic). */
  function nearestRank(values: number[], percent: number): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted.find((v) => sorted.filter((x) => x <= v).length * 100 >= percent * values.length)!;
  }

  it('match the nearest-rank definition on random inputs', () => {
    const rng = createRng(5);
    for (let trial = 0; trial < 300; trial++) {
      const length = 1 + rng.int(trial < 100 ? 10 : 400);
      // Tenths of a ms (quantiles round to one decimal), with repeats.
      const values = Array.from({ length }, () => rng.int(5000) / 10);
      const q = quantiles(values)!;
      expect(q, `values ${values.join(',')}`).toEqual({ '0': Math.min(...values), '0.5': nearestRank(values, 50), '0.95': nearestRank(values, 95), '0.99': nearestRank(values, 99), '1': Math.max(...values) });
    }
  });

  it('are null for no values, round to a tenth, and do not reorder the input', () => {
    expect(quantiles([])).toBeNull();
    const values = [3.14159, 1.26, 2.05];
    expect(quantiles(values)).toEqual({ '0': 1.3, '0.5': 2.1, '0.95': 3.1, '0.99': 3.1, '1': 3.1 });
    expect(values).toEqual([3.14159, 1.26, 2.05]);
  });
});

describe('operationStats', () => {
  it('counts each function by outcome in order of first appearance, with latencies of ok operations only', () => {
    const entries = [
      entry('add', 'ok', 0, 10),
      entry('read', 'fail', 5, 7),
      entry('add', 'unknown', 10, null),
      entry('add', 'ok', 20, 50),
      entry('read', 'ok', 30, 31),
      entry('add', 'fail', 40, 41),
    ];
    expect(operationStats(entries)).toEqual([
      { f: 'add', count: 4, ok: 2, fail: 1, unknown: 1, latency_ms: { '0': 10, '0.5': 10, '0.95': 30, '0.99': 30, '1': 30 } },
      { f: 'read', count: 2, ok: 1, fail: 1, unknown: 0, latency_ms: { '0': 1, '0.5': 1, '0.95': 1, '0.99': 1, '1': 1 } },
    ]);
    expect(operationStats([entry('echo', 'unknown', 0, null)])).toEqual([{ f: 'echo', count: 1, ok: 0, fail: 0, unknown: 1, latency_ms: null }]);
  });
});

describe('availabilityOf', () => {
  it('is the ok fraction of every operation invoked, null for none', () => {
    expect(availabilityOf([])).toBeNull();
    expect(availabilityOf([entry('add', 'ok', 0, 1), entry('add', 'fail', 0, 1), entry('read', 'unknown', 0, null), entry('read', 'ok', 0, 1, { final: true })])).toBe(0.5);
    expect(availabilityOf([entry('add', 'ok', 0, 1)])).toBe(1);
  });
});

describe('timelineOf', () => {
  it('puts each operation in the second it completed (its call when no answer came), clamped to the run', () => {
    const entries = [
      entry('add', 'ok', 100, 900), // second 0, latency 800
      entry('add', 'ok', 950, 1050), // second 1, latency 100
      entry('add', 'ok', 1200, 1500), // second 1, latency 300
      entry('add', 'ok', 1200, 1210), // second 1, latency 10
      entry('add', 'unknown', 1999, null), // second 1 by its call
      entry('read', 'fail', 2100, 2200), // second 2
      entry('read', 'ok', 2500, 9000), // past the end: the last second
    ];
    const timeline = timelineOf(entries, 2600);
    expect(timeline).toEqual([
      { second: 0, ok: 1, fail: 0, unknown: 0, latency_ms_median: 800, latency_ms_max: 800 },
      { second: 1, ok: 3, fail: 0, unknown: 1, latency_ms_median: 100, latency_ms_max: 300 },
      { second: 2, ok: 1, fail: 1, unknown: 0, latency_ms_median: 6500, latency_ms_max: 6500 },
    ]);
    const total = timeline.reduce((sum, row) => sum + row.ok + row.fail + row.unknown, 0);
    expect(total).toBe(entries.length);
  });

  it('has one second at least, with no latency where nothing was ok', () => {
    expect(timelineOf([], 0)).toEqual([{ second: 0, ok: 0, fail: 0, unknown: 0, latency_ms_median: null, latency_ms_max: null }]);
    expect(timelineOf([], 3000)).toHaveLength(3);
    expect(timelineOf([], 3001)).toHaveLength(4);
  });
});

describe('linksSince', () => {
  it("counts only a run's own messages: earlier counts are taken off, links new since then count from zero", () => {
    const before = [{ link: 'n1->n2', delivered: 10, dropped: 2, duplicated: 1 }];
    const after = [
      { link: 'n1->n2', delivered: 15, dropped: 2, duplicated: 3 },
      { link: 'c3001->n1', delivered: 4, dropped: 0, duplicated: 0 },
    ];
    expect(linksSince(before, after)).toEqual([
      { link: 'n1->n2', delivered: 5, dropped: 0, duplicated: 2 },
      { link: 'c3001->n1', delivered: 4, dropped: 0, duplicated: 0 },
    ]);
  });
});
