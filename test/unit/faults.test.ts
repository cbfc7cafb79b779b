import { describe, expect, it } from 'vitest';
import { FaultModel, linkKey, reorder_hold_ms_max } from '../../src/lib/faults/fault-model.js';
import { nemesisSchedule } from '../../src/lib/faults/nemesis.js';
import { checkPartitionGroups, isolate, parseLink, parseLinks, parsePartitionSpec, randomHalves, splitPartitionArgs } from '../../src/lib/faults/partition-spec.js';
import { UserError } from '../../src/lib/util/errors.js';
import { createRng } from '../../src/lib/util/prng.js';

const nodes = ['n1', 'n2', 'n3', 'n4', 'n5'];
const fixed = (value: number) => () => value;

describe('partition spec parser', () => {
  it('parses explicit groups', () => {
    expect(parsePartitionSpec(['n1,n2', 'n3,n4,n5'], nodes)).toEqual([['n1', 'n2'], ['n3', 'n4', 'n5']]);
  });

  it('puts nodes named in no group into one more group', () => {
    expect(parsePartitionSpec(['n1'], nodes)).toEqual([['n1'], ['n2', 'n3', 'n4', 'n5']]);
    expect(parsePartitionSpec(['n1', 'n2'], nodes)).toEqual([['n1'], ['n2'], ['n3', 'n4', 'n5']]);
  });

  it.each([
    [['n1,n2', 'n2,n3'], /appears in more than one/],
    [['n1,n9'], /unknown node "n9"/],
    [['n1,,n2'], /malformed partition group/],
    [['n1,n2,n3,n4,n5'], /at least two groups/],
    [[], /at least one group/],
  ])('rejects %j', (args, message) => {
    expect(() => parsePartitionSpec(args, nodes)).toThrow(UserError);
    expect(() => parsePartitionSpec(args, nodes)).toThrow(message);
  });

  it('checks groups that arrive as lists (the control API) exactly as the words they came from', () => {
    expect(splitPartitionArgs(['n1,n2', 'n3'])).toEqual([['n1', 'n2'], ['n3']]);
    expect(checkPartitionGroups([['n1', ' n2'], ['n3']], nodes)).toEqual([['n1', 'n2'], ['n3'], ['n4', 'n5']]);
    expect(() => checkPartitionGroups(splitPartitionArgs(['n1,,n2']), nodes)).toThrow('malformed partition group "n1,,n2"');
    expect(() => checkPartitionGroups([[]], nodes)).toThrow(/malformed partition group/);
  });

  it('splits into random halves that cover every node once, reproducibly per seed', () => {
    const a = randomHalves(nodes, createRng(5));
    expect(a.map((g) => g.length)).toEqual([2, 3]);
    expect(a.flat().sort()).toEqual(nodes);
    expect(randomHalves(nodes, createRng(5))).toEqual(a);
    const seen = new Set(Array.from({ length: 20 }, (_, seed) => JSON.stringify(randomHalves(nodes, createRng(seed)))));
    expect(seen.size).toBeGreaterThan(3);
  });

  it('isolates one node', () => {
    expect(isolate('n3', nodes)).toEqual([['n3'], ['n1', 'n2', 'n4', 'n5']]);
    expect(() => isolate('n7', nodes)).toThrow(/unknown node "n7"/);
  });

  it('parses links', () => {
    expect(parseLink('n2-n1', nodes)).toEqual(['n2', 'n1']);
    expect(() => parseLink('n1', nodes)).toThrow(/malformed link/);
    expect(() => parseLink('n1-n1', nodes)).toThrow(/two different nodes/);
    expect(() => parseLink('n1-n8', nodes)).toThrow(/unknown node "n8"/);
  });
});

