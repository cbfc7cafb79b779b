import { describe, expect, it } from 'vitest';
import { planCluster } from '../../src/lib/cluster/launch.js';
import { systemView } from '../../src/lib/plugin.js';
import { electsLeaders, findLeader, type RoleNode, roleKind } from '../../src/lib/roles.js';
import { checkPlugins, findSystem, groupCounts, optionsFromFlags, systems, viewFor, workloads } from '../../src/registry.js';
import { locks } from '../../src/systems/locks/plugin.js';
import { resolveLockOptions } from '../../src/systems/locks/options.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-locks-plugin-');

const plan = (flags: Record<string, unknown>) =>
  planCluster({
    system: 'locks',
    plugin: locks,
    known_systems: [],
    view: { roles: locks.roles, columns: locks.columns },
    nodes: (flags.nodes as number | undefined) ?? 3,
    group_counts: groupCounts(locks, { contenders: 3, ...flags }),
    init_timeout_ms: 1000,
    options: optionsFromFlags(flags),
    cwd: tempDir(),
  });

describe('the locks system', () => {
  it('is registered, and its flags clash with no other system', () => {
    expect(findSystem('locks')).toBe(locks);
    expect(() => checkPlugins(systems, workloads)).not.toThrow();
  });

  it('a group is counted by a flag or fixed at a count, one or the other', () => {
    const resource = locks.groups.find((g) => g.name === 'resource')!;
    const variant = (group: object) => ({ ...locks, groups: locks.groups.map((g) => (g === resource ? { ...g, ...group } : g)) });
    expect(() => checkPlugins([variant({ count: undefined })], workloads)).toThrow('system locks: group resource needs either a count flag or a fixed count');
    expect(() => checkPlugins([variant({ count_flag: 'contenders' })], workloads)).toThrow('system locks: group resource needs either a count flag or a fixed count');
  });

  it('runs the backend --backend names (one redis or etcd server, or --nodes Zab servers), one resource and --contenders contenders', async () => {
    const groups = async (flags: Record<string, unknown>) => (await plan(flags)).groups.map((g) => [g.name, g.prefix, g.count, g.server?.kind ?? 'program']);
    expect(await groups({})).toEqual([['redis', 'redis', 1, 'redis'], ['resource', 'r', 1, 'program'], ['contenders', 'k', 3, 'program']]);
    expect(await groups({ backend: 'etcd', contenders: 5 })).toEqual([['etcd', 'etcd', 1, 'etcd'], ['resource', 'r', 1, 'program'], ['contenders', 'k', 5, 'program']]);
    expect(await groups({ backend: 'zk', nodes: 5 })).toEqual([['coordinator', 'z', 5, 'program'], ['resource', 'r', 1, 'program'], ['contenders', 'k', 3, 'program']]);
    // A recipe alone picks its backend.
    expect((await groups({ recipe: 'etcd-no-recheck' }))[0]).toEqual(['etcd', 'etcd', 1, 'etcd']);
  });

  it("turns its flags into lock_ options, each node's defaults filled in", () => {
    const options = optionsFromFlags({ backend: 'redis', recipe: 'redis-naive', fencing: true, ttl: '1500ms', hold: '0ms', counter: 'backend' });
    expect(options).toEqual({ lock_backend: 'redis', lock_recipe: 'redis-naive', lock_fencing: true, lock_ttl_ms: 1500, lock_hold_ms: 0, lock_counter: 'backend' });
    expect(resolveLockOptions(options)).toEqual({ backend: 'redis', recipe: 'redis-naive', command: null, counter: 'backend', fencing: true, ttl_ms: 1500, hold_ms: 0 });
    expect(resolveLockOptions({})).toEqual({ backend: 'redis', recipe: 'redis', command: null, counter: 'resource', fencing: false, ttl_ms: 2000, hold_ms: 50 });
  });

  it('refuses a recipe of another backend, and an etcd lease shorter than etcd allows, in one line naming the flag', () => {
    expect(() => optionsFromFlags({ backend: 'etcd', recipe: 'redis' })).toThrow('--recipe redis is a redis recipe, not one for --backend etcd');
    expect(() => optionsFromFlags({ backend: 'etcd', ttl: '1s' })).toThrow(/^--ttl must be at least 2s with etcd/);
    expect(() => optionsFromFlags({ ttl: 'soon' })).toThrow(/--ttl/);
  });
});

describe('who leads a cluster whose groups run another system (the Zab coordinator)', () => {
  const zab_leader = { role: 'leading', epoch: 3, established: true };
  const nodes = (states: Record<string, Record<string, unknown>>): RoleNode[] => Object.entries(states).map(([id, state]) => ({ id, status: 'up', state }));

  it("locks on --backend zk: the coordinator's leader, found among contenders and the resource", () => {
    const view = viewFor('locks', optionsFromFlags({ backend: 'zk' }));
    expect(electsLeaders(view.roles)).toBe(true);
    const cluster = nodes({ z1: { role: 'following', epoch: 3 }, z2: zab_leader, z3: { role: 'following', epoch: 3 }, r1: { role: 'resource', max_token: 9 }, k1: { role: 'contender', token: 9 } });
    expect(findLeader(view.roles, cluster)).toEqual({ id: 'z2', term: 3, inferred: false });
    expect(roleKind(view.roles, 'contender')).toBe('other');
  });

  it('locks on redis or etcd: no leader at all (so `kill leader` says the system has none)', () => {
    for (const backend of ['redis', 'etcd']) expect(electsLeaders(viewFor('locks', optionsFromFlags({ backend })).roles)).toBe(false);
  });

  it("snowflake: the coordinator's leader among the workers; a lab graded against a system sees every group's roles", () => {
    const view = viewFor('snowflake', {});
    const cluster = nodes({ w1: { role: 'serving', worker: 0 }, z1: { role: 'following', epoch: 2 }, z2: { ...zab_leader, epoch: 2 } });
    expect(findLeader(view.roles, cluster)).toEqual({ id: 'z2', term: 2, inferred: false });
    expect(systemView(locks).roles.leading).toEqual(['leading']);
    expect(systemView(locks).roles.established_field).toBe('established');
  });
});
