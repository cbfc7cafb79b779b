import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NodeConnections } from '../../src/lib/supervisor/connections.js';
import { Router } from '../../src/lib/supervisor/router.js';
import { trace_flush_interval_ms, TraceWriter } from '../../src/lib/supervisor/trace.js';
import { createRng } from '../../src/lib/util/prng.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const scratchDir = tempDirs('dslab-router-');

const nodes = ['n1', 'n2', 'n3'];
const line = (src: string, dest: string, n: number) => JSON.stringify({ src, dest, body: { type: 'ping', msg_id: n } });

describe('router', () => {
  it('delivers, drops across a partition, counts per directed link and traces every fate', async () => {
    const file = path.join(scratchDir(), 'trace.jsonl');
    const trace = new TraceWriter(file);
    const delivered: string[] = [];
    const router = new Router(nodes, createRng(1), trace, (dest, text) => delivered.push(`${dest}:${JSON.parse(text).body.msg_id}`));
    router.route('n1', 'n2', line('n1', 'n2', 1), 10);
    router.faults.setPartition([['n1'], ['n2', 'n3']]);
    router.route('n1', 'n2', line('n1', 'n2', 2), 11);
    router.route('n2', 'n3', line('n2', 'n3', 3), 12);
    expect(delivered).toEqual(['n2:1', 'n3:3']);
    const counters = Object.fromEntries(router.linkCounters().map((row) => [row.link, row.counters]));
    expect(counters['n1->n2']).toEqual({ delivered: 1, dropped: 1, duplicated: 0 });
    expect(counters['n2->n3']).toEqual({ delivered: 1, dropped: 0, duplicated: 0 });
    expect(counters['n2->n1']).toEqual({ delivered: 0, dropped: 0, duplicated: 0 });
    await trace.close();
    const records = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records.map((r) => [r.t, r.fate, r.msg.body.msg_id])).toEqual([
      [10, 'delivered', 1],
      [11, 'dropped:partition', 2],
      [12, 'delivered', 3],
    ]);
  });

  it('remembers when each node last received a message from each other one, at delivery and not at sending', async () => {
    const trace = new TraceWriter(path.join(scratchDir(), 'trace.jsonl'));
    const router = new Router(nodes, createRng(1), trace, () => undefined);
    router.route('n1', 'n2', line('n1', 'n2', 1), 1_000);
    router.faults.setPartition([['n1'], ['n2', 'n3']]);
    router.route('n1', 'n2', line('n1', 'n2', 2), 2_000);
    router.route('n3', 'n2', line('n3', 'n2', 3), 2_000);
    expect(router.lastDeliveries()).toEqual({ n1: {}, n2: { n1: 1_000, n3: 2_000 }, n3: {} });
    router.faults.heal();
    router.faults.setLinkFaults({ delay_ms: 30 });
    const sentAt = Date.now();
    router.route('n2', 'n3', line('n2', 'n3', 4), sentAt);
    expect(router.lastDeliveries().n3).toEqual({});
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(router.lastDeliveries().n3!.n2).toBeGreaterThanOrEqual(sentAt + 25);
    router.stop();
    await trace.close();
  });

  it('delivers delayed messages later, and duplicates when told to', async () => {
    const trace = new TraceWriter(path.join(scratchDir(), 'trace.jsonl'));
    const delivered: number[] = [];
    const router = new Router(nodes, createRng(1), trace, (_dest, text) => delivered.push(JSON.parse(text).body.msg_id));
    router.faults.setLinkFaults({ delay_ms: 30 });
    router.route('n1', 'n2', line('n1', 'n2', 1), 0);
    expect(delivered).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(delivered).toEqual([1]);
    router.faults.heal();
    router.faults.setLinkFaults({ duplicate: 1 });
    router.route('n1', 'n3', line('n1', 'n3', 2), 0);
    expect(delivered).toEqual([1, 2, 2]);
    expect(router.linkCounters().find((r) => r.link === 'n1->n3')!.counters.duplicated).toBe(1);
    router.stop();
    await trace.close();
  });

  it('routes to and from services like nodes, and lists service links only once they carry traffic', async () => {
    const trace = new TraceWriter(path.join(scratchDir(), 'trace.jsonl'));
    const delivered: string[] = [];
    const router = new Router(nodes, createRng(1), trace, (dest, text) => delivered.push(`${dest}:${JSON.parse(text).body.msg_id}`), ['lin-kv']);
    expect(router.isNode('lin-kv')).toBe(false);
    expect(router.isNode('n1')).toBe(true);
    expect(router.linkCounters().map((r) => r.link)).toEqual(['n1->n2', 'n1->n3', 'n2->n1', 'n2->n3', 'n3->n1', 'n3->n2']);
    router.route('n1', 'lin-kv', line('n1', 'lin-kv', 1), 1_000);
    router.route('lin-kv', 'n1', line('lin-kv', 'n1', 2), 1_001);
    router.faults.setPartition([['n1'], ['n2', 'n3']], 1);
    router.route('n1', 'lin-kv', line('n1', 'lin-kv', 3), 1_002);
    router.route('n2', 'lin-kv', line('n2', 'lin-kv', 4), 1_003);
    expect(delivered).toEqual(['lin-kv:1', 'n1:2', 'lin-kv:4']);
    const counters = Object.fromEntries(router.linkCounters().map((row) => [row.link, row.counters]));
    expect(counters['n1->lin-kv']).toEqual({ delivered: 1, dropped: 1, duplicated: 0 });
    expect(counters['lin-kv->n1']).toEqual({ delivered: 1, dropped: 0, duplicated: 0 });
    expect(counters['n2->lin-kv']).toEqual({ delivered: 1, dropped: 0, duplicated: 0 });
    expect(counters['lin-kv->n3']).toBeUndefined();
    // Heard-from is kept for nodes; a service can be who a node heard from.
    expect(router.lastDeliveries()).toEqual({ n1: { 'lin-kv': 1_001 }, n2: {}, n3: {} });
    await trace.close();
  });

  it('routes client links like any link: counted once they carry a message, traced, cut when a fault names the client', async () => {
    const file = path.join(scratchDir(), 'trace.jsonl');
    const trace = new TraceWriter(file);
    const delivered: string[] = [];
    const router = new Router(nodes, createRng(1), trace, (dest, text) => {
      delivered.push(`${dest}:${JSON.parse(text).body.msg_id}`);
      return dest !== 'n3'; // n3 is not reading its input
    });
    expect(router.linkCounters().some((row) => row.link.includes('c'))).toBe(false);
    expect(router.route('c1', 'n1', line('c1', 'n1', 1), 10)).toBe(true);
    expect(router.route('n1', 'c1', line('n1', 'c1', 2), 11)).toBe(true);
    expect(router.route('c1', 'n3', line('c1', 'n3', 3), 12)).toBe(false);
    router.faults.setPartition([['c1'], nodes]);
    router.route('c1', 'n1', line('c1', 'n1', 4), 13);
    router.route('n2', 'c1', line('n2', 'c1', 5), 14);
    expect(delivered).toEqual(['n1:1', 'c1:2', 'n3:3']);
    const counters = Object.fromEntries(router.linkCounters().map((row) => [row.link, row.counters]));
    expect(counters['c1->n1']).toEqual({ delivered: 1, dropped: 1, duplicated: 0 });
    expect(counters['n1->c1']).toEqual({ delivered: 1, dropped: 0, duplicated: 0 });
    expect(counters['n2->c1']).toEqual({ delivered: 0, dropped: 1, duplicated: 0 });
    expect(counters['c1->n2']).toBeUndefined();
    // Clients have no place in the nodes' heard-from table.
    expect(Object.keys(router.lastDeliveries().n1!)).toEqual([]);
    await trace.close();
    const records = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records.map((r) => [r.fate, r.msg.src, r.msg.dest])).toEqual([
      ['delivered', 'c1', 'n1'],
      ['delivered', 'n1', 'c1'],
      ['delivered', 'c1', 'n3'],
      ['dropped:partition', 'c1', 'n1'],
      ['dropped:partition', 'n2', 'c1'],
    ]);
  });

  it("routes and traces the supervisor's own client, but lists none of its links (init is no user's traffic)", async () => {
    const file = path.join(scratchDir(), 'trace.jsonl');
    const trace = new TraceWriter(file);
    const delivered: string[] = [];
    const router = new Router(nodes, createRng(1), trace, (dest, text) => void delivered.push(`${dest}:${JSON.parse(text).body.msg_id}`), [], ['c0']);
    router.route('c0', 'n1', line('c0', 'n1', 1), 10);
    router.route('n1', 'c0', line('n1', 'c0', 2), 11);
    router.route('c1', 'n1', line('c1', 'n1', 3), 12);
    expect(delivered).toEqual(['n1:1', 'c0:2', 'n1:3']);
    expect(router.linkCounters().map((row) => row.link).filter((link) => link.includes('c'))).toEqual(['c1->n1']);
    await trace.close();
    expect(readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l).msg.src)).toEqual(['c0', 'n1', 'c1']);
  });

  it('hands the envelope a sender already parsed to the endpoint with the line, on every copy, delayed or not', async () => {
    const trace = new TraceWriter(path.join(scratchDir(), 'trace.jsonl'));
    const handed: { dest: string; same: boolean | null }[] = [];
    const text = line('n1', 'c1', 7);
    const envelope = JSON.parse(text);
    const router = new Router(nodes, createRng(1), trace, (dest, _line, _src, parsed) => void handed.push({ dest, same: parsed === undefined ? null : parsed === envelope }));
    router.route('n1', 'c1', text, 10, envelope);
    router.route('n1', 'n2', line('n1', 'n2', 8), 11);
    router.faults.setLinkFaults({ duplicate: 1, delay_ms: 5 });
    router.route('n1', 'n3', text, 12, envelope);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(handed).toEqual([{ dest: 'c1', same: true }, { dest: 'n2', same: null }, { dest: 'n3', same: true }, { dest: 'n3', same: true }]);
    await trace.close();
  });
});

