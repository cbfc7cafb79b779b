import { describe, expect, it } from 'vitest';
import type { MessageBody } from '../../../src/lib/protocol/messages.js';
import { classifyOutcome, KvClient, kv_retry_backoff_ms, type KvTransport } from '../../../src/workloads/lin-kv/client.js';
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

  it('retries a write after a timeout with the same seq, and calls a later failure unknown', async () => {
    let calls = 0;
    const { fake, sent } = transport(() => {
      calls++;
      if (calls === 1) throw new IndefiniteError('timed out');
      return { type: 'error', code: 22, text: 'precondition failed' };
    }, 'n1');
    const client = new KvClient(fake, 'c4');
    const outcome = await client.run({ f: 'cas', key: 'x', from: 1, to: 2 });
    expect(outcome.outcome).toBe('unknown');
    expect(sent.map((s) => s.body.seq)).toEqual([1, 1]);
    expect(sent.every((s) => s.body.client === 'c4')).toBe(true);
    const next = await client.run({ f: 'write', key: 'x', value: 3 });
    expect(next.outcome).toBe('fail');
    expect(sent.at(-1)!.body.seq).toBe(2);
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

  it('gives up at the deadline: unknown for a write that may have happened, fail for a read', async () => {
    const timeouts = transport(() => {
      throw new IndefiniteError('timed out');
    }, 'n1');
    expect(await new KvClient(timeouts.fake, 'c1').run({ f: 'write', key: 'x', value: 1 }, 100)).toMatchObject({ outcome: 'unknown', node: null });
    const reads = transport(() => {
      throw new IndefiniteError('timed out');
    }, 'n1');
    const read = await new KvClient(reads.fake, 'c1').run({ f: 'read', key: 'x' }, 100);
    expect(read.outcome).toBe('fail');
    expect(read.error!.text).toMatch(/no answer within 100 ms/);
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

    // A cas that timed out once and then mismatched may have applied on the first try: unknown, not mismatched.
    let calls = 0;
    const retried = transport(() => {
      if (++calls === 1) throw new IndefiniteError('timed out');
      return { type: 'error', code: 22, text: 'precondition failed' };
    }, 'n1');
    expect(classifyOutcome(cas, await new KvClient(retried.fake, 'c1').run(cas))).toBe('unknown');
    const timeouts = transport(() => {
      throw new IndefiniteError('timed out');
    }, 'n1');
    // A read that got no answer is a failure in the history (it changed nothing) but unanswered to the user.
    const unanswered = await new KvClient(timeouts.fake, 'c1').run(read, 100);
    expect(unanswered.outcome).toBe('fail');
    expect(classifyOutcome(read, unanswered)).toBe('unknown');
  });
});
