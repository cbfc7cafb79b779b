/**
 * The neighbour maps Maelstrom offers nodes in the `topology` message
 * (`--topology`). Each is built from the node list in its order, the same way
 * Maelstrom builds it, so a node that hardcodes Maelstrom's neighbours (or
 * depends on their order) sees exactly what it would under Maelstrom.
 */

/** Maelstrom's topology names; `tree` is its alias for `tree2`. */
export const topology_kinds = ['line', 'grid', 'tree', 'tree2', 'tree3', 'tree4', 'total'] as const;
export type TopologyKind = (typeof topology_kinds)[number];

/** Node id → its neighbours' ids, in the order Maelstrom lists them. */
export type Topology = Record<string, string[]>;

export function isTopologyKind(name: string): name is TopologyKind {
  return (topology_kinds as readonly string[]).includes(name);
}

export function buildTopology(kind: TopologyKind, nodes: readonly string[]): Topology {
  switch (kind) {
    case 'line':
      return lineTopology(nodes);
    case 'grid':
      return gridTopology(nodes);
    case 'tree':
    case 'tree2':
      return treeTopology(2, nodes);
    case 'tree3':
      return treeTopology(3, nodes);
    case 'tree4':
      return treeTopology(4, nodes);
    case 'total':
      return totalTopology(nodes);
  }
}

/**
 * A chain: the ends have one neighbour, the others [left, right]. Maelstrom
 * gives a single node no entry at all (an empty map), not an empty list; kept,
 * since that is what such a node receives there.
 */
export function lineTopology(nodes: readonly string[]): Topology {
  const topology: Topology = {};
  if (nodes.length < 2) return topology;
  nodes.forEach((node, index) => {
    const neighbours: string[] = [];
    if (index > 0) neighbours.push(nodes[index - 1]!);
    if (index < nodes.length - 1) neighbours.push(nodes[index + 1]!);
    topology[node] = neighbours;
  });
  return topology;
}

/**
 * Nodes filled row by row into a square of side ceil(sqrt(N)); the last row
 * may be short. Neighbours in Maelstrom's order: below, above, right, left.
 */
export function gridTopology(nodes: readonly string[]): Topology {
  const side = Math.ceil(Math.sqrt(nodes.length));
  const at = (row: number, column: number): string | undefined => {
    if (row < 0 || column < 0 || column >= side) return undefined;
    return nodes[row * side + column];
  };
  const topology: Topology = {};
  nodes.forEach((node, index) => {
    const row = Math.floor(index / side);
    const column = index % side;
    topology[node] = [at(row + 1, column), at(row - 1, column), at(row, column + 1), at(row, column - 1)].filter((id): id is string => id !== undefined);
  });
  return topology;
}

/**
 * A tree with `branching` children per node, filled tier by tier (1, b, b², …)
 * in list order: the heap layout, where node k's children are b·k+1 … b·k+b.
 * Neighbours: the parent first (if any), then the children in order.
 */
export function treeTopology(branching: number, nodes: readonly string[]): Topology {
  const topology: Topology = {};
  nodes.forEach((node, index) => {
    const neighbours: string[] = [];
    if (index > 0) neighbours.push(nodes[Math.floor((index - 1) / branching)]!);
    for (let child = branching * index + 1; child <= branching * index + branching && child < nodes.length; child++) neighbours.push(nodes[child]!);
    topology[node] = neighbours;
  });
  return topology;
}

/** Every node is every other node's neighbour, in list order. */
export function totalTopology(nodes: readonly string[]): Topology {
  const topology: Topology = {};
  for (const node of nodes) topology[node] = nodes.filter((other) => other !== node);
  return topology;
}

/** What Maelstrom's broadcast uses when --topology is not given. */
export const topology_kind_default: TopologyKind = 'grid';