describe('closed-connection notices', () => {
  const notice = (peer: string, closed: string) => JSON.stringify({ src: 'dslab', dest: peer, body: { type: 'dslab_connection_closed', peer: closed } });

  it('reach the peer at once, after the link delay when there is one, never across a partition, and are traced but not counted', async () => {
    const file = path.join(scratchDir(), 'trace.jsonl');
    const trace = new TraceWriter(file);
    const delivered: string[] = [];
    const router = new Router(nodes, createRng(1), trace, (dest, text, src) => delivered.push(`${src}>${dest}:${JSON.parse(text).body.peer}`) > 0);
    // Loss does not drop a notice: TCP sends a FIN again until it gets through.
    router.faults.setLinkFaults({ loss: 1 });
    expect(router.closeNotice('n1', 'n2', notice('n2', 'n1'), 10)).toBe(true);
    expect(delivered).toEqual(['dslab>n2:n1']);
    router.faults.heal();
    router.faults.setPartition([['n1'], ['n2', 'n3']]);
    expect(router.closeNotice('n1', 'n3', notice('n3', 'n1'), 11)).toBe(false);
    router.faults.heal();
    router.faults.setLinkFaults({ delay_ms: 30 }, ['n2', 'n3']);
    expect(router.closeNotice('n2', 'n3', notice('n3', 'n2'), 12)).toBe(true);
    expect(delivered).toEqual(['dslab>n2:n1']);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(delivered).toEqual(['dslab>n2:n1', 'dslab>n3:n2']);
    expect(router.linkCounters().every((row) => row.counters.delivered === 0 && row.counters.dropped === 0)).toBe(true);
    router.stop();
    await trace.close();
    const records = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records.map((r) => [r.t, r.fate, r.msg.dest, r.msg.body.peer])).toEqual([
      [10, 'notice', 'n2', 'n1'],
      [11, 'dropped:partition', 'n3', 'n1'],
      [12, 'notice', 'n3', 'n2'],
    ]);
  });
});

