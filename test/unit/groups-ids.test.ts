import { describe, expect, it } from 'vitest';
import { checkGroups, memberIds, Topology, type GroupConfig } from '../../src/lib/cluster/groups.js';
import { UserError } from '../../src/lib/util/errors.js';

const group = (name: string, prefix: string, count: number, extra: Partial<GroupConfig> = {}): GroupConfig => ({ name, prefix, count, command: ['node', `${name}.js`], ...extra });
const maelstromIds = (count: number) => Array.from({ length: count }, (_, i) => `n${i}`);

function refusal(groups: GroupConfig[]): string {
  try {
    checkGroups(groups);
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as Error).message;
  }
  throw new Error('the groups were accepted');
}

describe('explicit member ids', () => {
  it("n0..n4 (Maelstrom's names) are the members, in order, and fault commands expand the group to them", () => {
    const nodes = group('nodes', 'n', 5, { ids: maelstromIds(5) });
    expect(memberIds(nodes)).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
    const topology = new Topology([nodes]);
    expect(topology.nodeIds).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
    expect(topology.groupOf('n0')).toBe('nodes');
    expect(topology.groupOf('n5')).toBeUndefined();
    expect(topology.expand(['nodes', 'n3'])).toEqual(['n0', 'n1', 'n2', 'n3', 'n4', 'n3']);
    expect(topology.programIds).toEqual(topology.nodeIds);
  });

  it('without ids, members are still prefix1..prefixN', () => {
    expect(memberIds(group('nodes', 'n', 3))).toEqual(['n1', 'n2', 'n3']);
  });

  it('may be any names of letters, digits, underscores and dots, beside a group numbered as usual', () => {
    const topology = new Topology([group('nodes', 'n', 3, { ids: ['alpha', 'Beta_2', 'g.3'] }), group('workers', 'w', 2)]);
    expect(topology.nodeIds).toEqual(['alpha', 'Beta_2', 'g.3', 'w1', 'w2']);
    expect(topology.members('nodes')).toEqual(['alpha', 'Beta_2', 'g.3']);
    expect(topology.groupOf('Beta_2')).toBe('nodes');
  });

  it('the list is copied: changing it afterwards changes no member', () => {
    const ids = maelstromIds(3);
    const members = memberIds({ prefix: 'n', count: 3, ids });
    ids[0] = 'zzz';
    expect(members[0]).toBe('n0');
  });

  it.each([
    ['a duplicate', [group('nodes', 'n', 3, { ids: ['n0', 'n1', 'n0'] })], /names a node id twice/],
    ['a client id', [group('nodes', 'n', 3, { ids: ['n0', 'c3', 'n2'] })], /"c3" is a client id/],
    ['fewer ids than nodes', [group('nodes', 'n', 3, { ids: ['n0', 'n1'] })], /names 2 node ids for 3 nodes/],
    ['more ids than nodes', [group('nodes', 'n', 2, { ids: ['n0', 'n1', 'n2'] })], /names 3 node ids for 2 nodes/],
    ['a reserved word', [group('nodes', 'n', 2, { ids: ['n0', 'leader'] })], /"leader" is a word node references already use/],
    ['another reserved word', [group('nodes', 'n', 2, { ids: ['random', 'n1'] })], /"random"/],
    ['a dash (links are a-b)', [group('nodes', 'n', 2, { ids: ['n0', 'n-1'] })], /must be a letter followed by/],
    ['a leading digit', [group('nodes', 'n', 2, { ids: ['0n', 'n1'] })], /must be a letter followed by/],
    ['an empty id', [group('nodes', 'n', 2, { ids: ['', 'n1'] })], /must be a letter followed by/],
    ["another group's name", [group('nodes', 'n', 2, { ids: ['n0', 'workers'] }), group('workers', 'w', 2)], /group name "workers" is also the id of a node in group nodes/],
    ["its own group's name", [group('nodes', 'n', 2, { ids: ['nodes', 'n1'] })], /group name "nodes" is also the id of a node/],
    ["an id of another group's members", [group('nodes', 'n', 2, { ids: ['n0', 'w1'] }), group('workers', 'w', 2)], /node id w1 is in groups nodes and workers/],
    ['the same id in two explicit groups', [group('nodes', 'n', 2, { ids: ['a0', 'a1'] }), group('workers', 'w', 1, { ids: ['a1'] })], /node id a1 is in groups nodes and workers/],
  ])('refuses %s with a UserError', (_what, groups, message) => {
    expect(refusal(groups)).toMatch(message);
    expect(() => new Topology(groups)).toThrow(UserError);
  });
});
