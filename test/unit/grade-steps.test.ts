import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diagnose, Evidence } from '../../src/lib/grade/diagnose.js';
import { listLabIds, loadLab } from '../../src/lib/grade/spec.js';
import { defineStep, generic_steps, stepVocabulary, type StepContext } from '../../src/lib/grade/steps.js';
import type { ClusterStatus } from '../../src/lib/control/api.js';
import { createRng } from '../../src/lib/util/prng.js';
import { custom_system_view, lab_plugins } from '../../src/registry.js';
import { raft_steps } from '../../src/systems/raft/steps.js';
import { clusterStatus, nodeStatus } from '../helpers/status.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-steps-');

/** Writes a one-test lab whose test runs the given steps, and returns its folder. */
function labWith(fields: Record<string, unknown>, steps: unknown[]): string {
  const dir = tempDir();
  mkdirSync(path.join(dir, 'mine'));
  const test = { name: 'only', description: 'd', points: 1, nodes: 3, time_limit_ms: 5000, steps };
  writeFileSync(path.join(dir, 'mine', 'spec.json'), JSON.stringify({ id: 'mine', title: 't', summary: 's', reference: 'raft', ...fields, tests: [test] }));
  return dir;
}

describe("a lab's steps", () => {
  const specific = ['echo', 'generate', 'kv', 'load', 'wait_load', 'send_writes', 'wait_caught_up'];

  it('are the generic ones and those of its system and its workloads: workload and Raft steps are not generic', () => {
    const generic = generic_steps.map((s) => s.name);
    for (const name of specific) expect(generic).not.toContain(name);
    const kinds = (id: string) => [...loadLab(id, lab_plugins).steps.keys()];
    // maelstrom_run (dslab test's runner) is every lab's, after the grader's own.
    expect(kinds('echo')).toEqual([...generic, 'maelstrom_run', 'echo']);
    expect(kinds('unique-ids')).toEqual([...generic, 'maelstrom_run', 'generate']);
    for (const id of ['raft-election', 'raft-replication', 'raft-persistence', 'raft-snapshots', 'kv-linearizable']) {
      expect(kinds(id), id).toEqual([...generic, 'maelstrom_run', 'wait_caught_up', 'kv', 'load', 'wait_load', 'send_writes']);
    }
    // Every shipped lab still loads with its own vocabulary.
    for (const id of listLabIds()) expect(loadLab(id, lab_plugins).tests.length, id).toBeGreaterThan(0);
  });

  it("refuse a step of a workload the lab's system does not speak, naming the file, the test, the step and its owner", () => {
    const dir = labWith({ reference: 'echo' }, [{ do: 'sleep', ms: 1 }, { do: 'kv', f: 'read', key: 'k', expect: 'ok', timeout_ms: 10 }]);
    expect(() => loadLab('mine', lab_plugins, dir)).toThrow(
      /mine\/spec\.json: tests\.0\.steps\.1\.do: "kv" \(test only, step 2\) is a step of workload lin-kv, which this lab \(system echo, workload echo\) does not include; this lab's steps: wait_leader, .*, echo$/,
    );
  });

  it("refuse a Raft step in a lab of another system, and a step no plugin has", () => {
    expect(() => loadLab('mine', lab_plugins, labWith({ reference: 'unique-ids' }, [{ do: 'wait_caught_up', within_ms: 10 }]))).toThrow(/"wait_caught_up" \(test only, step 1\) is a step of system raft, which this lab \(system unique-ids, workload unique-ids\)/);
    expect(() => loadLab('mine', lab_plugins, labWith({}, [{ do: 'teleport' }]))).toThrow(/tests\.0\.steps\.0\.do: "teleport" \(test only, step 1\) is not a step dslab knows/);
  });

  it("check a contributed step's fields by its own schema, naming the field", () => {
    expect(() => loadLab('mine', lab_plugins, labWith({}, [{ do: 'wait_caught_up', within_ms: -1 }]))).toThrow(/tests\.0\.steps\.0\.within_ms: .* \(test only, step 1, wait_caught_up\)$/);
    expect(() => loadLab('mine', lab_plugins, labWith({}, [{ do: 'kv', f: 'upsert', key: 'k', expect: 'ok', timeout_ms: 10 }]))).toThrow(/tests\.0\.steps\.0\.f: /);
    const lab = loadLab('mine', lab_plugins, labWith({}, [{ do: 'wait_caught_up', within_ms: 10, min_commit_index: 2, colour: 'red' }]));
    expect(lab.tests[0]!.steps).toEqual([{ do: 'wait_caught_up', within_ms: 10, min_commit_index: 2 }]);
  });

  it('take the workloads a spec names instead of its system\'s, and refuse a workload dslab does not have', () => {
    const kv = { do: 'kv', f: 'read', key: 'k', expect: 'any', timeout_ms: 10 };
    expect([...loadLab('mine', lab_plugins, labWith({ reference: 'echo', workloads: ['lin-kv'] }, [kv])).steps.keys()]).toContain('kv');
    expect(() => loadLab('mine', lab_plugins, labWith({ workloads: ['echo'] }, [kv]))).toThrow(/"kv" \(test only, step 1\) is a step of workload lin-kv, which this lab \(system raft, workload echo\)/);
    expect(() => loadLab('mine', lab_plugins, labWith({ workloads: ['lin-kvv'] }, [kv]))).toThrow(/mine\/spec\.json: workloads: no workload is named "lin-kvv"/);
  });

  it("take a history check from the lab's workloads, and refuse one no workload of the lab has", () => {
    const load = { do: 'load', clients: 1, rate_per_s: 1, duration_ms: 100, keys: 1 };
    const withChecks = (fields: Record<string, unknown>, checks: string[], steps: unknown[] = [load]) => {
      const dir = labWith(fields, steps);
      const spec = path.join(dir, 'mine', 'spec.json');
      const lab = JSON.parse(readFileSync(spec, 'utf8'));
      lab.tests[0].checks = checks;
      writeFileSync(spec, JSON.stringify(lab));
      return dir;
    };
    const lab = loadLab('mine', lab_plugins, withChecks({}, ['linearizable']));
    expect(lab.workload_plugins.map((w) => w.name)).toEqual(['lin-kv']);
    expect(Object.keys(lab.workload_plugins[0]!.checks)).toEqual(['linearizable']);
    expect(() => loadLab('mine', lab_plugins, withChecks({ reference: 'echo', workloads: ['echo'] }, ['linearizable'], [{ do: 'sleep', ms: 1 }]))).toThrow(
      /mine\/spec\.json: tests\.0\.checks: "linearizable" is a check of workload lin-kv, which this lab \(system echo, workload echo\) does not use/,
    );
  });

  it("take any workload's history check by its name (zk's zk_linearizable), and name the allowed checks when one is unknown", () => {
    const withChecks = (checks: string[]) => {
      const dir = labWith({ reference: 'zab' }, [{ do: 'wait_leader', within_ms: 10 }]);
      const spec = path.join(dir, 'mine', 'spec.json');
      const lab = JSON.parse(readFileSync(spec, 'utf8'));
      lab.tests[0].checks = checks;
      writeFileSync(spec, JSON.stringify(lab));
      return dir;
    };
    const lab = loadLab('mine', lab_plugins, withChecks(['one_leader_per_term', 'zk_linearizable']));
    expect(lab.tests[0]!.checks).toEqual(['one_leader_per_term', 'zk_linearizable']);
    expect(lab.workload_plugins.map((w) => w.name)).toEqual(['zk']);
    expect(() => loadLab('mine', lab_plugins, withChecks(['zk_linearisable']))).toThrow(
      /mine\/spec\.json: tests\.0\.checks: "zk_linearisable" is not a check dslab knows; this lab's checks: one_leader_per_term, terms_monotonic, applied_agree, no_crash, zk_linearizable$/,
    );
    // lin-kv's check is not the zk lab's, and a name an object has by inheritance is no check.
    expect(() => loadLab('mine', lab_plugins, withChecks(['linearizable']))).toThrow(/"linearizable" is a check of workload lin-kv, which this lab \(system zab, workload zk\) does not use/);
    expect(() => loadLab('mine', lab_plugins, withChecks(['toString']))).toThrow(/"toString" is not a check dslab knows/);
  });

  it('may not have two steps of one name', () => {
    const twin = defineStep({ name: 'sleep', description: 'd', fields: {}, run: async () => undefined });
    expect(() => stepVocabulary([{ owner: 'workload mine', steps: [twin] }])).toThrow(/step sleep is defined by both the grader and workload mine/);
  });
});

