import { describe, expect, it } from 'vitest';
import { buildTopology, isTopologyKind, topology_kinds, type Topology, type TopologyKind } from '../../src/workloads/broadcast/topology.js';

const ids = (count: number, first = 0): string[] => Array.from({ length: count }, (_, i) => `n${first + i}`);

// Worked out by hand from Maelstrom's construction (maelstrom.workload.broadcast), not from this code.
describe('topologies for small clusters, as Maelstrom builds them', () => {
  it('line: ends have one neighbour, the rest [left, right]; one node gets no entry at all', () => {
    expect(buildTopology('line', ids(1))).toEqual({});
    expect(buildTopology('line', ids(2))).toEqual({ n0: ['n1'], n1: ['n0'] });
    expect(buildTopology('line', ids(4))).toEqual({ n0: ['n1'], n1: ['n0', 'n2'], n2: ['n1', 'n3'], n3: ['n2'] });
  });

  it('grid: rows of ceil(sqrt(N)), neighbours listed below, above, right, left', () => {
    expect(buildTopology('grid', ids(1))).toEqual({ n0: [] });
    expect(buildTopology('grid', ids(2))).toEqual({ n0: ['n1'], n1: ['n0'] });
    expect(buildTopology('grid', ids(3))).toEqual({ n0: ['n2', 'n1'], n1: ['n0'], n2: ['n0'] });
    expect(buildTopology('grid', ids(4))).toEqual({ n0: ['n2', 'n1'], n1: ['n3', 'n0'], n2: ['n0', 'n3'], n3: ['n1', 'n2'] });
    expect(buildTopology('grid', ids(5))).toEqual({ n0: ['n3', 'n1'], n1: ['n4', 'n2', 'n0'], n2: ['n1'], n3: ['n0', 'n4'], n4: ['n1', 'n3'] });
    // Side 4, last row short: n6 and n7 have nothing below, n9 nothing to its right.
    expect(buildTopology('grid', ids(10))).toEqual({
      n0: ['n4', 'n1'],
      n1: ['n5', 'n2', 'n0'],
      n2: ['n6', 'n3', 'n1'],
      n3: ['n7', 'n2'],
      n4: ['n8', 'n0', 'n5'],
      n5: ['n9', 'n1', 'n6', 'n4'],
      n6: ['n2', 'n7', 'n5'],
      n7: ['n3', 'n6'],
      n8: ['n4', 'n9'],
      n9: ['n5', 'n8'],
    });
  });

  it('grid of 25 nodes (the efficiency challenge): a 5×5 square', () => {
    const grid = buildTopology('grid', ids(25));
    expect(grid.n0).toEqual(['n5', 'n1']);
    expect(grid.n4).toEqual(['n9', 'n3']);
    expect(grid.n12).toEqual(['n17', 'n7', 'n13', 'n11']);
    expect(grid.n20).toEqual(['n15', 'n21']);
    expect(grid.n24).toEqual(['n19', 'n23']);
  });

  it('trees: heap layout, parent first then children', () => {
    expect(buildTopology('tree2', ids(1))).toEqual({ n0: [] });
    expect(buildTopology('tree2', ids(7))).toEqual({
      n0: ['n1', 'n2'],
      n1: ['n0', 'n3', 'n4'],
      n2: ['n0', 'n5', 'n6'],
      n3: ['n1'],
      n4: ['n1'],
      n5: ['n2'],
      n6: ['n2'],
    });
    expect(buildTopology('tree3', ids(5))).toEqual({ n0: ['n1', 'n2', 'n3'], n1: ['n0', 'n4'], n2: ['n0'], n3: ['n0'], n4: ['n1'] });
    expect(buildTopology('tree4', ids(6))).toEqual({ n0: ['n1', 'n2', 'n3', 'n4'], n1: ['n0', 'n5'], n2: ['n0'], n3: ['n0'], n4: ['n0'], n5: ['n1'] });
    const tree4 = buildTopology('tree4', ids(25));
    expect(tree4.n1).toEqual(['n0', 'n5', 'n6', 'n7', 'n8']);
    expect(tree4.n5).toEqual(['n1', 'n21', 'n22', 'n23', 'n24']);
    expect(tree4.n6).toEqual(['n1']);
  });

  it('tree is tree2', () => {
    expect(buildTopology('tree', ids(12))).toEqual(buildTopology('tree2', ids(12)));
  });

  it('total: every other node, in list order', () => {
    expect(buildTopology('total', ids(3))).toEqual({ n0: ['n1', 'n2'], n1: ['n0', 'n2'], n2: ['n0', 'n1'] });
    expect(buildTopology('total', ids(1))).toEqual({ n0: [] });
  });

  it('follows the list order, not the names: Maelstrom default nodes n1…n5', () => {
    expect(buildTopology('grid', ids(5, 1))).toEqual({ n1: ['n4', 'n2'], n2: ['n5', 'n3', 'n1'], n3: ['n2'], n4: ['n1', 'n5'], n5: ['n2', 'n4'] });
    expect(buildTopology('line', ['b', 'a', 'c'])).toEqual({ b: ['a'], a: ['b', 'c'], c: ['a'] });
  });
});

function reachable(topology: Topology, start: string): Set<string> {
  const seen = new Set([start]);
  const queue = [start];
  while (queue.length > 0) {
    for (const next of topology[queue.shift()!] ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}

const degree_max: Record<TopologyKind, (count: number) => number> = {
  line: () => 2,
  grid: () => 4,
  tree: () => 3,
  tree2: () => 3,
  tree3: () => 4,
  tree4: () => 5,
  total: (count) => count - 1,
};

describe('topology properties for 2 to 30 nodes', () => {
  const cases = topology_kinds.flatMap((kind) => Array.from({ length: 29 }, (_, i) => [kind, i + 2] as const));

  it.each(cases)('%s of %i nodes: every node listed, no self-links, symmetric, connected, bounded degree', (kind, count) => {
    const nodes = ids(count);
    const topology = buildTopology(kind, nodes);
    expect(Object.keys(topology).sort()).toEqual([...nodes].sort());
    let links = 0;
    for (const [node, neighbours] of Object.entries(topology)) {
      expect(neighbours).not.toContain(node);
      expect(new Set(neighbours).size).toBe(neighbours.length);
      expect(neighbours.length).toBeGreaterThan(0);
      expect(neighbours.length).toBeLessThanOrEqual(degree_max[kind](count));
      for (const neighbour of neighbours) expect(topology[neighbour]).toContain(node);
      links += neighbours.length;
    }
    expect(reachable(topology, nodes[0]!).size).toBe(count);
    // Trees and lines are trees: exactly N-1 undirected links; total has all N(N-1)/2.
    if (kind !== 'grid' && kind !== 'total') expect(links / 2).toBe(count - 1);
    if (kind === 'total') expect(links / 2).toBe((count * (count - 1)) / 2);
  });
});

describe('isTopologyKind', () => {
  it('knows Maelstrom names only', () => {
    expect(isTopologyKind('tree3')).toBe(true);
    expect(isTopologyKind('tree5')).toBe(false);
    expect(isTopologyKind('ring')).toBe(false);
  });
});
