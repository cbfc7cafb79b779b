import { client_id_prefix, isClientId, nodes_max } from '../protocol/messages.js';
import { UserError } from '../util/errors.js';

/**
 * A cluster's node groups: each runs one program under its own id prefix
 * (n1..n3 beside w1..w4). Fault commands name members or whole groups; a
 * group name stands for all its members.
 */

/** One group as the supervisor runs it. */
export interface GroupConfig {
  /** What fault commands call the group ("nodes", "workers"). */
  name: string;
  /** Member ids are the prefix and a number from 1. */
  prefix: string;
  count: number;
  /**
   * The members' ids when they are not prefix1..prefixN: Maelstrom's `--node-count 3` makes n0, n1, n2
   * and `--node a --node b` names them outright (`dslab test`). As many as `count`, in this order.
   */
  ids?: string[];
  /** The node program as argv; empty for a server group. */
  command: string[];
  /** A group of real servers instead of node programs: their kind (server-kinds.ts) and, if not the kind's own, their program. */
  server?: ServerGroupConfig;
  /** Options for this group's nodes, laid over the cluster's options in DSLAB_OPTIONS. */
  options?: Record<string, unknown>;
  /** The members are Zab servers with a ZooKeeper client port each (`dslab up` only), ticking every tick_ms. */
  zk_client_port?: { tick_ms: number };
}

export interface ServerGroupConfig {
  kind: string;
  binary?: string;
}

/** The group a single-program cluster has, named so that its ids are n1..nN as they always were. */
export const default_group = { name: 'nodes', prefix: 'n' } as const;

/** Group names and prefixes: a letter, then letters, digits or underscores (no dash: "a-b" is a link). */
const group_name_pattern = /^[a-z][a-z0-9_]*$/;
const group_prefix_pattern = /^[a-z]+$/;
/** Explicit member ids: a letter, then letters, digits, underscores or dots (no dash: "a-b" is a link; no comma or space: lists). */
const explicit_id_pattern = /^[A-Za-z][A-Za-z0-9_.]*$/;
/** Words node references already mean, which no group may take. */
const reserved_refs: readonly string[] = ['leader', 'random', 'dslab'];

export function memberIds(group: Pick<GroupConfig, 'prefix' | 'count' | 'ids'>): string[] {
  if (group.ids) return [...group.ids];
  return Array.from({ length: group.count }, (_, i) => `${group.prefix}${i + 1}`);
}

/** The groups of a cluster: who belongs where, and what a name in a fault command stands for. */
export class Topology {
  /** Every member, group by group. */
  readonly nodeIds: readonly string[];
  private readonly groupByNode = new Map<string, string>();
  private readonly membersByGroup = new Map<string, readonly string[]>();

  constructor(readonly groups: readonly GroupConfig[]) {
    checkGroups(groups);
    const ids: string[] = [];
    for (const group of groups) {
      const members = memberIds(group);
      this.membersByGroup.set(group.name, members);
      for (const id of members) this.groupByNode.set(id, group.name);
      ids.push(...members);
    }
    this.nodeIds = ids;
  }

  /** Members of server groups (redis1): real servers, not node programs. */
  get serverIds(): string[] {
    return this.groups.filter((g) => g.server).flatMap((g) => memberIds(g));
  }

  /** Members of program groups: the nodes that speak the node protocol. */
  get programIds(): string[] {
    return this.groups.filter((g) => !g.server).flatMap((g) => memberIds(g));
  }

  /** The group's name a node belongs to. */
  groupOf(id: string): string | undefined {
    return this.groupByNode.get(id);
  }

  /** A group's members, or undefined for a name that is no group. */
  members(group: string): readonly string[] | undefined {
    return this.membersByGroup.get(group);
  }

  isGroup(name: string): boolean {
    return this.membersByGroup.has(name);
  }

  /** Every group's members by name (what a node finds in init's dslab_groups). */
  membersByName(): Record<string, string[]> {
    return Object.fromEntries([...this.membersByGroup].map(([name, ids]) => [name, [...ids]]));
  }

  /** Names in a fault command, with each group name replaced by its members, in order; other names pass through unchecked. */
  expand(names: readonly string[]): string[] {
    return names.flatMap((name) => {
      const trimmed = name.trim();
      return this.membersByGroup.get(trimmed) ?? [trimmed];
    });
  }

