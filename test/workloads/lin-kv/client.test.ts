import { describe, expect, it } from 'vitest';
import type { MessageBody } from '../../../src/lib/protocol/messages.js';
import type { ClusterStatus } from '../../../src/lib/control/api.js';
import { deleteRefusal } from '../../../src/workloads/lin-kv/cli.js';
import { classifyOutcome, describeKvOutcome, KvClient, kv_retry_backoff_ms, type KvTransport } from '../../../src/workloads/lin-kv/client.js';
import { IndefiniteError } from '../../../src/lib/util/errors.js';

/** A fake cluster: `answer` decides each reply (or throws) from the node and body. */
function transport(answer: (dest: string, body: MessageBody) => MessageBody, leader: string | null = null, up = ['n1', 'n2', 'n3']) {
  let now = 0;
  const sent: { dest: string; body: MessageBody }[] = [];
  const fake: KvTransport = {
    request: async (_client, dest, body) => {
      sent.push({ dest, body });
      now += 10;
      return answer(dest, body);
    },
    leader: () => leader,
    upNodes: () => up,
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
  };
  return { fake, sent };
}

describe('kv client', () => {
  it('goes to the leader and reports an ok read with its value', async () => {
    const { fake, sent } = transport(() => ({ type: 'read_ok', value: 7 }), 'n2');
    const outcome = await new KvClient(fake, 'c1').run({ f: 'read', key: 'x' });
    expect(outcome).toEqual({ outcome: 'ok', result: 7, node: 'n2', attempts: 1 });
    expect(sent[0]).toEqual({ dest: 'n2', body: { type: 'read', key: 'x' } });
  });

  it('goes to the leader the reports show now, not the node it used last (a deposed leader would leave the one send unknown)', async () => {
    let leader = 'n1';
    const sent: string[] = [];
    const fake: KvTransport = {
      request: async (_client, dest) => {
        sent.push(dest);
        return { type: 'write_ok' };
      },
      leader: () => leader,
      upNodes: () => ['n1', 'n2', 'n3'],
      now: () => 0,
      sleep: async () => {},
    };
    const client = new KvClient(fake, 'c1');
    await client.run({ f: 'write', key: 'x', value: 1 });
    leader = 'n3';
    await client.run({ f: 'write', key: 'x', value: 2 });
    expect(sent).toEqual(['n1', 'n3']);
  });

  it('treats error 20 on a read as the key being absent', async () => {
    const { fake } = transport(() => ({ type: 'error', code: 20, text: 'not found' }));
    expect(await new KvClient(fake, 'c1').run({ f: 'read', key: 'x' })).toMatchObject({ outcome: 'ok', result: null });
  });

  it('follows a not-leader redirect', async () => {
    const { fake, sent } = transport((dest) => (dest === 'n3' ? { type: 'write_ok' } : { type: 'error', code: 11, text: 'not leader', leader: 'n3' }));
    const outcome = await new KvClient(fake, 'c1').run({ f: 'write', key: 'x', value: 1 });
    expect(outcome).toMatchObject({ outcome: 'ok', node: 'n3', attempts: 2 });
    expect(sent.map((s) => s.dest)).toEqual(['n1', 'n3']);
  });

  it('reports a definite failure as fail', async () => {
    const { fake } = transport(() => ({ type: 'error', code: 22, text: 'expected 1' }), 'n1');
    expect(await new KvClient(fake, 'c1').run({ f: 'cas', key: 'x', from: 1, to: 2 })).toMatchObject({ outcome: 'fail', error: { code: 22 } });
  });

  it('sends an operation once: a write or cas without an answer is unknown, a read without one failed, and none is resent', async () => {
    for (const op of [
      { f: 'write' as const, key: 'x', value: 1 },
      { f: 'cas' as const, key: 'x', from: 1, to: 2 },
      { f: 'delete' as const, key: 'x' },
      { f: 'read' as const, key: 'x' },
    ]) {
      const { fake, sent } = transport(() => {
        throw new IndefiniteError('n1 did not answer within 2 s');
      }, 'n1');
      const outcome = await new KvClient(fake, 'c4').run(op, 2000);
      expect(sent).toHaveLength(1);
      expect(outcome).toMatchObject({ outcome: op.f === 'read' ? 'fail' : 'unknown', error: { code: 0, text: 'n1 did not answer within 2 s' }, node: 'n1', attempts: 1 });
    }
  });

  it('waits for the answer until the operation times out, not for a shorter attempt', async () => {
    const timeouts: number[] = [];
    const fake: KvTransport = { ...transport(() => ({ type: 'write_ok' }), 'n1').fake, request: async (_c, _d, _b, timeout_ms) => (timeouts.push(timeout_ms), { type: 'write_ok' }) };
    await new KvClient(fake, 'c1').run({ f: 'write', key: 'x', value: 1 }, 2000);
    expect(timeouts).toEqual([2000]);
  });

  it('does not resend after an error that leaves the outcome open (crash, unknown codes)', async () => {
    const { fake, sent } = transport(() => ({ type: 'error', code: 13, text: 'crashed' }), 'n1');
    expect(await new KvClient(fake, 'c1').run({ f: 'cas', key: 'x', from: 1, to: 2 })).toMatchObject({ outcome: 'unknown', error: { code: 13 } });
    const reads = transport(() => ({ type: 'error', code: 13, text: 'crashed' }), 'n1');
    expect(await new KvClient(reads.fake, 'c1').run({ f: 'read', key: 'x' })).toMatchObject({ outcome: 'fail' });
    expect(sent).toHaveLength(1);
    expect(reads.sent).toHaveLength(1);
  });

  it('numbers each operation with a new seq under its session', async () => {
    const { fake, sent } = transport(() => ({ type: 'write_ok' }), 'n1');
    const client = new KvClient(fake, 'c4', false, 'c4@run1');
    await client.run({ f: 'write', key: 'x', value: 1 });
    await client.run({ f: 'cas', key: 'x', from: 1, to: 2 });
    expect(sent.map((s) => [s.body.client, s.body.seq])).toEqual([['c4@run1', 1], ['c4@run1', 2]]);
  });

  it('sends each operation first to the node it is bound to, and elsewhere only after a definite refusal', async () => {
    // n2 is not the leader and says n1 is; n3 answers itself.
    const { fake, sent } = transport((dest) => (dest === 'n2' ? { type: 'error', code: 11, text: 'not leader', leader: 'n1' } : { type: 'write_ok' }), 'n1');
    const bound = new KvClient(fake, 'c1');
    bound.home = 'n3';
    await bound.run({ f: 'write', key: 'x', value: 1 });
    await bound.run({ f: 'write', key: 'x', value: 2 });
    expect(sent.map((s) => s.dest)).toEqual(['n3', 'n3']);
    bound.home = 'n2';
    expect(await bound.run({ f: 'write', key: 'x', value: 3 })).toMatchObject({ outcome: 'ok', node: 'n1', attempts: 2 });
    // The next operation starts at its own node again, not at the leader it was sent on to.
    await bound.run({ f: 'read', key: 'x' });
    expect(sent.slice(2).map((s) => s.dest)).toEqual(['n2', 'n1', 'n2', 'n1']);
  });

  it('keeps its node while that node is down: the request is refused, then tried on another node', async () => {
    const down = new Set(['n2']);
    const sent: string[] = [];
    const base = transport(() => ({ type: 'read_ok', value: 1 }), null);
    const fake: KvTransport = {
      ...base.fake,
      request: async (_client, dest) => {
        sent.push(dest);
        if (down.has(dest)) throw new Error(`${dest} is down`);
        return { type: 'read_ok', value: 1 };
      },
    };
    const client = new KvClient(fake, 'c1');
    client.home = 'n2';
    expect(await client.run({ f: 'read', key: 'x' })).toMatchObject({ outcome: 'ok', node: 'n1' });
    down.clear();
    expect(await client.run({ f: 'read', key: 'x' })).toMatchObject({ outcome: 'ok', node: 'n2' });
    expect(sent).toEqual(['n2', 'n1', 'n2']);
  });

  it('pauses before retrying a node that refuses at once (down, starting, not reading), instead of spinning', async () => {
    // A real refusal takes no time: the clock moves only when the client sleeps.
    let now = 0;
    let sleeps = 0;
    let calls = 0;
    const fake: KvTransport = {
      request: async () => {
        calls++;
        throw new Error('could not send to n1: it is not reading its input');
      },
      leader: () => 'n1',
      upNodes: () => ['n1'],
      now: () => now,
      sleep: async (ms) => {
        sleeps++;
        now += ms;
      },
    };
    const outcome = await new KvClient(fake, 'c1').run({ f: 'write', key: 'x', value: 1 }, 1000);
    expect(outcome.outcome).toBe('fail');
    expect(outcome.error!.text).toMatch(/not reading its input/);
    // One pause per refusal: about a second's worth of backoffs, not an unbounded number of tries.
    expect(calls).toBe(sleeps);
    expect(calls).toBeLessThanOrEqual(Math.ceil(1000 / kv_retry_backoff_ms));
  });

  it('gives up at the deadline when every node refuses: fail, since none took the request', async () => {
    const refusing = transport(() => ({ type: 'error', code: 11, text: 'no leader yet' }), null);
    const outcome = await new KvClient(refusing.fake, 'c1').run({ f: 'write', key: 'x', value: 1 }, 500);
    expect(outcome).toMatchObject({ outcome: 'fail', node: null });
    expect(outcome.error!.text).toMatch(/^no node took it within 500 ms \(last refusal: no leader yet\)$/);
    expect(refusing.sent.length).toBeGreaterThan(1);
  });

  it('classifies a cas whose from did not match and a missing key as expected answers, other errors and timeouts as failures', async () => {
    const answering = (reply: MessageBody) => new KvClient(transport(() => reply, 'n1').fake, 'c1');
    const cas = { f: 'cas' as const, key: 'x', from: 1, to: 2 };
    const mismatched = await answering({ type: 'error', code: 22, text: 'expected 1' }).run(cas);
    expect(mismatched.outcome).toBe('fail');
    expect(classifyOutcome(cas, mismatched)).toBe('mismatched');
    expect(classifyOutcome(cas, await answering({ type: 'error', code: 20, text: 'no such key' }).run(cas))).toBe('not_found');
    expect(classifyOutcome(cas, await answering({ type: 'cas_ok' }).run(cas))).toBe('ok');
    expect(classifyOutcome(cas, await answering({ type: 'error', code: 14, text: 'aborted' }).run(cas))).toBe('fail');

    const read = { f: 'read' as const, key: 'x' };
    expect(classifyOutcome(read, await answering({ type: 'error', code: 20, text: 'no such key' }).run(read))).toBe('not_found');
    expect(classifyOutcome(read, await answering({ type: 'read_ok', value: 0 }).run(read))).toBe('ok');
    // Error 22 means a mismatch only for a cas; on a write it is a plain failure.
    const write = { f: 'write' as const, key: 'x', value: 1 };
    expect(classifyOutcome(write, await answering({ type: 'error', code: 22, text: 'odd' }).run(write))).toBe('fail');

    // A cas that timed out may have applied: unknown, and not tried again to see whether it mismatches.
    const timedOut = transport(() => {
      throw new IndefiniteError('timed out');
    }, 'n1');
    expect(classifyOutcome(cas, await new KvClient(timedOut.fake, 'c1').run(cas))).toBe('unknown');
    expect(timedOut.sent).toHaveLength(1);
    const timeouts = transport(() => {
      throw new IndefiniteError('timed out');
    }, 'n1');
    // A read that got no answer is a failure in the history (it changed nothing) but unanswered to the user.
    const unanswered = await new KvClient(timeouts.fake, 'c1').run(read, 100);
    expect(unanswered.outcome).toBe('fail');
    expect(classifyOutcome(read, unanswered)).toBe('unknown');
  });
});

