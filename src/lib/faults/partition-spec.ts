import { UserError } from '../util/errors.js';
import type { Rng } from '../util/prng.js';

/**
 * Parses partition groups such as ["n1,n2", "n3,n4,n5"]. Nodes named in no
 * group form one more group together, so `partition n1` isolates n1.
 */
export function parsePartitionSpec(groupArgs: readonly string[], nodeIds: readonly string[]): string[][] {
  return checkPartitionGroups(splitPartitionArgs(groupArgs), nodeIds);
}

/** Command-line groups ("n1,n2") as lists of names, unchecked: the control API carries groups as lists. */
export function splitPartitionArgs(groupArgs: readonly string[]): string[][] {
  return groupArgs.map((arg) => arg.split(','));
}

/** Checks groups of node names against the cluster; nodes named in no group form one more group together. */
export function checkPartitionGroups(groupLists: readonly (readonly string[])[], nodeIds: readonly string[]): string[][] {
  if (groupLists.length === 0) throw new UserError('a partition needs at least one group, like "n1,n2 n3,n4,n5"');
  const placed = new Set<string>();
  const groups: string[][] = [];
  for (const list of groupLists) {
    const arg = list.join(',');
    const names = list.map((s) => s.trim());
    if (names.length === 0 || names.some((n) => n === '')) throw new UserError(`malformed partition group "${arg}": expected node ids separated by commas, like n1,n2`);
    for (const name of names) {
      if (!nodeIds.includes(name)) throw new UserError(`unknown node "${name}" in partition group "${arg}" (nodes: ${nodeIds.join(', ')})`);
      if (placed.has(name)) throw new UserError(`node ${name} appears in more than one partition group`);
      placed.add(name);
    }
    groups.push(names);
  }
  const rest = nodeIds.filter((n) => !placed.has(n));
  if (rest.length > 0) groups.push(rest);
  if (groups.length < 2) throw new UserError('a partition needs at least two groups: every node is in one group, so nothing would be cut');
  return groups;
}

/** Splits the nodes into two random halves (the smaller half first). */
export function randomHalves(nodeIds: readonly string[], rng: Rng): string[][] {
  if (nodeIds.length < 2) throw new UserError('a partition needs at least two nodes');
  const shuffled = rng.shuffle(nodeIds);
  const cut = Math.floor(nodeIds.length / 2);
  const byId = (a: string, b: string) => nodeIds.indexOf(a) - nodeIds.indexOf(b);
  return [shuffled.slice(0, cut).sort(byId), shuffled.slice(cut).sort(byId)];
}

export function isolate(node: string, nodeIds: readonly string[]): string[][] {
  if (!nodeIds.includes(node)) throw new UserError(`unknown node "${node}" (nodes: ${nodeIds.join(', ')})`);
  return [[node], nodeIds.filter((n) => n !== node)];
}

/** Parses a link such as "n1-n2". */
export function parseLink(text: string, nodeIds: readonly string[]): [string, string] {
  const parts = text.split('-').map((s) => s.trim());
  if (parts.length !== 2 || !parts[0] || !parts[1]) throw new UserError(`malformed link "${text}": expected two node ids joined by a dash, like n1-n2`);
  const [a, b] = parts as [string, string];
  for (const n of [a, b]) if (!nodeIds.includes(n)) throw new UserError(`unknown node "${n}" in link "${text}" (nodes: ${nodeIds.join(', ')})`);
  if (a === b) throw new UserError(`malformed link "${text}": a link joins two different nodes`);
  return [a, b];
}