  /** "nodes: n1, n2" or, with groups, "leaders n1, n2; echo e1" (for messages that list what may be named). */
  describe(): string {
    if (this.groups.length === 1) return this.nodeIds.join(', ');
    return [...this.membersByGroup].map(([name, ids]) => `${name} ${ids.join(', ')}`).join('; ');
  }
}

/** Checks a cluster's groups: names and prefixes distinct, counts in range, no name both a group and a node. Throws UserError. */
export function checkGroups(groups: readonly GroupConfig[]): void {
  if (groups.length === 0) throw new UserError('a cluster needs at least one node group');
  let total = 0;
  for (const [index, group] of groups.entries()) {
    if (!group_name_pattern.test(group.name)) throw new UserError(`group name "${group.name}" must be a lowercase letter followed by letters, digits or underscores`);
    if (!group_prefix_pattern.test(group.prefix)) throw new UserError(`group ${group.name}: id prefix "${group.prefix}" must be lowercase letters`);
    if (reserved_refs.includes(group.name)) throw new UserError(`group name "${group.name}" is a word node references already use`);
    // Fault commands and `send` take clients, services and group members alike: none may be mistaken for another
    // (service names have a dash, which group names and ids cannot).
    if (group.prefix === client_id_prefix) throw new UserError(`group ${group.name}: id prefix "${group.prefix}" would name its nodes ${group.prefix}1, ${group.prefix}2, …, which are client ids (clients are ${client_id_prefix}0, ${client_id_prefix}1, …); choose another prefix`);
    if (isClientId(group.name)) throw new UserError(`group name "${group.name}" is a client id; choose another name`);
    if (groups.findIndex((g) => g.name === group.name) !== index) throw new UserError(`two groups are named ${group.name}`);
    if (groups.findIndex((g) => g.prefix === group.prefix) !== index) throw new UserError(`groups ${groups.find((g) => g.prefix === group.prefix)!.name} and ${group.name} share the id prefix "${group.prefix}"`);
    if (!Number.isInteger(group.count) || group.count < 1 || group.count > nodes_max) throw new UserError(`group ${group.name} must have between 1 and ${nodes_max} nodes, got ${group.count}`);
    if (group.server && group.command.length > 0) throw new UserError(`group ${group.name} is a server group and cannot also have a node command`);
    if (!group.server && group.command.length === 0) throw new UserError(`group ${group.name} has no node command`);
    if (group.ids) checkExplicitIds(group);
    total += group.count;
  }
  if (groups.every((g) => g.server)) throw new UserError('a cluster needs at least one group of nodes beside its servers');
  if (total > nodes_max) throw new UserError(`a cluster runs at most ${nodes_max} nodes, and these groups have ${total} (${groups.map((g) => `${g.name} ${g.count}`).join(', ')})`);
  const seen = new Map<string, string>();
  for (const group of groups) {
    for (const id of memberIds(group)) {
      if (seen.has(id)) throw new UserError(`node id ${id} is in groups ${seen.get(id)} and ${group.name}`);
      seen.set(id, group.name);
    }
  }
  // Prefixes are letters only and ids end in digits, so an id is never a prefix of another group's id; but a group may be named like a node.
  for (const group of groups) {
    for (const other of groups) {
      if (memberIds(other).includes(group.name)) throw new UserError(`group name "${group.name}" is also the id of a node in group ${other.name}: a fault command could not tell them apart`);
    }
  }
}

function checkExplicitIds(group: GroupConfig): void {
  const ids = group.ids!;
  if (ids.length !== group.count) throw new UserError(`group ${group.name} names ${ids.length} node ids for ${group.count} nodes`);
  if (new Set(ids).size !== ids.length) throw new UserError(`group ${group.name} names a node id twice`);
  for (const id of ids) {
    if (!explicit_id_pattern.test(id)) throw new UserError(`node id "${id}" must be a letter followed by letters, digits, underscores or dots`);
    if (isClientId(id)) throw new UserError(`node id "${id}" is a client id (clients are ${client_id_prefix}0, ${client_id_prefix}1, …); choose another`);
    if (reserved_refs.includes(id)) throw new UserError(`node id "${id}" is a word node references already use`);
  }
}