describe('delete, a dslab extension to lin-kv', () => {
  it('says a node that answers error 10 or 12 to delete does not support it', async () => {
    const del = { f: 'delete' as const, key: 'x' };
    for (const code of [10, 12]) {
      const outcome = await new KvClient(transport(() => ({ type: 'error', code, text: 'No handler for delete' }), 'n2').fake, 'c1').run(del);
      expect(describeKvOutcome(del, outcome)).toBe(`n2 does not support delete: No handler for delete (code ${code}). delete is a dslab extension: Maelstrom's lin-kv workload has only read, write and cas`);
    }
    // Other refusals are worded as before.
    const aborted = await new KvClient(transport(() => ({ type: 'error', code: 14, text: 'aborted' }), 'n2').fake, 'c1').run(del);
    expect(describeKvOutcome(del, aborted)).toBe('delete on x failed: aborted (code 14)');
  });

  it('is not sent to a cluster whose nodes send no dslab_state (Maelstrom nodes), and is to one whose nodes do', () => {
    const status = (state_at_ms: number | null) => ({ nodes: ['n1', 'n2'].map((id) => ({ id, status: 'up', state_at_ms })) }) as unknown as ClusterStatus;
    expect(deleteRefusal(status(null), 'x')).toBe(
      `not sent: delete is a dslab extension: Maelstrom's lin-kv workload has only read, write and cas, and no node of this cluster sends dslab_state reports, so they look like Maelstrom nodes, which may stop on a message they have no handler for. To send it anyway: dslab send n1 '{"type":"delete","key":"x"}'`,
    );
    expect(deleteRefusal(status(1234), 'x')).toBeNull();
  });
});
