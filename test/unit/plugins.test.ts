import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Flags } from '@oclif/core';
import { describe, expect, it } from 'vitest';
import type { ClusterStatus } from '../../src/lib/control/api.js';
import { formatStatus } from '../../src/cli/format/status.js';
import { checkLabOptions } from '../../src/lib/grade/grade.js';
import { listLabIds, loadLab } from '../../src/lib/grade/spec.js';
import { planCluster } from '../../src/lib/cluster/launch.js';
import { checkOptions, type SystemPlugin } from '../../src/lib/plugin.js';
import { checkPlugins, findSystem, lab_plugins, optionsFromFlags, systems, viewFor, workloads } from '../../src/registry.js';
import { raft } from '../../src/systems/raft/plugin.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-plugins-');

describe('the registered systems', () => {
  it('each run node programs that exist in the source tree, with flags described under their name', () => {
    expect(systems.map((s) => s.name)).toEqual(['echo', 'unique-ids', 'raft', 'zab', 'snowflake', 'locks', 'broadcast', 'g-set', 'g-counter', 'pn-counter', 'kafka', 'txn', 'breaker']);
    for (const plugin of systems) {
      for (const group of plugin.groups) {
        if (group.program === undefined) continue;
        const program = fileURLToPath(group.program).replace(/\.js$/, '.ts');
        expect(existsSync(program), program).toBe(true);
      }
      for (const [name, flag] of Object.entries(plugin.flags)) expect(flag.description, name).toMatch(new RegExp(`^${plugin.name}: `));
      for (const workload of plugin.workloads) expect(workloads.map((w) => w.name)).toContain(workload);
    }
  });

  it('agree with each other, and a clash between plugins is refused', () => {
    expect(() => checkPlugins(systems, workloads)).not.toThrow();
    const copy = (fields: Partial<SystemPlugin>): SystemPlugin => ({ ...raft, ...fields });
    expect(() => checkPlugins([raft, copy({ name: 'raft2' })], workloads)).toThrow('systems raft and raft2 both declare --election-timeout');
    expect(() => checkPlugins([raft, copy({ flags: {} })], workloads)).toThrow('two systems are named raft');
    expect(() => checkPlugins([copy({ workloads: ['no-such-workload'] })], workloads)).toThrow('system raft speaks workload no-such-workload, which is not registered');
    expect(() => checkPlugins([copy({ workload_groups: { zk: 'nodes' } })], workloads)).toThrow('system raft: workload_groups names zk, which the system does not speak');
    expect(() => checkPlugins([copy({ workloads: ['lin-kv', 'zk'], workload_groups: { zk: 'coordinator' } })], workloads)).toThrow('system raft: workload zk is answered by group coordinator, which is not one of its program groups');
    expect(() => checkPlugins([copy({ name: 'raft2', flags: {}, steps: [{ ...raft.steps![0]!, name: 'kv' }] })], workloads)).toThrow('step kv is defined by both system raft2 and workload lin-kv');
    const workers = { ...raft.groups[0]!, name: 'workers', prefix: 'w', count_flag: 'workers' };
    expect(() => checkPlugins([copy({ groups: [...raft.groups, { ...workers, count_flag: 'nodes' }] })], workloads)).toThrow('system raft: two groups are counted by --nodes');
    expect(() => checkPlugins([copy({ groups: [...raft.groups, workers] })], workloads)).toThrow('system raft: group workers is counted by --workers, which the system does not declare');
    expect(() => checkPlugins([copy({ groups: [...raft.groups, { ...workers, prefix: 'n' }], flags: { ...raft.flags, workers: Flags.integer({ default: 2 }) } })], workloads)).toThrow(/share the id prefix "n"/);
    // Clients are c0, c1, …: a group prefixed c would be mistaken for them by every command that names a member.
    expect(() => checkPlugins([copy({ groups: [...raft.groups, { ...workers, prefix: 'c' }], flags: { ...raft.flags, workers: Flags.integer({ default: 2 }) } })], workloads)).toThrow(/^system raft: group workers: id prefix "c" would name its nodes c1, c2, …, which are client ids/);
    // A second group counted by a flag of the system's own is a topology a cluster can run.
    expect(() => checkPlugins([copy({ groups: [...raft.groups, workers], flags: { ...raft.flags, workers: Flags.integer({ default: 2 }) } })], workloads)).not.toThrow();
  });
});