describe('fault specs naming a service', () => {
  const services = ['lin-kv', 'seq-kv', 'lww-kv', 'lin-tso'];

  it('isolate a service, or place it on one side of a partition', () => {
    expect(isolate('lin-kv', nodes, services)).toEqual([['lin-kv'], nodes]);
    expect(() => isolate('lin-kv', nodes)).toThrow(/unknown node "lin-kv"/);
    expect(checkPartitionGroups([['n1', 'lin-kv'], ['n2']], nodes, undefined, services)).toEqual([['n1', 'lin-kv'], ['n2'], ['n3', 'n4', 'n5']]);
    expect(() => checkPartitionGroups([['lin-kv'], ['lin-kv', 'n1']], nodes, undefined, services)).toThrow('service lin-kv appears in more than one partition group');
    // A service alone on a side still leaves every node on the other: the partition places all nodes.
    const model = new FaultModel(nodes, services);
    model.setPartition(isolate('lin-kv', nodes, services), 1);
    expect(model.isCut('n1', 'lin-kv')).toBe(true);
    expect(model.isCut('n1', 'seq-kv')).toBe(false);
    expect(model.isCut('n1', 'n2')).toBe(false);
  });

  it('split a link at the dash that has a known name on each side, though service names hold dashes', () => {
    expect(parseLinks('n1-lin-kv', nodes, undefined, services)).toEqual([['n1', 'lin-kv']]);
    expect(parseLinks('lww-kv-n3', nodes, undefined, services)).toEqual([['lww-kv', 'n3']]);
    expect(parseLinks('c4-lin-tso', nodes, undefined, services)).toEqual([['c4', 'lin-tso']]);
    expect(() => parseLinks('n1-lin-kvv', nodes, undefined, services)).toThrow(/malformed link "n1-lin-kvv"/);
    expect(() => parseLinks('n1-n9', nodes, undefined, services)).toThrow('unknown node "n9" in link "n1-n9" (nodes: n1, n2, n3, n4, n5; services: lin-kv, seq-kv, lww-kv, lin-tso)');
  });
});

describe('fault model', () => {
  it('delivers everything at once when healthy', () => {
    const model = new FaultModel(nodes);
    expect(model.decide('n1', 'n2', fixed(0))).toEqual({ delivered: true, delays_ms: [0] });
    expect(model.isHealthy()).toBe(true);
  });

  it('drops across a partition and delivers within a side, in both directions', () => {
    const model = new FaultModel(nodes);
    model.setPartition([['n1', 'n2'], ['n3', 'n4', 'n5']]);
    expect(model.decide('n1', 'n3', fixed(0.5))).toEqual({ delivered: false, reason: 'partition' });
    expect(model.decide('n5', 'n2', fixed(0.5))).toEqual({ delivered: false, reason: 'partition' });
    expect(model.decide('n1', 'n2', fixed(0.5)).delivered).toBe(true);
    expect(model.decide('n4', 'n3', fixed(0.5)).delivered).toBe(true);
    expect(model.describe()).toEqual(['partition {n1,n2} | {n3,n4,n5}']);
  });

  it('refuses a partition that misses or repeats a node (an internal bug)', () => {
    const model = new FaultModel(nodes);
    expect(() => model.setPartition([['n1'], ['n2']])).toThrow(/every node/);
    expect(() => model.setPartition([['n1', 'n2'], ['n2', 'n3', 'n4', 'n5']])).toThrow(/twice/);
  });

  it('drops with the loss probability', () => {
    const model = new FaultModel(nodes);
    model.setLinkFaults({ loss: 0.2 });
    expect(model.decide('n1', 'n2', fixed(0.1))).toEqual({ delivered: false, reason: 'loss' });
    expect(model.decide('n1', 'n2', fixed(0.3)).delivered).toBe(true);
    const rng = createRng(1);
    let dropped = 0;
    for (let i = 0; i < 10_000; i++) if (!model.decide('n1', 'n2', rng.next).delivered) dropped++;
    expect(dropped / 10_000).toBeGreaterThan(0.17);
    expect(dropped / 10_000).toBeLessThan(0.23);
  });

  it('duplicates, delays with jitter, and holds back reordered messages', () => {
    const model = new FaultModel(nodes);
    model.setLinkFaults({ duplicate: 0.5 });
    expect(model.decide('n1', 'n2', fixed(0.4))).toEqual({ delivered: true, delays_ms: [0, 0] });
    model.heal();
    model.setLinkFaults({ delay_ms: 100, jitter_ms: 50 });
    const rng = createRng(2);
    const delays = Array.from({ length: 1000 }, () => (model.decide('n1', 'n2', rng.next) as { delays_ms: number[] }).delays_ms[0]!);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(50);
    expect(Math.max(...delays)).toBeLessThanOrEqual(150);
    expect(new Set(delays).size).toBeGreaterThan(50);
    model.heal();
    model.setLinkFaults({ reorder: 1 });
    const held = (model.decide('n1', 'n2', fixed(0.5)) as { delays_ms: number[] }).delays_ms[0]!;
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(reorder_hold_ms_max + 1);
  });

  it('applies per-link faults to that link only, in both directions, on top of global ones', () => {
    const model = new FaultModel(nodes);
    model.setLinkFaults({ loss: 1 }, ['n1', 'n2']);
    model.setLinkFaults({ delay_ms: 10 });
    expect(model.decide('n2', 'n1', fixed(0.5))).toEqual({ delivered: false, reason: 'loss' });
    expect(model.decide('n1', 'n3', fixed(0.5))).toEqual({ delivered: true, delays_ms: [10] });
    expect(model.faultsOn('n1', 'n2')).toMatchObject({ loss: 1, delay_ms: 10 });
    expect(linkKey('n2', 'n1')).toBe('n1-n2');
    expect(model.describe()).toEqual(['delay 10ms', 'loss 100% on n1-n2']);
    model.heal();
    expect(model.isHealthy()).toBe(true);
    expect(model.decide('n2', 'n1', fixed(0.5)).delivered).toBe(true);
  });

  it('decides the fate of a stream chunk from the same partition, loss and delay, and never duplicates or reorders it', () => {
    const model = new FaultModel(nodes);
    expect(model.decideStream('n1', 'n2', fixed(0.5))).toEqual({ action: 'forward', delay_ms: 0 });
    model.setPartition([['n1'], ['n2', 'n3', 'n4', 'n5']]);
    expect(model.decideStream('n2', 'n1', fixed(0.5))).toEqual({ action: 'hold' });
    expect(model.decideStream('n2', 'n3', fixed(0.5))).toEqual({ action: 'forward', delay_ms: 0 });
    model.heal();
    model.setLinkFaults({ loss: 0.2, delay_ms: 100, jitter_ms: 50, duplicate: 1, reorder: 1 }, ['n1', 'n2']);
    expect(model.decideStream('n1', 'n2', fixed(0.1))).toEqual({ action: 'reset' });
    // 0.75 passes loss; jitter then adds (0.75 * 2 - 1) * 50 = +25 ms; duplicate and reorder are ignored.
    expect(model.decideStream('n2', 'n1', fixed(0.75))).toEqual({ action: 'forward', delay_ms: 125 });
    expect(model.decideStream('n1', 'n3', fixed(0.1))).toEqual({ action: 'forward', delay_ms: 0 });
  });
});