describe('router link rates', () => {
  it('names the busiest links of an interval, clients taken together and the supervisor\'s own left out, with how many carried messages', async () => {
    const trace = new TraceWriter(path.join(scratchDir(), 'trace.jsonl'));
    const router = new Router(nodes, createRng(1), trace, () => true, ['lin-kv'], ['dslab-init']);
    const send = (src: string, dest: string, times: number) => {
      for (let i = 0; i < times; i++) router.route(src, dest, line(src, dest, i), 1_000);
    };
    send('n1', 'n2', 3);
    send('n2', 'lin-kv', 5);
    send('c1', 'n3', 2);
    send('c2', 'n3', 2);
    send('n3', 'c1', 1);
    send('dslab-init', 'n1', 9);
    const first = router.deliveredSnapshot();
    expect(router.busiestLinks(null, first, 1, 8)).toEqual({
      links: [
        { src: 'n2', dest: 'lin-kv', per_s: 5 },
        { src: null, dest: 'n3', per_s: 4 },
        { src: 'n1', dest: 'n2', per_s: 3 },
        { src: 'n3', dest: null, per_s: 1 },
      ],
      active: 4,
    });
    // The next interval counts only what came after the first snapshot; a dropped message is no delivery.
    send('n3', 'n1', 4);
    send('n1', 'n2', 2);
    router.faults.setPartition([['n1'], ['n2', 'n3', 'lin-kv']]);
    send('n1', 'n2', 6);
    const second = router.deliveredSnapshot();
    expect(router.busiestLinks(first, second, 2, 1)).toEqual({ links: [{ src: 'n3', dest: 'n1', per_s: 2 }], active: 2 });
    expect(router.busiestLinks(second, router.deliveredSnapshot(), 1, 8)).toEqual({ links: [], active: 0 });
    await trace.close();
  });
});

