/**
 * Maelstrom's `--nemesis partition`: each time a partition starts it picks,
 * at random, one of Jepsen's four shapes over the nodes (never clients or
 * services, which stay reachable from everywhere), and the next nemesis step
 * heals it. Pure: randomness comes from the caller's Rng.
 */
import type { Rng } from '../lib/util/prng.js';
import { assert } from '../lib/util/errors.js';

/** Jepsen's partition shapes that Maelstrom chooses among (its nodes have no primaries). */
export const partition_specs = ['one', 'minority-third', 'majority', 'majorities-ring'] as const;
export type PartitionSpec = (typeof partition_specs)[number];

/** Node → the nodes whose messages it drops. May be one-way (majorities ring of 3). */
export type Grudge = Record<string, string[]>;

export type MaelstromPartition =
  /** Disjoint groups with no messages between them (a "complete grudge"); one group is no cut at all. */
  | { spec: 'one' | 'minority-third' | 'majority'; groups: string[][] }
  /** Every node still sees a majority, but no two see the same one. */
  | { spec: 'majorities-ring'; drops: Grudge };

/** Above this many nodes the ring is built by the stochastic method, as Jepsen does. */
export const perfect_ring_nodes_max = 5;

/** The smallest number strictly greater than half. */
export function majority(count: number): number {
  return Math.floor(count / 2) + 1;
}

/** The largest number strictly less than a third. */
export function minorityThird(count: number): number {
  return Math.max(0, Math.floor((count - 1) / 3));
}

export function choosePartition(nodes: readonly string[], rng: Rng): MaelstromPartition {
  return partitionFor(rng.pick(partition_specs), nodes, rng);
}

export function partitionFor(spec: PartitionSpec, nodes: readonly string[], rng: Rng): MaelstromPartition {
  assert(nodes.length > 0, 'a partition needs nodes');
  switch (spec) {
    case 'one': {
      const loner = rng.pick(nodes);
      return { spec, groups: nonEmpty([[loner], nodes.filter((node) => node !== loner)]) };
    }
    case 'majority':
      return { spec, groups: splitShuffled(nodes, Math.floor(nodes.length / 2), rng) };
    case 'minority-third':
      return { spec, groups: splitShuffled(nodes, minorityThird(nodes.length), rng) };
    case 'majorities-ring':
      return { spec, drops: nodes.length <= perfect_ring_nodes_max ? perfectRing(nodes, rng) : stochasticRing(nodes, rng) };
  }
}

/** Shuffled, the first `size` apart from the rest (the smaller side first); each side in list order, for reading. */
function splitShuffled(nodes: readonly string[], size: number, rng: Rng): string[][] {
  const apart = new Set(rng.shuffle(nodes).slice(0, size));
  return nonEmpty([nodes.filter((node) => apart.has(node)), nodes.filter((node) => !apart.has(node))]);
}

function nonEmpty(groups: string[][]): string[][] {
  return groups.filter((group) => group.length > 0);
}

/**
 * Nodes in a random ring; each window of a majority of consecutive nodes
 * belongs to its middle node, which drops everyone outside it. Exact for 4 and
 * 5 nodes; for 3 the drops are one-way, as in Jepsen.
 */
function perfectRing(nodes: readonly string[], rng: Rng): Grudge {
  const ring = rng.shuffle(nodes);
  const size = majority(ring.length);
  const drops: Grudge = {};
  for (let start = 0; start < ring.length; start++) {
    const window = Array.from({ length: size }, (_, offset) => ring[(start + offset) % ring.length]!);
    const middle = window[Math.floor(size / 2)]!;
    drops[middle] = nodes.filter((node) => !window.includes(node));
  }
  return drops;
}

/**
 * Links least-connected nodes to each other (ties broken at random) until
 * every node reaches a majority counting itself; everything not linked is dropped.
 */
function stochasticRing(nodes: readonly string[], rng: Rng): Grudge {
  const size = majority(nodes.length);
  const links = new Map(nodes.map((node) => [node, new Set([node])]));
  for (;;) {
    // Nodes by degree, shuffled within each degree.
    const degrees = [...new Set(nodes.map((node) => links.get(node)!.size))].sort((a, b) => a - b);
    const ordered = degrees.flatMap((degree) => rng.shuffle(nodes.filter((node) => links.get(node)!.size === degree)));
    const a = ordered[0]!;
    if (links.get(a)!.size >= size) break;
    const b = ordered.find((node) => !links.get(a)!.has(node))!;
    links.get(a)!.add(b);
    links.get(b)!.add(a);
  }
  return Object.fromEntries(nodes.map((node) => [node, nodes.filter((other) => !links.get(node)!.has(other))]));
}