describe('fault model with services', () => {
  const services = ['lin-kv', 'lin-tso'];

  it('cuts an isolated node off from the services when they join the other side', () => {
    const model = new FaultModel(nodes, services);
    model.setPartition([['n1'], ['n2', 'n3', 'n4', 'n5']], 1);
    expect(model.decide('n1', 'lin-kv', fixed(0))).toEqual({ delivered: false, reason: 'partition' });
    expect(model.decide('lin-tso', 'n1', fixed(0))).toEqual({ delivered: false, reason: 'partition' });
    expect(model.isCut('n2', 'lin-kv')).toBe(false);
    expect(model.isCut('lin-kv', 'lin-tso')).toBe(false);
    // The description stays in nodes, as before services existed.
    expect(model.describe()).toEqual(['partition {n1} | {n2,n3,n4,n5}']);
    model.heal();
    expect(model.isCut('n1', 'lin-kv')).toBe(false);
  });

  it('leaves services a partition does not place reachable from every side, and cuts those it places', () => {
    const model = new FaultModel(nodes, services);
    model.setPartition([['n1', 'n2'], ['n3', 'n4', 'n5']]);
    for (const node of nodes) expect(model.isCut(node, 'lin-kv')).toBe(false);
    model.setPartition([['n1', 'lin-kv'], ['n2', 'n3', 'n4', 'n5']]);
    expect(model.isCut('n1', 'lin-kv')).toBe(false);
    expect(model.isCut('n2', 'lin-kv')).toBe(true);
    expect(model.isCut('n2', 'lin-tso')).toBe(false);
  });

  it('applies link faults on every link to service links too', () => {
    const model = new FaultModel(nodes, services);
    model.setLinkFaults({ loss: 0.5 });
    expect(model.decide('n1', 'lin-kv', fixed(0.1))).toEqual({ delivered: false, reason: 'loss' });
    expect(model.decide('lin-kv', 'n1', fixed(0.9))).toEqual({ delivered: true, delays_ms: [0] });
  });

  it('still refuses a partition that misses a node, or names an unknown endpoint or a missing group for the services', () => {
    const model = new FaultModel(nodes, services);
    expect(() => model.setPartition([['n1', 'lin-kv'], ['n2', 'n3', 'n4']])).toThrow(/every node/);
    expect(() => model.setPartition([['n1', 'seq-kv'], ['n2', 'n3', 'n4', 'n5']])).toThrow(/unknown/);
    expect(() => model.setPartition([['n1'], ['n2', 'n3', 'n4', 'n5']], 2)).toThrow(/services join/);
  });
});

