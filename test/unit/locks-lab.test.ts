import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { gradeTarget } from '../../src/lib/grade/grade.js';
import { initLab } from '../../src/lib/grade/init.js';
import { loadLab } from '../../src/lib/grade/spec.js';
import { findSystem, lab_plugins } from '../../src/registry.js';
import { readLockPlantedBug } from '../../src/systems/locks/options.js';
import { Resource } from '../../src/systems/locks/resource.js';
import type { LockReport, Observation } from '../../src/systems/locks/observations.js';
import { locks_checks } from '../../src/workloads/locks/steps.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-locks-lab-');

/** A read and a write of one critical section at the resource. */
function section(node: string, round: number, token: number | null, read_ms: number, write_ms: number, value_read: number, accepted = true): Observation[] {
  const common = { node, round, token, acquired_ms: read_ms - 1, ttl_ms: 2000 };
  return [
    { kind: 'read', ...common, at_ms: read_ms, value: value_read },
    { kind: 'write', ...common, at_ms: write_ms, value: value_read + 1, accepted },
  ];
}

function saved(observations: Observation[], counter: number, fencing = false): string {
  const report: LockReport = { counter_place: 'resource', fencing, counter, max_token: null, observations, dropped: 0, total: observations.length, next: null };
  const file = path.join(tempDir(), 'history-1.jsonl');
  writeFileSync(file, JSON.stringify(report) + '\n');
  return file;
}

const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('the lock checks over a saved resource report', () => {
  it('pass a run whose sections follow one another with nothing lost', () => {
    const file = saved([...section('k1', 1, 1, t0, t0 + 50, 0), ...section('k2', 1, 2, t0 + 60, t0 + 110, 1)], 2, true);
    for (const check of Object.values(locks_checks)) expect(check.check(file, 1000, t0)).toEqual({ result: 'valid' });
  });

  it('fail overlapping sections and the increment they lost, in words', () => {
    const file = saved([...section('k1', 1, null, t0, t0 + 200, 0), ...section('k2', 1, null, t0 + 50, t0 + 150, 0)], 1);
    const exclusion = locks_checks.mutual_exclusion!.check(file, 1000, t0);
    expect(exclusion.result).toBe('invalid');
    expect(exclusion.violation!.failure).toMatch(/^mutual exclusion failed: k1 and k2 both held the lock 12:00:00\.050–\.150; 1 increment lost/);
    // Reports draw operations only for a check that gives some: this one names none.
    expect(exclusion.violation!.ops).toEqual([]);
    expect(locks_checks.no_lost_increments!.check(file, 1000, t0).violation!.failure).toMatch(/^no lost increments failed: the counter is 1 after 2 acknowledged increments: 1 lost/);
  });

  it('fail an accepted write whose token equals the last accepted one, and a fencing check of a run without fencing', () => {
    const equal = saved([...section('k1', 1, 5, t0, t0 + 50, 0), ...section('k2', 1, 5, t0 + 60, t0 + 110, 1)], 2, true);
    expect(locks_checks.fencing_monotonic!.check(equal, 1000, t0).violation!.failure).toMatch(/k2's write at 12:00:00\.110 was accepted with token 5, not above k1's 5 before it/);
    const unfenced = saved(section('k1', 1, 1, t0, t0 + 50, 0), 1, false);
    expect(locks_checks.fencing_monotonic!.check(unfenced, 1000, t0).violation!.failure).toMatch(/the resource did not fence/);
  });

  it('say a file that is no lock report cannot be judged', () => {
    const file = path.join(tempDir(), 'x.jsonl');
    writeFileSync(file, 'nope\n');
    expect(locks_checks.mutual_exclusion!.check(file, 1000, t0)).toMatchObject({ result: 'unknown' });
  });
});

