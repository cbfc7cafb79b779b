import { Flags } from '@oclif/core';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkGroups, type GroupConfig, Topology } from '../../src/lib/cluster/groups.js';
import { planCluster } from '../../src/lib/cluster/launch.js';
import { checkPartitionGroups, isolate, parseLinks } from '../../src/lib/faults/partition-spec.js';
import { custom_system_view, groupCounts } from '../../src/registry.js';
import type { ServerGroup, SystemPlugin } from '../../src/lib/plugin.js';
import { serverKindOf } from '../../src/lib/proxy/server-kinds.js';
import { UserError } from '../../src/lib/util/errors.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-groups-');

const group = (name: string, prefix: string, count: number, extra: Partial<GroupConfig> = {}): GroupConfig => ({ name, prefix, count, command: ['node', `${name}.js`], ...extra });
const topology = new Topology([group('coordinator', 'z', 3), group('workers', 'w', 4)]);

describe('a topology of node groups', () => {
  it('numbers each group under its own prefix and knows whose member each node is', () => {
    expect(topology.nodeIds).toEqual(['z1', 'z2', 'z3', 'w1', 'w2', 'w3', 'w4']);
    expect(topology.groupOf('w2')).toBe('workers');
    expect(topology.groupOf('z3')).toBe('coordinator');
    expect(topology.groupOf('n1')).toBeUndefined();
    expect(topology.membersByName()).toEqual({ coordinator: ['z1', 'z2', 'z3'], workers: ['w1', 'w2', 'w3', 'w4'] });
    expect(topology.expand(['workers', 'z1'])).toEqual(['w1', 'w2', 'w3', 'w4', 'z1']);
  });

  it.each([
    [[group('nodes', 'n', 3), group('nodes', 'w', 2)], 'two groups are named nodes'],
    [[group('a', 'n', 3), group('b', 'n', 2)], 'groups a and b share the id prefix "n"'],
    [[group('a', 'n', 3), group('n2', 'w', 2)], 'group name "n2" is also the id of a node in group a'],
    [[group('a', 'n', 0)], 'group a must have between 1 and 25 nodes, got 0'],
    [[group('a', 'n', 20), group('b', 'w', 6)], 'a cluster runs at most 25 nodes, and these groups have 26 (a 20, b 6)'],
    [[group('leader', 'n', 2)], 'group name "leader" is a word node references already use'],
    [[group('my-group', 'n', 2)], /group name "my-group" must be/],
    [[group('a', 'n1', 2)], /id prefix "n1" must be lowercase letters/],
    [[group('nodes', 'n', 2), group('clients', 'c', 2)], 'group clients: id prefix "c" would name its nodes c1, c2, …, which are client ids (clients are c0, c1, …); choose another prefix'],
    [[group('nodes', 'n', 2), group('c3', 'w', 2)], 'group name "c3" is a client id'],
    [[], 'a cluster needs at least one node group'],
  ])('refuses %j', (groups, message) => {
    expect(() => checkGroups(groups)).toThrow(UserError);
    expect(() => checkGroups(groups)).toThrow(message);
  });
});

describe('fault specs over groups', () => {
  const ids = topology.nodeIds;

  it('take a group name for all its members in a partition, beside single members', () => {
    expect(checkPartitionGroups([['workers'], ['coordinator']], ids, topology)).toEqual([['w1', 'w2', 'w3', 'w4'], ['z1', 'z2', 'z3']]);
    expect(checkPartitionGroups([['workers', 'z1']], ids, topology)).toEqual([['w1', 'w2', 'w3', 'w4', 'z1'], ['z2', 'z3']]);
    expect(() => checkPartitionGroups([['workers'], ['w2']], ids, topology)).toThrow('node w2 appears in more than one partition group');
    expect(() => checkPartitionGroups([['observers']], ids, topology)).toThrow('unknown node "observers" in partition group "observers" (groups: coordinator z1, z2, z3; workers w1, w2, w3, w4)');
    // Without a topology a name is only ever a node id.
    expect(() => checkPartitionGroups([['workers']], ids)).toThrow('unknown node "workers"');
  });

  it('isolate a whole group as one side', () => {
    expect(isolate(topology.members('coordinator')!, ids)).toEqual([['z1', 'z2', 'z3'], ['w1', 'w2', 'w3', 'w4']]);
    expect(isolate('w2', ids)).toEqual([['w2'], ['z1', 'z2', 'z3', 'w1', 'w3', 'w4']]);
  });

  it('turn a link naming a group into every link between the members', () => {
    expect(parseLinks('w1-z2', ids, topology)).toEqual([['w1', 'z2']]);
    expect(parseLinks('w1-coordinator', ids, topology)).toEqual([['w1', 'z1'], ['w1', 'z2'], ['w1', 'z3']]);
    expect(parseLinks('coordinator-coordinator', ids, topology)).toHaveLength(6);
    expect(() => parseLinks('w1-w1', ids, topology)).toThrow(/two different nodes/);
    expect(() => parseLinks('w1-e1', ids, topology)).toThrow('unknown node "e1" in link "w1-e1"');
  });
});