describe("a contributed step's traits drive the diagnosis", () => {
  const silent = clusterStatus(['n1', 'n2', 'n3'].map((id) => nodeStatus(id)), { links: [{ link: 'n1->n2', delivered: 5, dropped: 0, duplicated: 0 }] });
  const quiet = clusterStatus(['n1', 'n2', 'n3'].map((id) => nodeStatus(id)), { links: [] });
  const diagnosis = (traits: object, status: ClusterStatus, step: Record<string, unknown> = {}) => {
    const definition = defineStep({ name: 'wait_thing', description: 'd', fields: {}, ...traits, run: async () => undefined });
    const steps = stepVocabulary([{ owner: 'system mine', steps: [definition] }]);
    return diagnose({ failed_at: { do: 'wait_thing', ...step }, steps, exits_told: [], status, evidence: new Evidence(custom_system_view.roles), state_reports_help: 'help' });
  };

  it('needs_state_reports: silent nodes are named as the cause; without it they are not', () => {
    expect(diagnosis({ needs_state_reports: true }, silent)).toBe('n1..n3 sent no dslab_state reports, and this test needs them (help)');
    expect(diagnosis({}, silent)).toBeNull();
  });

  it('needs_traffic: nodes that sent nothing to each other are the cause; node_fields naming "leader" need state reports', () => {
    expect(diagnosis({ needs_traffic: true }, quiet)).toBe('no node sent any message to another node');
    expect(diagnosis({}, quiet)).toBeNull();
    expect(diagnosis({ node_fields: ['target'] }, silent, { target: 'leader' })).toMatch(/sent no dslab_state reports/);
    expect(diagnosis({ node_fields: ['target'] }, silent, { target: 'n2' })).toBeNull();
  });
});

