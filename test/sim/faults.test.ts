import { describe, expect, it } from 'vitest';
import type { ControlAction } from '../../src/lib/control/api.js';
import { nemesisSchedule } from '../../src/lib/faults/nemesis.js';
import { applySimFault, SimNemesis, type FaultOutcome } from '../../src/lib/sim/faults.js';
import { toyCluster } from './toy-core.js';

const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];

function cluster(seed = 1) {
  const c = toyCluster(seed, {}, {}, ids);
  for (const id of ids) c.host.start(id);
  return c;
}

describe('sim faults are control actions', () => {
  it('partition by groups, by isolation (also of the leader) and at random, then heal', () => {
    const { host } = cluster();
    const faults = host.network.faults;
    expect(applySimFault({ type: 'partition', groups: [['n1', 'n2']] }, host)).toMatchObject({ ok: true });
    expect(faults.partition()).toEqual([
      ['n1', 'n2'],
      ['n3', 'n4', 'n5'],
    ]);
    expect(applySimFault({ type: 'partition', isolate: 'leader' }, host, { leader: () => 'n4' })).toMatchObject({ ok: true });
    expect(faults.partition()).toEqual([['n4'], ['n1', 'n2', 'n3', 'n5']]);
    expect(applySimFault({ type: 'partition', isolate: 'leader' }, host, { leader: () => null })).toEqual({ ok: false, reason: 'no node reports itself leader right now' });
    expect(applySimFault({ type: 'partition', random: true }, host)).toMatchObject({ ok: true });
    expect(faults.partition()!.map((g) => g.length)).toEqual([2, 3]);
    expect(applySimFault({ type: 'heal' }, host)).toMatchObject({ ok: true });
    expect(faults.isHealthy()).toBe(true);
  });

  it('bad partitions are refused the way the CLI refuses them', () => {
    const { host } = cluster();
    const refused = applySimFault({ type: 'partition', groups: [['n1', 'n9']] }, host) as Extract<FaultOutcome, { ok: false }>;
    expect(refused.ok).toBe(false);
    expect(refused.reason).toMatch(/unknown node "n9"/);
    expect(host.network.faults.partition()).toBeNull();
  });

  it('link faults set the FaultModel, globally or on one link', () => {
    const { host } = cluster();
    const faults = host.network.faults;
    expect(applySimFault({ type: 'link_faults', loss: 0.25, duplicate: 0.1 }, host)).toMatchObject({ ok: true });
    expect(applySimFault({ type: 'link_faults', link: 'n1-n2', delay_ms: 50, jitter_ms: 5 }, host)).toMatchObject({ ok: true });
    expect(faults.faultsOn('n3', 'n4')).toMatchObject({ loss: 0.25, duplicate: 0.1, delay_ms: 0 });
    expect(faults.faultsOn('n2', 'n1')).toMatchObject({ loss: 0.25, duplicate: 0.1, delay_ms: 50, jitter_ms: 5 });
    expect(applySimFault({ type: 'link_faults', jitter_ms: 5 }, host)).toMatchObject({ ok: false });
  });

  it('kill, restart, pause and resume act on the host with the supervisor\'s refusals', () => {
    const { host } = cluster();
    const apply = (action: ControlAction) => applySimFault(action, host, { leader: () => 'n3' });
    expect(apply({ type: 'kill', node: 'leader' })).toEqual({ ok: true, description: 'killed n3' });
    expect(host.node('n3').status).toBe('down');
    expect(apply({ type: 'kill', node: 'n3' })).toEqual({ ok: false, reason: 'n3 is already down' });
    expect(apply({ type: 'resume', node: 'n2' })).toEqual({ ok: false, reason: 'n2 is not paused' });
    expect(apply({ type: 'pause', node: 'n2' })).toEqual({ ok: true, description: 'paused n2' });
    expect(apply({ type: 'pause', node: 'n2' })).toEqual({ ok: false, reason: 'n2 is not up' });
    // A paused node can be killed, as SIGKILL kills a stopped process.
    expect(apply({ type: 'kill', node: 'n2' })).toEqual({ ok: true, description: 'killed n2' });
    expect(apply({ type: 'restart', node: 'n1' })).toEqual({ ok: false, reason: 'n1 is running' });
    expect(apply({ type: 'restart', node: 'random' })).toMatchObject({ ok: true });
    expect(apply({ type: 'restart', node: 'random' })).toMatchObject({ ok: true });
    expect(apply({ type: 'restart', node: 'random' })).toEqual({ ok: false, reason: 'no node is down' });
    expect(ids.map((id) => host.node(id).status)).toEqual(['up', 'up', 'up', 'up', 'up']);
    expect(apply({ type: 'kill', node: 'n7' })).toEqual({ ok: false, reason: 'unknown node "n7"' });
  });

  it('transfer goes to the system\'s hook; actions that are not faults are refused', () => {
    const { host } = cluster();
    expect(applySimFault({ type: 'transfer', node: 'n2' }, host)).toMatchObject({ ok: false });
    const asked: string[] = [];
    expect(applySimFault({ type: 'transfer', node: 'n2' }, host, { transfer: (n) => (asked.push(n), true) })).toMatchObject({ ok: true });
    expect(asked).toEqual(['n2']);
    expect(applySimFault({ type: 'down' }, host)).toEqual({ ok: false, reason: 'down is not a fault the simulator applies' });
  });
});

