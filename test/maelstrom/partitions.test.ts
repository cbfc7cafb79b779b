import { describe, expect, it } from 'vitest';
import { choosePartition, majority, minorityThird, partitionFor, type Grudge, type MaelstromPartition } from '../../src/maelstrom/partitions.js';
import { staggerGapMs } from '../../src/maelstrom/stagger.js';
import { createRng } from '../../src/lib/util/prng.js';

const ids = (count: number): string[] => Array.from({ length: count }, (_, i) => `n${i}`);

function groupsOf(partition: MaelstromPartition): string[][] {
  if (!('groups' in partition)) throw new Error(`expected groups, got ${partition.spec}`);
  return partition.groups;
}
function dropsOf(partition: MaelstromPartition): Grudge {
  if (!('drops' in partition)) throw new Error(`expected drops, got ${partition.spec}`);
  return partition.drops;
}
/** Each node's view: itself and every node it does not drop. */
const sees = (drops: Grudge, nodes: string[], node: string): string[] => nodes.filter((other) => !drops[node]!.includes(other));

describe("Jepsen's sizes", () => {
  it('majority is the smallest number above half; minority-third the largest below a third', () => {
    expect([1, 2, 3, 4, 5, 6].map(majority)).toEqual([1, 2, 2, 3, 3, 4]);
    expect([1, 2, 3, 4, 5, 6, 7, 25].map(minorityThird)).toEqual([0, 0, 0, 1, 1, 1, 2, 8]);
  });
});

describe('partitions into groups', () => {
  it.each([
    ['one', 5, [1, 4]],
    ['one', 2, [1, 1]],
    ['majority', 5, [2, 3]],
    ['majority', 25, [12, 13]],
    ['minority-third', 5, [1, 4]],
    ['minority-third', 25, [8, 17]],
  ] as const)('%s of %i nodes: groups of %j covering every node once', (spec, count, sizes) => {
    for (let seed = 0; seed < 20; seed++) {
      const groups = groupsOf(partitionFor(spec, ids(count), createRng(seed)));
      expect(groups.map((group) => group.length)).toEqual(sizes);
      expect(groups.flat().sort()).toEqual(ids(count).sort());
    }
  });

  it('minority-third of 3 nodes and anything of 1 node cut nothing: one group', () => {
    expect(groupsOf(partitionFor('minority-third', ids(3), createRng(1)))).toEqual([ids(3)]);
    expect(groupsOf(partitionFor('one', ids(1), createRng(1)))).toEqual([['n0']]);
    expect(groupsOf(partitionFor('majority', ids(1), createRng(1)))).toEqual([['n0']]);
  });

  it('the loner and the halves vary with the seed, and a seed replays them', () => {
    const loners = new Set(Array.from({ length: 40 }, (_, seed) => groupsOf(partitionFor('one', ids(5), createRng(seed)))[0]![0]));
    expect(loners.size).toBe(5);
    expect(partitionFor('majority', ids(9), createRng(3))).toEqual(partitionFor('majority', ids(9), createRng(3)));
  });
});

describe('majorities ring', () => {
  it('5 nodes: each drops two, symmetric, each sees a majority and no two see the same one', () => {
    for (let seed = 0; seed < 20; seed++) {
      const nodes = ids(5);
      const drops = dropsOf(partitionFor('majorities-ring', nodes, createRng(seed)));
      const views = new Set<string>();
      for (const node of nodes) {
        expect(drops[node]).toHaveLength(2);
        expect(drops[node]).not.toContain(node);
        for (const other of drops[node]!) expect(drops[other]).toContain(node);
        views.add(sees(drops, nodes, node).join(','));
      }
      expect(views.size).toBe(5);
    }
  });

  it('3 nodes: each drops one, one way only, as in Jepsen', () => {
    const nodes = ids(3);
    const drops = dropsOf(partitionFor('majorities-ring', nodes, createRng(2)));
    for (const node of nodes) {
      expect(drops[node]).toHaveLength(1);
      expect(drops[drops[node]![0]!]).not.toContain(node);
    }
  });

  it.each([6, 7, 10, 25])('%i nodes (stochastic): symmetric, every node sees a majority, some links cut', (count) => {
    const nodes = ids(count);
    for (let seed = 0; seed < 5; seed++) {
      const drops = dropsOf(partitionFor('majorities-ring', nodes, createRng(seed)));
      let cut = 0;
      for (const node of nodes) {
        expect(sees(drops, nodes, node).length).toBeGreaterThanOrEqual(majority(count));
        expect(drops[node]).not.toContain(node);
        for (const other of drops[node]!) expect(drops[other]).toContain(node);
        cut += drops[node]!.length;
      }
      expect(cut).toBeGreaterThan(0);
    }
  });
});

describe('choosing a partition', () => {
  it('picks among the four shapes', () => {
    const specs = new Set(Array.from({ length: 60 }, (_, seed) => choosePartition(ids(5), createRng(seed)).spec));
    expect([...specs].sort()).toEqual(['majorities-ring', 'majority', 'minority-third', 'one']);
  });
});

describe('stagger', () => {
  // The runner's schedule (run.ts): the first event at once, each next one a staggerGapMs later.
  it('gaps uniform in [0, 2·mean), averaging the mean', () => {
    const rng = createRng(11);
    const gaps = Array.from({ length: 2000 }, () => staggerGapMs(100, rng.next));
    expect(gaps.every((gap) => gap >= 0 && gap < 200)).toBe(true);
    const mean = gaps.reduce((sum, gap) => sum + gap, 0) / gaps.length;
    expect(mean).toBeGreaterThan(95);
    expect(mean).toBeLessThan(105);
  });

  it('a zero mean is no gap', () => {
    expect(staggerGapMs(0, Math.random)).toBe(0);
  });
});
