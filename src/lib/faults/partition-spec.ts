import type { Topology } from '../cluster/groups.js';
import { isClientId } from '../protocol/messages.js';
import { UserError } from '../util/errors.js';
import type { Rng } from '../util/prng.js';

/** The supervisor's own client (init, transfers): cutting it off would stop nodes from starting. */
const supervisor_client_id = 'c0';

/**
 * Whether `name` is a client (c1, c2, …) rather than a node: client links
 * take faults only when a fault command names the client.
 */
export function isClientEndpoint(name: string, nodeIds: readonly string[]): boolean {
  if (nodeIds.includes(name) || !isClientId(name)) return false;
  if (name === supervisor_client_id) throw new UserError(`${name} is the supervisor's own client (it sends init); faults cannot name it`);
  return true;
}

/** The members a list of names stands for: with a topology, a group name stands for all its members. */
function expandNames(names: readonly string[], topology?: Topology): string[] {
  return topology ? topology.expand(names) : names.map((s) => s.trim());
}

/**
 * Parses partition groups such as ["n1,n2", "n3,n4,n5"]. Nodes named in no
 * group form one more group together, so `partition n1` isolates n1.
 */
export function parsePartitionSpec(groupArgs: readonly string[], nodeIds: readonly string[], topology?: Topology, services: readonly string[] = []): string[][] {
  return checkPartitionGroups(splitPartitionArgs(groupArgs), nodeIds, topology, services);
}

/** Command-line groups ("n1,n2") as lists of names, unchecked: the control API carries groups as lists. */
export function splitPartitionArgs(groupArgs: readonly string[]): string[][] {
  return groupArgs.map((arg) => arg.split(','));
}

/**
 * Checks groups of node names against the cluster; nodes named in no group
 * form one more group together. With a topology, a node group's name stands
 * for all its members ("workers coordinator"). A service (lin-kv) or a client
 * may be placed on a side too; one placed on no side stays reachable from all.
 */
export function checkPartitionGroups(groupLists: readonly (readonly string[])[], nodeIds: readonly string[], topology?: Topology, services: readonly string[] = []): string[][] {
  if (groupLists.length === 0) throw new UserError('a partition needs at least one group, like "n1,n2 n3,n4,n5"');
  const placed = new Set<string>();
  const groups: string[][] = [];
  for (const list of groupLists) {
    const arg = list.join(',');
    if (list.length === 0 || list.some((n) => n.trim() === '')) throw new UserError(`malformed partition group "${arg}": expected node ids separated by commas, like n1,n2`);
    const names = expandNames(list, topology);
    for (const name of names) {
      if (!nodeIds.includes(name) && !services.includes(name) && !isClientEndpoint(name, nodeIds)) throw new UserError(`unknown node "${name}" in partition group "${arg}" (${knownNames(nodeIds, topology, services)})`);
      if (placed.has(name)) throw new UserError(`${nodeIds.includes(name) ? 'node' : services.includes(name) ? 'service' : 'client'} ${name} appears in more than one partition group`);
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

/** Cuts the given nodes (one node, or a whole group's members), a service or a client off from every other node. */
export function isolate(nodes: string | readonly string[], nodeIds: readonly string[], services: readonly string[] = []): string[][] {
  const cut = typeof nodes === 'string' ? [nodes] : [...nodes];
  for (const node of cut) if (!nodeIds.includes(node) && !services.includes(node) && !isClientEndpoint(node, nodeIds)) throw new UserError(`unknown node "${node}" (nodes: ${nodeIds.join(', ')}${services.length ? `; services: ${services.join(', ')}` : ''})`);
  return [cut, nodeIds.filter((n) => !cut.includes(n))];
}

/**
 * The two ends a link names ("n1-n2", "n1-lin-kv", "workers-z1"): service
 * names hold a dash themselves, so the dash that splits is the one with a
 * name dslab knows on each side.
 */
export function splitLink(text: string, nodeIds: readonly string[], topology?: Topology, services: readonly string[] = []): [string, string] {
  const known = (name: string) => nodeIds.includes(name) || services.includes(name) || isClientId(name) || (topology?.isGroup(name) ?? false);
  const splits: [string, string][] = [];
  for (let dash = text.indexOf('-'); dash !== -1; dash = text.indexOf('-', dash + 1)) {
    const ends: [string, string] = [text.slice(0, dash).trim(), text.slice(dash + 1).trim()];
    if (ends[0] && ends[1] && known(ends[0]) && known(ends[1])) splits.push(ends);
  }
  if (splits.length === 1) return splits[0]!;
  if (splits.length > 1) throw new UserError(`ambiguous link "${text}": it splits as ${splits.map(([a, b]) => `${a} and ${b}`).join(' or as ')}`);
  // No split names two known ends: with one dash, say which end is unknown.
  const parts = text.split('-').map((s) => s.trim());
  if (parts.length !== 2 || !parts[0] || !parts[1]) throw new UserError(`malformed link "${text}": expected two node ids joined by a dash, like n1-n2`);
  return [parts[0], parts[1]];
}

/**
 * Parses a link such as "n1-n2", as the pairs of endpoints it names: one, or
 * with a topology and group names on either side ("workers-z1"), every link
 * between their members. An end may be a service (n1-lin-kv) or a client (c3-n1).
 */
export function parseLinks(text: string, nodeIds: readonly string[], topology?: Topology, services: readonly string[] = []): [string, string][] {
  const [left, right] = splitLink(text, nodeIds, topology, services).map((part) => expandNames([part], topology)) as [string[], string[]];
  const clients = new Set<string>();
  for (const n of [...left, ...right]) {
    if (isClientEndpoint(n, nodeIds)) clients.add(n);
    else if (!nodeIds.includes(n) && !services.includes(n)) throw new UserError(`unknown node "${n}" in link "${text}" (${knownNames(nodeIds, topology, services)})`);
  }
  const pairs: [string, string][] = [];
  for (const a of left) for (const b of right) {
    if (clients.has(a) && clients.has(b)) throw new UserError(`malformed link "${text}": clients talk only to nodes, so a link joins a client to a node, not two clients`);
    if (a !== b) pairs.push([a, b]);
  }
  if (pairs.length === 0) throw new UserError(`malformed link "${text}": a link joins two different nodes`);
  return pairs;
}

/** Parses a link such as "n1-n2" between two single nodes. */
export function parseLink(text: string, nodeIds: readonly string[]): [string, string] {
  const pairs = parseLinks(text, nodeIds);
  return pairs[0]!;
}

function knownNames(nodeIds: readonly string[], topology?: Topology, services: readonly string[] = []): string {
  const members = topology && topology.groups.length > 1 ? `groups: ${topology.describe()}` : `nodes: ${nodeIds.join(', ')}`;
  return services.length ? `${members}; services: ${services.join(', ')}` : members;
}