describe('sim nemesis runs the schedule `dslab nemesis` runs', () => {
  it('at each step undoes the previous fault, then applies the next, at the step\'s virtual time; the last heals', () => {
    const { host, scheduler } = cluster();
    const steps = nemesisSchedule(42, ids, 200, 3000);
    const seen: { at: number; action: ControlAction; ok: boolean }[] = [];
    const nemesis = new SimNemesis(scheduler, steps, (a) => applySimFault(a, host), 100, (action, outcome) =>
      seen.push({ at: scheduler.now_ms, action, ok: outcome.ok }),
    );
    scheduler.runUntil(100 + 3000);
    expect(nemesis.isRunning).toBe(false);
    // The same order the supervisor runs them in.
    const expected: { at: number; action: ControlAction }[] = [];
    let undo: ControlAction[] = [];
    for (const step of steps) {
      for (const a of undo) expected.push({ at: 100 + step.at_ms, action: a });
      if (step.apply) {
        expected.push({ at: 100 + step.at_ms, action: step.apply });
        undo = step.undo;
      } else {
        for (const a of step.undo) expected.push({ at: 100 + step.at_ms, action: a });
        undo = [];
      }
    }
    expect(seen.map(({ at, action }) => ({ at, action }))).toEqual(expected);
    // The schedule only ever undoes its own faults, so the cluster accepts every action.
    expect(seen.every((s) => s.ok)).toBe(true);
    expect(nemesis.counters).toEqual({ steps: steps.length, applied: expected.length, refused: 0 });
    // It exercised more than one kind of fault, and it leaves the cluster whole.
    expect(new Set(steps.flatMap((s) => (s.apply ? [s.apply.type] : []))).size).toBeGreaterThan(2);
    expect(host.network.faults.isHealthy()).toBe(true);
    expect(ids.every((id) => host.node(id).status === 'up')).toBe(true);
  });

  it('while a kill step is active the node is down, while a pause step is active it is paused', () => {
    const { host, scheduler } = cluster();
    const steps = nemesisSchedule(7, ids, 100, 5000);
    new SimNemesis(scheduler, steps, (a) => applySimFault(a, host), 0);
    let checked = 0;
    for (const step of steps.slice(0, -1)) {
      scheduler.runUntil(step.at_ms + 50);
      const apply = step.apply!;
      if (apply.type === 'kill') expect(host.node(apply.node).status).toBe('down');
      else if (apply.type === 'pause') expect(host.node(apply.node).status).toBe('paused');
      else if (apply.type === 'link_faults') expect(host.network.faults.isHealthy()).toBe(false);
      else if (apply.type === 'partition') expect(host.network.faults.partition()).not.toBeNull();
      else continue;
      checked++;
    }
    expect(checked).toBe(steps.length - 1);
  });

  it('stop undoes the active fault and heals, as `dslab nemesis --stop` does', () => {
    const { host, scheduler } = cluster();
    const steps = nemesisSchedule(3, ids, 100, 10_000);
    const kill = steps.findIndex((s) => s.apply?.type === 'kill');
    expect(kill).toBeGreaterThanOrEqual(0);
    const nemesis = new SimNemesis(scheduler, steps, (a) => applySimFault(a, host), 0);
    scheduler.runUntil(steps[kill]!.at_ms + 50);
    const victim = (steps[kill]!.apply as { node: string }).node;
    expect(host.node(victim).status).toBe('down');
    nemesis.stop();
    expect(nemesis.isRunning).toBe(false);
    expect(host.node(victim).status).toBe('up');
    const steps_run = nemesis.counters.steps;
    scheduler.runUntil(20_000);
    expect(nemesis.counters.steps).toBe(steps_run);
  });
});