describe('planning a cluster of several groups', () => {
  const two_groups: SystemPlugin = {
    name: 'pair',
    description: 'test: a coordinator beside workers',
    groups: [
      { name: 'coordinator', prefix: 'z', program: new URL('file:///coordinator.js'), count_flag: 'nodes' },
      { name: 'workers', prefix: 'w', program: new URL('file:///worker.js'), count_flag: 'pair-workers', options: { role: 'worker' } },
    ],
    flags: { 'pair-workers': Flags.integer({ default: 2, description: 'pair: workers' }) },
    optionsFromFlags: () => ({}),
    options: z.strictObject({}),
    roles: custom_system_view.roles,
    columns: [],
    workloads: [],
  };
  const plan = (nodes: number, group_counts: Record<string, number | undefined>, plugin: SystemPlugin = two_groups) =>
    planCluster({ system: plugin.name, plugin, known_systems: [], view: custom_system_view, nodes, group_counts, init_timeout_ms: 1000, cwd: tempDir() });

  it("takes each group's count from its flag, with its program and its own options", async () => {
    const config = await plan(3, groupCounts(two_groups, { nodes: 3, 'pair-workers': 4 }));
    expect(config.groups.map((g) => [g.name, g.prefix, g.count])).toEqual([['coordinator', 'z', 3], ['workers', 'w', 4]]);
    expect(config.groups[1]!.command.at(-1)).toBe('/worker.js');
    expect(config.groups[1]!.options).toEqual({ role: 'worker' });
    expect(config.groups[0]!.options).toBeUndefined();
  });

  it('refuses a count out of range by its flag, and a group name that is also a node id', async () => {
    await expect(plan(3, { 'pair-workers': 0 })).rejects.toThrow('--pair-workers must be between 1 and 25, got 0');
    await expect(plan(20, { 'pair-workers': 6 })).rejects.toThrow(/at most 25 nodes, and these groups have 26/);
    const clash: SystemPlugin = { ...two_groups, groups: [two_groups.groups[0]!, { ...two_groups.groups[1]!, name: 'z1' }] };
    await expect(plan(3, { 'pair-workers': 2 }, clash)).rejects.toThrow('group name "z1" is also the id of a node in group coordinator');
  });

  it("reads only the system's own count flags, not --nodes or other flags", () => {
    expect(groupCounts(two_groups, { nodes: 3, 'pair-workers': 4, heartbeat: '50ms' })).toEqual({ 'pair-workers': 4 });
  });
});

describe('planning a cluster with a server group', () => {
  const with_servers = (server: Partial<ServerGroup>): SystemPlugin => ({
    name: 'kv',
    description: 'test: nodes beside redis',
    groups: [
      { name: 'nodes', prefix: 'n', program: new URL('file:///node.js'), count_flag: 'nodes' },
      { name: 'redis', prefix: 'redis', server: 'redis', count_flag: 'kv-servers', ...server },
    ],
    flags: { 'kv-servers': Flags.integer({ default: 1, description: 'kv: servers' }) },
    optionsFromFlags: () => ({}),
    options: z.strictObject({}),
    roles: custom_system_view.roles,
    columns: [],
    workloads: [],
  });
  const plan = (plugin: SystemPlugin) => planCluster({ system: plugin.name, plugin, known_systems: [], view: custom_system_view, nodes: 2, group_counts: { 'kv-servers': 1 }, init_timeout_ms: 1000, cwd: tempDir() });

  it('carries the kind, and the program when the plugin names its own, with no node command', async () => {
    // `true` stands in for an installed server program: planning only checks that it is there.
    const config = await plan(with_servers({ binary: 'true' }));
    expect(config.groups[1]).toEqual({ name: 'redis', prefix: 'redis', count: 1, command: [], server: { kind: 'redis', binary: 'true' } });
    const topology = new Topology(config.groups);
    expect(topology.serverIds).toEqual(['redis1']);
    expect(topology.programIds).toEqual(['n1', 'n2']);
    expect(topology.nodeIds).toEqual(['n1', 'n2', 'redis1']);
  });

  it('refuses a missing server program in one line that says how to install it, before anything is created', async () => {
    const cwd = tempDir();
    const plugin = with_servers({ binary: 'dslab-test-no-such-server' });
    await expect(planCluster({ system: 'kv', plugin, known_systems: [], view: custom_system_view, nodes: 2, group_counts: { 'kv-servers': 1 }, init_timeout_ms: 1000, cwd })).rejects.toThrow(
      /^dslab-test-no-such-server is not installed: apt-get install redis-server$/,
    );
    expect(existsSync(path.join(cwd, '.dslab'))).toBe(false);
  });

  it('refuses a cluster of servers alone, and a server group with a node command', () => {
    expect(() => checkGroups([{ name: 'redis', prefix: 'redis', count: 1, command: [], server: { kind: 'redis' } }])).toThrow('a cluster needs at least one group of nodes beside its servers');
    expect(() => checkGroups([{ name: 'nodes', prefix: 'n', count: 1, command: ['node'] }, { name: 'redis', prefix: 'redis', count: 1, command: ['x'], server: { kind: 'redis' } }])).toThrow(/server group and cannot also have a node command/);
    expect(() => serverKindOf({ kind: 'mysql' })).toThrow('unknown server kind "mysql" (known: redis, etcd)');
  });
});
