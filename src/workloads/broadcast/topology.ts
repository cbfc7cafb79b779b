/**
 * The neighbour lists broadcast's `topology` message hands each node.
 *
 * Only Maelstrom's default, grid, is here for now; the full set (line, tree2/3/4,
 * total) is src/maelstrom/topology.ts's, and this file gives way to it.
 */

export const topology_kinds = ['grid'] as const;
export type TopologyKind = (typeof topology_kinds)[number];
/** What Maelstrom's broadcast uses when --topology is not given. */
export const topology_kind_default: TopologyKind = 'grid';

/** Node id → its neighbours' ids. */
export type Topology = Record<string, string[]>;

/**
 * The nodes laid row by row on a square of side ⌈√n⌉ (the last row may be
 * short); each node's neighbours are the ones below, above, right and left of
 * it, in that order, where they exist.
 */
export function gridTopology(nodes: readonly string[]): Topology {
  const side = Math.ceil(Math.sqrt(nodes.length));
  const at = (row: number, column: number): string | undefined => (row >= 0 && column >= 0 && column < side ? nodes[row * side + column] : undefined);
  const topology: Topology = {};
  nodes.forEach((node, index) => {
    const row = Math.floor(index / side);
    const column = index % side;
    topology[node] = [at(row + 1, column), at(row - 1, column), at(row, column + 1), at(row, column - 1)].filter((n): n is string => n !== undefined);
  });
  return topology;
}

export function buildTopology(kind: TopologyKind, nodes: readonly string[]): Topology {
  switch (kind) {
    case 'grid':
      return gridTopology(nodes);
  }
}
