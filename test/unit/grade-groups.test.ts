import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { gradeTarget } from '../../src/lib/grade/grade.js';
import { listLabIds, loadLab } from '../../src/lib/grade/spec.js';
import { refCandidates } from '../../src/lib/grade/steps.js';
import { UserError } from '../../src/lib/util/errors.js';
import { findSystem, lab_plugins } from '../../src/registry.js';
import { nodeStatus } from '../helpers/status.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-groups-');

/** Writes a lab with these spec fields and tests (each test completed with what a test needs), and returns its folder. */
function labWith(fields: Record<string, unknown>, tests: Record<string, unknown>[]): string {
  const dir = tempDir();
  mkdirSync(path.join(dir, 'mine'));
  const full = tests.map((t, i) => ({ name: `t${i}`, description: 'd', points: 1, nodes: 2, time_limit_ms: 5000, steps: [{ do: 'sleep', ms: 1 }], ...t }));
  writeFileSync(path.join(dir, 'mine', 'spec.json'), JSON.stringify({ id: 'mine', title: 't', summary: 's', reference: 'snowflake', ...fields, tests: full }));
  return dir;
}

const load = (dir: string) => loadLab('mine', lab_plugins, dir);
const target = (dir: string, bin = 'python3 worker.py') => {
  const lab = load(dir);
  return { lab, target: gradeTarget(lab, findSystem(lab.reference), { repeat: 1, bin }) };
};
/** The file of a snowflake group's own program. */
const program = (group: string) => fileURLToPath(findSystem('snowflake')!.groups.find((g) => g.name === group)!.program!);