describe('nemesis schedule', () => {
  it('is the same for the same seed and different for another', () => {
    const a = nemesisSchedule(7, nodes, 2000, 30_000);
    expect(nemesisSchedule(7, nodes, 2000, 30_000)).toEqual(a);
    expect(nemesisSchedule(8, nodes, 2000, 30_000)).not.toEqual(a);
  });

  it('applies one fault per interval, pairs each with its undo, and ends healed', () => {
    const steps = nemesisSchedule(3, nodes, 1000, 10_000);
    expect(steps).toHaveLength(11);
    expect(steps.map((s) => s.at_ms)).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000]);
    for (const step of steps.slice(0, -1)) {
      expect(step.apply).not.toBeNull();
      const apply = step.apply!;
      if (apply.type === 'kill') expect(step.undo).toEqual([{ type: 'restart', node: apply.node }]);
      else if (apply.type === 'pause') expect(step.undo).toEqual([{ type: 'resume', node: apply.node }]);
      else expect(step.undo).toEqual([{ type: 'heal' }]);
    }
    expect(steps.at(-1)).toEqual({ at_ms: 10_000, apply: null, undo: [{ type: 'heal' }] });
  });

  it('names only cluster nodes and draws every kind of fault over a long run', () => {
    const steps = nemesisSchedule(11, nodes, 100, 20_000);
    const kinds = new Set(steps.flatMap((s) => (s.apply ? [s.apply.type === 'partition' ? (s.apply.isolate ? 'isolate' : 'partition') : s.apply.type] : [])));
    expect(kinds).toEqual(new Set(['partition', 'isolate', 'kill', 'pause', 'link_faults']));
    for (const step of steps) {
      const apply = step.apply as { node?: string; isolate?: string } | null;
      if (apply?.node) expect(nodes).toContain(apply.node);
      if (apply?.isolate) expect(nodes).toContain(apply.isolate);
    }
  });
});

describe('client endpoints in faults', () => {
  const nodes = ['n1', 'n2', 'n3'];
  const always = () => 0;

  it('leave client links alone under a node partition and under faults on every link', () => {
    const model = new FaultModel(nodes);
    model.setPartition([['n1'], ['n2', 'n3']]);
    model.setLinkFaults({ loss: 1 });
    expect(model.decide('c1', 'n1', always)).toEqual({ delivered: true, delays_ms: [0] });
    expect(model.decide('n3', 'c1', always)).toEqual({ delivered: true, delays_ms: [0] });
    expect(model.decide('n1', 'n2', always)).toEqual({ delivered: false, reason: 'partition' });
  });

  it('cut an isolated client off from every node, both ways, and heal restores it', () => {
    const model = new FaultModel(nodes);
    model.setPartition(isolate('c3', nodes));
    for (const node of nodes) {
      expect(model.decide('c3', node, always)).toEqual({ delivered: false, reason: 'partition' });
      expect(model.decide(node, 'c3', always)).toEqual({ delivered: false, reason: 'partition' });
    }
    // Other clients and node-to-node links are untouched.
    expect(model.decide('c1', 'n1', always).delivered).toBe(true);
    expect(model.decide('n1', 'n2', always).delivered).toBe(true);
    model.heal();
    expect(model.decide('c3', 'n1', always).delivered).toBe(true);
  });

  it('place a client on one side of a node partition', () => {
    const groups = parsePartitionSpec(['n1,c2'], nodes);
    expect(groups).toEqual([['n1', 'c2'], ['n2', 'n3']]);
    const model = new FaultModel(nodes);
    model.setPartition(groups);
    expect(model.decide('c2', 'n1', always).delivered).toBe(true);
    expect(model.decide('c2', 'n2', always)).toEqual({ delivered: false, reason: 'partition' });
    expect(() => parsePartitionSpec(['n1,c2', 'c2'], nodes)).toThrow('client c2 appears in more than one partition group');
  });

  it('take link faults on a link that names the client, and only there', () => {
    expect(parseLink('c1-n2', nodes)).toEqual(['c1', 'n2']);
    const model = new FaultModel(nodes);
    model.setLinkFaults({ loss: 1 }, parseLink('c1-n2', nodes));
    expect(model.decide('c1', 'n2', always)).toEqual({ delivered: false, reason: 'loss' });
    expect(model.decide('n2', 'c1', always)).toEqual({ delivered: false, reason: 'loss' });
    expect(model.decide('c1', 'n1', always).delivered).toBe(true);
    expect(model.decide('c2', 'n2', always).delivered).toBe(true);
  });

  it('refuse a link between two clients and any fault on the supervisor client c0', () => {
    expect(() => parseLink('c1-c2', nodes)).toThrow(UserError);
    expect(() => parseLink('c1-c2', nodes)).toThrow(/joins a client to a node/);
    expect(() => isolate('c0', nodes)).toThrow(/supervisor's own client/);
    expect(() => parsePartitionSpec(['c0'], nodes)).toThrow(/supervisor's own client/);
  });
});