describe('workload groups', () => {
  it('travel in the config of a system that names the group answering a workload, and zab speaks zk with operations', async () => {
    const zab = findSystem('zab')!;
    expect(zab.workloads).toContain('zk');
    expect(workloads.find((w) => w.name === 'zk')?.runtime).toBeTypeOf('function');
    const plain = await planCluster({ system: 'zab', plugin: zab, known_systems: [], view: viewFor('zab'), nodes: 3, init_timeout_ms: 1000, cwd: tempDir() });
    expect(plain.workload_groups).toBeUndefined();
    const named = await planCluster({ system: 'zab', plugin: { ...zab, workload_groups: { zk: 'nodes' } }, known_systems: [], view: viewFor('zab'), nodes: 3, init_timeout_ms: 1000, cwd: tempDir() });
    expect(named.workload_groups).toEqual({ zk: 'nodes' });
  });
});

describe("raft's options", () => {
  it("come from up's flags, checked by raft's schema", () => {
    expect(optionsFromFlags({ nodes: 3, 'election-timeout': '150-300ms', heartbeat: '50ms', read: 'lease', 'snapshot-every': 0 })).toEqual({
      election_timeout_ms_min: 150,
      election_timeout_ms_max: 300,
      heartbeat_interval_ms: 50,
      read: 'lease',
      snapshot_every: 0,
    });
    expect(optionsFromFlags({ nodes: 3 })).toEqual({});
    expect(() => optionsFromFlags({ heartbeat: '400ms' })).toThrow("--heartbeat must be above 0 and below the election timeout's lower bound (300ms)");
    expect(() => optionsFromFlags({ 'election-timeout': '150-300ms', heartbeat: '200ms' })).toThrow(/lower bound \(150ms\)/);
  });

  it('refuse fields raft does not take, or values of the wrong kind', () => {
    expect(checkOptions(raft, { snapshot_every: 50 })).toEqual({ snapshot_every: 50 });
    expect(() => checkOptions(raft, { snapshot_evry: 50 }, 'spec')).toThrow(/^spec: .*snapshot_evry/);
    expect(() => checkOptions(raft, { snapshot_every: -1 })).toThrow(/^snapshot_every must be at least 0$/);
    expect(() => checkOptions(raft, { election_timeout_ms_min: 500, election_timeout_ms_max: 400 })).toThrow(/both bounds/);
  });
});

describe("lab specs' options", () => {
  it("are the options each shipped lab's reference system takes", () => {
    for (const id of listLabIds()) {
      const lab = loadLab(id, lab_plugins);
      expect(() => checkLabOptions(lab, findSystem(lab.reference)!), id).not.toThrow();
    }
  });

  it('are refused, naming the spec and the test, when the reference system does not take them', () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'typo'));
    const test = { name: 'one', description: 'd', points: 1, nodes: 1, time_limit_ms: 5000, steps: [{ do: 'sleep', ms: 1 }] };
    writeFileSync(
      path.join(dir, 'typo', 'spec.json'),
      JSON.stringify({ id: 'typo', title: 't', summary: 's', reference: 'raft', tests: [test, { ...test, name: 'two', options: { heartbeat_ms: 100 } }] }),
    );
    const lab = loadLab('typo', lab_plugins, dir);
    expect(() => checkLabOptions(lab, raft)).toThrow(/typo\/spec\.json: tests\.1\.options \(two\): .*heartbeat_ms/);
    expect(() => checkLabOptions(lab, findSystem('echo')!)).toThrow(/tests\.1\.options/);
  });
});

describe('a system without leaders', () => {
  const status = (system: string): ClusterStatus =>
    ({
      name: 'c', system, view: viewFor(system), dir: '/x', supervisor_pid: 1, seed: 1, started_at_ms: 0, uptime_ms: 10, faults: [], partition: null, links: [], leader: null, leader_inferred: false, nemesis: null,
      trace: { path: '/x/trace.jsonl', bytes: 0, truncated: false },
      nodes: [],
    }) as ClusterStatus;

  it('has no leader to name or miss in the status line; a raft cluster still says it has none', () => {
    expect(formatStatus(status('echo')).split('\n')[0]).not.toContain('leader');
    expect(formatStatus(status('unique-ids')).split('\n')[0]).not.toContain('leader');
    expect(formatStatus(status('raft')).split('\n')[0]).toMatch(/leader -$/);
    expect(formatStatus(status('mine')).split('\n')[0]).toMatch(/leader -$/);
  });
});
