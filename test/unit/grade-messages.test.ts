import { describe, expect, it } from 'vitest';
import type { ClusterEvent } from '../../src/lib/control/api.js';
import { Evidence } from '../../src/lib/grade/diagnose.js';
import { Recorder } from '../../src/lib/grade/recorder.js';
import { describeReply, unexpectedReply, type StepContext } from '../../src/lib/grade/steps.js';
import { createRng } from '../../src/lib/util/prng.js';
import { raft_roles } from '../../src/systems/raft/plugin.js';
import { zab_roles } from '../../src/systems/zab/plugin.js';
import { echo_steps } from '../../src/workloads/echo/steps.js';
import { unique_ids_steps } from '../../src/workloads/unique-ids/steps.js';
import { clusterStatus, nodeStatus } from '../helpers/status.js';

let seq = 0;
const event = (body: Record<string, unknown>) => ({ t: ++seq, seq, ...body }) as ClusterEvent;

/** A step context whose one node answers every request with `reply`; fail throws the message. */
function answering(reply: Record<string, unknown>): StepContext {
  return {
    rng: createRng(1),
    status: () => clusterStatus([nodeStatus('n1')]),
    supervisor: { request: () => Promise.resolve(reply) },
    memo: <T>(_key: string, create: () => T) => create(),
    fail: (message: string) => {
      throw new Error(message);
    },
  } as unknown as StepContext;
}

describe("grader messages quote what the node said", () => {
  it("an error reply's code and text, and a ZooKeeper error's name", () => {
    expect(unexpectedReply('n1', 'echo', { type: 'error', code: 10, text: 'echo is not implemented yet' }, 'echo_ok')).toBe("n1 answered echo with error 10 'echo is not implemented yet'");
    expect(unexpectedReply('n1', 'echo', { type: 'generate_ok' }, 'echo_ok')).toBe('n1 answered echo with generate_ok, expected echo_ok');
    expect(describeReply({ type: 'error', code: 14, zk_error: 'ConnectionLoss', text: 'not implemented yet' })).toBe("error 14 ConnectionLoss 'not implemented yet'");
    expect(describeReply({ type: 'error', code: 13 })).toBe('error 13');
    expect(describeReply({ type: 'error', code: 13, text: 'x'.repeat(500) }).length).toBeLessThan(230);
  });

  it('the echo and generate steps fail with the error the starter answers', async () => {
    const starter = { type: 'error', code: 10, text: 'echo is not implemented yet' };
    await expect(echo_steps[0]!.run({ do: 'echo', count: 1, timeout_ms: 1000 }, answering(starter))).rejects.toThrow("n1 answered echo with error 10 'echo is not implemented yet'");
    const generate = unique_ids_steps.find((s) => s.name === 'generate')!;
    await expect(generate.run({ do: 'generate', count: 1, concurrency: 1, timeout_ms: 1000 }, answering({ type: 'error', code: 10, text: 'generate is not implemented yet' }))).rejects.toThrow(
      "n1 answered generate with error 10 'generate is not implemented yet'",
    );
  });
});

describe('a term that goes backwards', () => {
  it('right after a restart: the node lost it, and should persist it', () => {
    const recorder = new Recorder(new Set(['terms_monotonic']), raft_roles);
    recorder.onEvent(event({ type: 'node_state', node: 'n4', state: { role: 'follower', term: 5 } }));
    recorder.onEvent(event({ type: 'node_down', node: 'n4', exit_code: null, signal: 'SIGKILL', stderr_tail: [], expected: true }));
    recorder.onEvent(event({ type: 'node_up', node: 'n4', pid: 2, restarts: 1 }));
    recorder.onEvent(event({ type: 'node_state', node: 'n4', state: { role: 'follower', term: 0 } }));
    expect(recorder.firstViolation()).toBe('n4 restarted and lost its term (5 before the restart, 0 after): persist it before answering');
  });

  it("in Zab's words (epoch), and without a restart as going backwards", () => {
    const zab = new Recorder(new Set(['terms_monotonic']), zab_roles);
    zab.onEvent(event({ type: 'node_state', node: 'n2', state: { role: 'following', epoch: 3 } }));
    zab.onEvent(event({ type: 'node_up', node: 'n2', pid: 2, restarts: 1 }));
    zab.onEvent(event({ type: 'node_state', node: 'n2', state: { role: 'looking', epoch: 1 } }));
    expect(zab.firstViolation()).toBe('n2 restarted and lost its epoch (3 before the restart, 1 after): persist it before answering');
    const raft = new Recorder(new Set(['terms_monotonic']), raft_roles);
    raft.onEvent(event({ type: 'node_state', node: 'n1', state: { role: 'leader', term: 4 } }));
    raft.onEvent(event({ type: 'node_up', node: 'n1', pid: 2, restarts: 1 }));
    raft.onEvent(event({ type: 'node_state', node: 'n1', state: { role: 'follower', term: 4 } }));
    // Not right after the restart: the node kept its term then, and lost it later.
    raft.onEvent(event({ type: 'node_state', node: 'n1', state: { role: 'follower', term: 2 } }));
    expect(raft.firstViolation()).toBe("n1's term went backwards from 4 to 2");
  });

  it('a crash the no_crash check reports is data the diagnosis reads (the node), not words', () => {
    const recorder = new Recorder(new Set(['no_crash']), raft_roles);
    recorder.onEvent(event({ type: 'node_down', node: 'n3', exit_code: 1, signal: null, stderr_tail: ['KeyError: term'], expected: false }));
    expect(recorder.firstViolation()).toBe('n3 crashed (exit code 1): KeyError: term');
    expect(recorder.firstViolationCrash()).toBe('n3');
  });
});

describe("the diagnosis reads a misbehaving node's data", () => {
  it('never the supervisor\'s words: an event without data (an older recording) adds nothing', () => {
    const evidence = new Evidence(raft_roles);
    evidence.onEvent(event({ type: 'node_misbehaved', node: 'n1', problem: 'garbage', detail: 'not JSON: hello', count: 1 }));
    expect(evidence.misbehaviour.size).toBe(0);
    evidence.onEvent(event({ type: 'node_misbehaved', node: 'n1', problem: 'garbage', detail: 'words', count: 1, data: { kind: 'unreadable', reason: 'not JSON', line: 'hello' } }));
    expect([...evidence.misbehaviour.values()]).toEqual([{ node: 'n1', problem: 'garbage', data: { kind: 'unreadable', reason: 'not JSON', line: 'hello' }, count: 1 }]);
  });
});