describe('node connections', () => {
  it('connect two nodes by a delivered message either way, and close all of a node\'s at once when its process exits', () => {
    const c = new NodeConnections();
    c.opened('n1', 'n2');
    c.opened('n3', 'n1');
    c.opened('n2', 'n2');
    expect(c.has('n2', 'n1')).toBe(true);
    expect(c.has('n2', 'n2')).toBe(false);
    expect(c.has('n2', 'n3')).toBe(false);
    expect(c.closeAll('n1')).toEqual(['n2', 'n3']);
    expect(c.has('n2', 'n1')).toBe(false);
    expect(c.has('n3', 'n1')).toBe(false);
    // A restarted process starts with no connections: nothing to close until it talks again.
    expect(c.closeAll('n1')).toEqual([]);
    c.opened('n2', 'n3');
    expect(c.closeAll('n3')).toEqual(['n2']);
    expect(c.closeAll('n2')).toEqual([]);
  });
});

describe('trace writer', () => {
  it('writes records together, in order, within its flush interval, and close writes what is still held', async () => {
    const file = path.join(scratchDir(), 'trace.jsonl');
    const trace = new TraceWriter(file);
    for (let i = 1; i <= 3; i++) trace.record(i, 'delivered', line('n1', 'n2', i));
    await new Promise((resolve) => setTimeout(resolve, trace_flush_interval_ms * 5));
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(3);
    trace.record(4, 'dropped:loss', line('n2', 'n1', 4));
    await trace.close();
    const records = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records.map((r) => [r.t, r.fate, r.msg.body.msg_id])).toEqual([
      [1, 'delivered', 1],
      [2, 'delivered', 2],
      [3, 'delivered', 3],
      [4, 'dropped:loss', 4],
    ]);
    expect(trace.bytes).toBe(readFileSync(file, 'utf8').length);
  });
});