describe('the graded group of a multi-group lab', () => {
  it('runs the reference system\'s groups, --bin replacing only the graded group\'s program, counted by the test\'s nodes', () => {
    const { target: t } = target(labWith({ graded_group: 'workers' }, [{ nodes: 4 }]));
    expect(t.graded_group).toBe('workers');
    expect(t.groups.get('t0')).toEqual([
      { name: 'coordinator', prefix: 'z', count: 3, command: [process.execPath, program('coordinator')] },
      { name: 'workers', prefix: 'w', count: 4, command: ['python3', 'worker.py'] },
    ]);
    // The workers answer generate; the coordinator `dslab zk`, as in `up`.
    expect(t.workload_groups).toEqual({ zk: 'coordinator' });
  });

  it('takes the other groups\' counts from the test\'s groups, defaulting each to its count flag\'s default', () => {
    const { target: t } = target(labWith({ graded_group: 'workers' }, [{ nodes: 2, groups: { coordinator: 5 } }, { nodes: 1 }]));
    expect(t.groups.get('t0')!.map((g) => [g.name, g.count])).toEqual([['coordinator', 5], ['workers', 2]]);
    expect(t.groups.get('t1')!.map((g) => [g.name, g.count])).toEqual([['coordinator', 3], ['workers', 1]]);
  });

  it("defaults to the system's first program group: with --reference the program is that group's own", () => {
    const lab = load(labWith({}, [{ nodes: 3 }]));
    expect(lab.graded_group).toBe('coordinator');
    const t = gradeTarget(lab, findSystem('snowflake'), { repeat: 1, reference: true });
    expect(t.groups.get('t0')!.map((g) => [g.name, g.count, g.command.at(-1)])).toEqual([['coordinator', 3, program('coordinator')], ['workers', 3, program('workers')]]);
    const workers = gradeTarget(load(labWith({ graded_group: 'workers' }, [{ nodes: 2 }])), findSystem('snowflake'), { repeat: 1, reference: true });
    expect(workers.groups.get('t0')!.map((g) => g.command.at(-1))).toEqual([program('coordinator'), program('workers')]);
  });

  it('leaves every single-group lab as it was: one group "nodes" (n1..nN) running the target', () => {
    for (const id of listLabIds()) {
      const lab = loadLab(id, lab_plugins);
      if (findSystem(lab.reference)!.groups.length > 1) continue;
      const t = gradeTarget(lab, findSystem(lab.reference), { repeat: 1, bin: 'node n.js' });
      for (const test of lab.tests) expect(t.groups.get(test.name), `${id} ${test.name}`).toEqual([{ name: 'nodes', prefix: 'n', count: test.nodes, command: ['node', 'n.js'] }]);
    }
  });

  it('refuses at load a graded group the system lacks or that runs servers, and groups counts naming no group or the graded one', () => {
    expect(() => load(labWith({ graded_group: 'wrokers' }, [{}]))).toThrow(UserError);
    expect(() => load(labWith({ graded_group: 'wrokers' }, [{}]))).toThrow(/mine\/spec\.json: graded_group: system snowflake has no group "wrokers" \(its groups: coordinator, workers\)$/);
    expect(() => load(labWith({ reference: 'locks', graded_group: 'redis' }, [{}]))).toThrow(/graded_group: group redis of system locks runs real servers, not a node program \(program groups: coordinator, resource, contenders\)$/);
    expect(() => load(labWith({ graded_group: 'workers' }, [{ groups: { coordinators: 3 } }]))).toThrow(/tests\.0\.groups\.coordinators: system snowflake has no group "coordinators" \(its groups: coordinator, workers; test t0\)$/);
    expect(() => load(labWith({ graded_group: 'workers' }, [{ groups: { workers: 3 } }]))).toThrow(/tests\.0\.groups\.workers: workers is the graded group, whose count is the test's "nodes" \(test t0\)$/);
    expect(() => load(labWith({ graded_group: 'workers' }, [{ groups: { coordinator: 0 } }]))).toThrow(/tests\.0\.groups\.coordinator: /);
  });

  it("follows a system whose groups depend on the test's options (locks' backend), refusing a count for a group those options do not run", () => {
    const locks = (tests: Record<string, unknown>[]) => target(labWith({ reference: 'locks', graded_group: 'contenders' }, tests), 'python3 contender.py');
    const { target: t } = locks([{ nodes: 4, options: { lock_backend: 'zk' }, groups: { coordinator: 5 } }]);
    expect(t.groups.get('t0')!.map((g) => [g.name, g.count, g.command[0]])).toEqual([['coordinator', 5, process.execPath], ['resource', 1, process.execPath], ['contenders', 4, 'python3']]);
    expect(() => locks([{ options: { lock_backend: 'redis' }, groups: { coordinator: 3 } }])).toThrow(/tests\.0 \(t0\): groups\.coordinator: with these options system locks runs no group coordinator \(it runs redis, resource, contenders\)$/);
    expect(() => target(labWith({ reference: 'locks', graded_group: 'coordinator' }, [{ options: { lock_backend: 'redis' } }]))).toThrow(/with these options system locks runs no group coordinator, the lab's graded group \(it runs redis, resource, contenders\)$/);
  });
});

describe('node references across groups', () => {
  const nodes = [
    nodeStatus('z1', { group: 'coordinator', state: { role: 'following' } }),
    nodeStatus('z2', { group: 'coordinator', state: { role: 'leading' } }),
    nodeStatus('z3', { group: 'coordinator', status: 'down' }),
    nodeStatus('w1', { group: 'workers' }),
    nodeStatus('w2', { group: 'workers' }),
  ];
  const fail = (message: string): never => {
    throw new Error(message);
  };
  const candidates = (ref: string, excluding: string[] = [], leader: string | null = 'z2') => refCandidates(ref, { nodes, graded_group: 'workers', leader: () => leader, excluding: new Set(excluding), fail });

  it('"random" chooses among the graded group\'s up nodes, "random:GROUP" among that group\'s', () => {
    expect(candidates('random')).toEqual(['w1', 'w2']);
    expect(candidates('random', ['w1'])).toEqual(['w2']);
    expect(candidates('random:coordinator')).toEqual(['z1', 'z2']);
    expect(() => candidates('random:coordinators')).toThrow('"random:coordinators" names no group of this cluster (groups: coordinator, workers)');
  });

  it('"follower" is an up node of the leader\'s group other than the leader; with no leader, a node under test', () => {
    expect(candidates('follower')).toEqual(['z1']);
    expect(candidates('follower', [], null)).toEqual(['w1', 'w2']);
  });
});