describe("Raft's wait_caught_up", () => {
  const wait = raft_steps.find((s) => s.name === 'wait_caught_up')!;
  /** A context whose cluster reports these commit indexes, and whose fail throws its message. */
  const context = (commits: Record<string, number>): StepContext =>
    ({
      rng: createRng(1),
      status: () => clusterStatus(Object.entries(commits).map(([id, commit_index]) => nodeStatus(id, { state: { commit_index }, state_at_ms: 1 }))),
      fail: (message: string) => {
        throw new Error(message);
      },
    }) as unknown as StepContext;

  it("passes once every up node's commit_index is the leader's and at least the minimum, and otherwise names each node's", async () => {
    await expect(wait.run({ do: 'wait_caught_up', within_ms: 0, min_commit_index: 3 }, context({ n1: 4, n2: 4 }))).resolves.toBeUndefined();
    await expect(wait.run({ do: 'wait_caught_up', within_ms: 0 }, context({ n1: 4, n2: 2 }))).rejects.toThrow('nodes did not catch up within 0 ms: commit indexes n1=4, n2=2');
    await expect(wait.run({ do: 'wait_caught_up', within_ms: 0, min_commit_index: 5 }, context({ n1: 4, n2: 4 }))).rejects.toThrow(/commit indexes n1=4, n2=4/);
  });
});