describe('the planted bugs of the locks lab', () => {
  it('accept_equal_token lets a second write with the largest accepted token through; the reference refuses it', () => {
    const fields = (token: number) => ({ round: token, token, acquired_ms: 0, ttl_ms: 1000 });
    const reference = new Resource(true, 'resource');
    expect(reference.write('k1', fields(5), 1, 0)).toBeNull();
    expect(reference.write('k2', fields(5), 2, 1)).toMatch(/stale token 5: a write with token 5 was already accepted/);
    const planted = new Resource(true, 'resource', null, 'accept_equal_token');
    expect(planted.write('k1', fields(5), 1, 0)).toBeNull();
    expect(planted.write('k2', fields(5), 2, 1)).toBeNull();
    // Still a fence below the largest token.
    expect(planted.write('k3', fields(4), 3, 2)).toMatch(/stale token 4/);
  });

  it('names the bugs it knows when DSLAB_LOCKS_PLANTED_BUG names another', () => {
    expect(readLockPlantedBug({})).toBeNull();
    expect(readLockPlantedBug({ DSLAB_LOCKS_PLANTED_BUG: 'trust_watch' })).toBe('trust_watch');
    expect(() => readLockPlantedBug({ DSLAB_LOCKS_PLANTED_BUG: 'nope' })).toThrow(/names no planted bug \(plain_del, separate_expire, watch_holder, trust_watch, no_lease_recheck, accept_equal_token\)/);
  });
});

describe('the locks lab', () => {
  const program = (group: string) => fileURLToPath(findSystem('locks')!.groups.find((g) => g.name === group)!.program!);

  it('runs the program under test as every contender and as the resource, beside the backend the test chose', () => {
    const lab = loadLab('locks', lab_plugins);
    expect(lab.graded_group).toBe('contenders');
    const bin = gradeTarget(lab, findSystem('locks'), { repeat: 1, bin: 'python3 node.py' });
    expect(bin.groups.get('zk-no-herd')!.map((g) => [g.name, g.count, g.command])).toEqual([
      ['coordinator', 3, [process.execPath, program('coordinator')]],
      ['resource', 1, ['python3', 'node.py']],
      ['contenders', 5, ['python3', 'node.py']],
    ]);
    expect(bin.groups.get('redis-slow-unlock')!.map((g) => [g.name, g.count, g.command])).toEqual([
      ['redis', 1, []],
      ['resource', 1, ['python3', 'node.py']],
      ['contenders', 4, ['python3', 'node.py']],
    ]);
    // --reference: each group its own program.
    const reference = gradeTarget(lab, findSystem('locks'), { repeat: 1, reference: true });
    expect(reference.groups.get('zk-no-herd')!.map((g) => g.command.at(-1))).toEqual([program('coordinator'), program('resource'), program('contenders')]);
  });

  it('refuses a spec whose also_graded names a server group or no group, and a check no one has', () => {
    const write = (fields: Record<string, unknown>, checks: string[] = []) => {
      const dir = tempDir();
      mkdirSync(path.join(dir, 'mine'));
      writeFileSync(path.join(dir, 'mine', 'spec.json'), JSON.stringify({ id: 'mine', title: 't', summary: 's', reference: 'locks', graded_group: 'contenders', ...fields, tests: [{ name: 't', description: 'd', points: 1, nodes: 1, time_limit_ms: 5000, steps: [{ do: 'sleep', ms: 1 }], checks }] }));
      return () => loadLab('mine', lab_plugins, dir);
    };
    expect(write({ also_graded: ['redis'] })).toThrow(/also_graded: group redis of system locks runs real servers, not a node program/);
    expect(write({ also_graded: ['workers'] })).toThrow(/also_graded: system locks has no group "workers"/);
    expect(write({}, ['exclusive'])).toThrow(/tests\.0\.checks: "exclusive" is not a check dslab knows; this lab.s checks: .*mutual_exclusion, no_lost_increments, fencing_monotonic/);
    expect(write({}, ['mutual_exclusion'])().tests[0]!.checks).toEqual(['mutual_exclusion']);
  });

  it('gives a Python starter with the plumbing inlined and dslab\'s dist folder filled in', () => {
    const dir = path.join(tempDir(), 'mine');
    const result = initLab('locks', 'python', dir, lab_plugins);
    expect(result.files).toContain('node.py');
    const source = readFileSync(path.join(dir, 'node.py'), 'utf8');
    expect(source).not.toContain('__DSLAB_DIST__');
    // The installation's build (its source tree when dslab runs from source, as under vitest): the folder holding systems/locks.
    const dist = /_DSLAB_DIST = "([^"]+)"/.exec(source)![1]!;
    expect(existsSync(path.join(dist, 'systems', 'locks'))).toBe(true);
    expect(source).toContain('class Node:');
    const ts = readFileSync(path.join(initLab('locks', 'ts', path.join(tempDir(), 'ts'), lab_plugins).dir, 'node.ts'), 'utf8');
    expect(ts).not.toMatch(/__DSLAB_(RUNTIME|DIST)__/);
  });
});
