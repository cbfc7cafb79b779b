import { describe, expect, it } from 'vitest';
import type { NodeStatus } from '../../src/lib/control/api.js';
import { Recorder } from '../../src/lib/grade/recorder.js';
import { generic_steps, refCandidates, type Step, type StepContext } from '../../src/lib/grade/steps.js';
import { isEstablishedLeader } from '../../src/lib/roles.js';
import { createRng } from '../../src/lib/util/prng.js';
import { raft_roles } from '../../src/systems/raft/plugin.js';
import { zab_roles } from '../../src/systems/zab/plugin.js';
import { appliedValue, zab_steps } from '../../src/systems/zab/steps.js';
import { clusterStatus, nodeStatus } from '../helpers/status.js';

const step = (name: string) => generic_steps.find((s) => s.name === name)!;

/** A context over fixed node states (each poll reads `states()` again), recording what steps save. */
function context(states: () => Record<string, Record<string, unknown>>, recorder = new Recorder(new Set(), zab_roles)) {
  const saved = new Map<string, string>();
  const memos = new Map<string, unknown>();
  const nodes = (): NodeStatus[] => Object.entries(states()).map(([id, state]) => nodeStatus(id, { state, state_at_ms: 1 }));
  const ctx = {
    rng: createRng(1),
    roles: zab_roles,
    recorder,
    status: () => clusterStatus(nodes()),
    fail: (message: string) => {
      throw new Error(message);
    },
    save: (name: string, node: string) => saved.set(name, node),
    memo: <T>(key: string, create: () => T): T => {
      if (!memos.has(key)) memos.set(key, create());
      return memos.get(key) as T;
    },
    node: (ref: string) => {
      if (ref.startsWith('$')) return saved.get(ref.slice(1))!;
      if (ref === 'leader') return nodes().find((n) => n.state.role === 'leading')!.id;
      return ref;
    },
    candidates: (ref: string, excluding: ReadonlySet<string> = new Set()) =>
      refCandidates(ref, { nodes: nodes(), graded_group: 'nodes', leader: () => nodes().find((n) => n.state.role === 'leading')?.id ?? null, excluding, fail: ctx.fail }),
  };
  return { ctx: ctx as unknown as StepContext, saved };
}

const run = (ctx: StepContext, s: Step) => step(s.do).run(s, ctx);

describe('a Zab leader counts once it is established', () => {
  it('by the role vocabulary: a leader-elect is not yet its epoch\'s leader; Raft has no such field', () => {
    expect(isEstablishedLeader(zab_roles, { role: 'leading', epoch: 1, established: false })).toBe(false);
    expect(isEstablishedLeader(zab_roles, { role: 'leading', epoch: 2, established: true })).toBe(true);
    expect(isEstablishedLeader(zab_roles, { role: 'following', epoch: 2, established: true })).toBe(false);
    expect(isEstablishedLeader(raft_roles, { role: 'leader', term: 2 })).toBe(true);
  });

  it('in one_leader_per_term: an old leader and a new one still in discovery at the same epoch are no violation; two established are', () => {
    const recorder = new Recorder(new Set(['one_leader_per_term']), zab_roles);
    recorder.onEvent({ type: 'node_state', node: 'n1', state: { role: 'leading', epoch: 1, established: true }, t: 1, seq: 1 });
    recorder.onEvent({ type: 'node_state', node: 'n2', state: { role: 'leading', epoch: 1, established: false }, t: 2, seq: 2 });
    expect(recorder.firstViolation()).toBeNull();
    expect(recorder.maxLeaderTerm).toBe(1);
    recorder.onEvent({ type: 'node_state', node: 'n2', state: { role: 'leading', epoch: 1, established: true }, t: 3, seq: 3 });
    expect(recorder.firstViolation()).toBe('two leaders in term 1: n1 and n2');
  });

  it('in wait_leader, which also fails when the leader is not the expected one', async () => {
    let states: Record<string, Record<string, unknown>> = { n1: { role: 'following', epoch: 1 }, n2: { role: 'leading', epoch: 1, established: false } };
    const { ctx, saved } = context(() => states);
    await expect(run(ctx, { do: 'wait_leader', within_ms: 0 })).rejects.toThrow('no leader within 0 ms');
    states = { n1: { role: 'following', epoch: 2 }, n2: { role: 'leading', epoch: 2, established: true } };
    await run(ctx, { do: 'wait_leader', within_ms: 0 });
    expect(saved.get('leader')).toBe('n2');
    await expect(run(ctx, { do: 'wait_leader', within_ms: 0, expect: 'n1' })).rejects.toThrow('n2 became leader (term 2), but n1 should have won');
  });
});

describe('generic steps the Zab labs use', () => {
  it('pick takes the first or last follower in the ensemble\'s order', async () => {
    const { ctx, saved } = context(() => ({ n1: { role: 'following' }, n2: { role: 'leading' }, n3: { role: 'following' }, n4: { role: 'following' } }));
    await run(ctx, { do: 'pick', node: 'follower', rank: 'last', save_as: 'stale' });
    await run(ctx, { do: 'pick', node: 'follower', rank: 'first', save_as: 'ahead' });
    await run(ctx, { do: 'pick', node: 'follower', rank: 'first', not: ['n1'], save_as: 'next' });
    expect([saved.get('stale'), saved.get('ahead'), saved.get('next')]).toEqual(['n4', 'n1', 'n3']);
  });

  it('wait_state waits for a field to rise above its value at the start, or to equal one', async () => {
    let accepted = 1;
    const { ctx } = context(() => ({ n1: { role: 'following', accepted_epoch: accepted } }));
    const rising = run(ctx, { do: 'wait_state', node: 'n1', field: 'accepted_epoch', rises: true, within_ms: 5000 });
    accepted = 2;
    await expect(rising).resolves.toBeUndefined();
    await expect(run(ctx, { do: 'wait_state', node: 'n1', field: 'accepted_epoch', rises: true, within_ms: 0 })).rejects.toThrow("n1's accepted_epoch is 2 after 0 ms, expected above 2");
    await expect(run(ctx, { do: 'wait_state', node: 'n1', field: 'role', equals: 'following', within_ms: 0 })).resolves.toBeUndefined();
    await expect(run(ctx, { do: 'wait_state', node: 'n1', field: 'role', within_ms: 0 })).rejects.toThrow('exactly one of equals and rises');
  });

  it('expect_never_led reads the whole timeline: a node that once led fails, an observer that never reported observing too', async () => {
    const recorder = new Recorder(new Set(), zab_roles);
    const state = (node: string, role: string, t: number) => recorder.onEvent({ type: 'node_state', node, state: { role, epoch: 1 }, t, seq: t });
    state('n4', 'looking', 1);
    state('n4', 'observing', 2);
    state('n5', 'looking', 3);
    state('n3', 'leading', 4);
    state('n3', 'looking', 5);
    const { ctx } = context(() => ({}), recorder);
    await expect(run(ctx, { do: 'expect_never_led', nodes: ['n4'], seen_as: 'observing' })).resolves.toBeUndefined();
    await expect(run(ctx, { do: 'expect_never_led', nodes: ['n4', 'n5'], seen_as: 'observing' })).rejects.toThrow('n5 never reported role observing');
    await expect(run(ctx, { do: 'expect_never_led', nodes: ['n3'] })).rejects.toThrow('n3 reported role leading in term 1, but it must never lead');
  });
});

describe('the written data in a dslab_apply op', () => {
  it("is found in dslab's Zab host's {zxid, txn} and in a student's flat op; session txns write none", () => {
    expect(appliedValue({ zxid: '1:3', txn: { type: 'create', session: 's1.1', path: '/w3', data: 'w3', ephemeral: false, sequential: false } })).toBe('w3');
    expect(appliedValue({ zxid: '1:3', type: 'create', path: '/w3', data: 'w3' })).toBe('w3');
    expect(appliedValue({ zxid: '1:3', value: 'w3' })).toBe('w3');
    expect(appliedValue({ zxid: '1:1', txn: { type: 'create_session', session: 's1.1', timeout_ms: 2000 } })).toBeNull();
    expect(appliedValue(null)).toBeNull();
  });
});

describe('zab_write with concurrency', () => {
  /** A leader that answers after a tick, counting the creates in flight at once. */
  function writesContext() {
    const { ctx } = context(() => ({ n1: { role: 'leading', epoch: 1, established: true }, n2: { role: 'following', epoch: 1 } }));
    const seen = { connects: 0, creates: [] as string[], in_flight: 0, in_flight_max: 0 };
    Object.assign(ctx, {
      supervisor: {
        events: { subscribe: () => () => undefined },
        request: async (_client: string, _dest: string, body: Record<string, unknown>) => {
          if (body.type === 'connect') {
            seen.connects++;
            return { type: 'connect_ok', session: `s${seen.connects}` };
          }
          seen.in_flight++;
          seen.in_flight_max = Math.max(seen.in_flight_max, seen.in_flight);
          await new Promise((resolve) => setTimeout(resolve, 5));
          seen.in_flight--;
          seen.creates.push(String(body.data));
          return { type: 'create_ok', path: body.path, stat: { czxid: seen.creates.length } };
        },
      },
    });
    return { ctx, seen };
  }
  const zabWrite = (ctx: StepContext, s: Step) => zab_steps.find((d) => d.name === 'zab_write')!.run(s, ctx);

  it('keeps that many writes in flight in one session, and writes each value once', async () => {
    const { ctx, seen } = writesContext();
    await zabWrite(ctx, { do: 'zab_write', count: 20, expect: 'ok', timeout_ms: 5000, concurrency: 4 });
    expect(seen.connects).toBe(1);
    expect(seen.in_flight_max).toBe(4);
    expect([...seen.creates].sort()).toEqual(Array.from({ length: 20 }, (_, i) => `w${i + 1}`).sort());
  });

  it('without it, one write after another', async () => {
    const { ctx, seen } = writesContext();
    await zabWrite(ctx, { do: 'zab_write', count: 5, expect: 'ok', timeout_ms: 5000 });
    expect(seen.in_flight_max).toBe(1);
    expect(seen.creates).toEqual(['w1', 'w2', 'w3', 'w4', 'w5']);
  });
});
