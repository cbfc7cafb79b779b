import { describe, expect, it } from 'vitest';
import type { ClientTransport } from '../../../src/lib/plugin.js';
import type { MessageBody } from '../../../src/lib/protocol/messages.js';
import { IndefiniteError } from '../../../src/lib/util/errors.js';
import { KafkaClients } from '../../../src/workloads/kafka/client.js';

/** A transport answering each request with the next scripted reply (a function of the request), recording what was sent. */
function scripted(replies: ((body: MessageBody) => MessageBody | Error)[]) {
  const sent: MessageBody[] = [];
  const transport: ClientTransport = {
    request: async (_client, _node, body) => {
      sent.push(body);
      const reply = replies.shift()!(body);
      if (reply instanceof Error) throw reply;
      return reply;
    },
    leader: () => null,
    upNodes: () => ['n1'],
    now: () => 1000,
    sleep: async () => {},
  };
  return { transport, sent };
}

function clients() {
  const seen: { sends: [string, number][]; polls: unknown[] } = { sends: [], polls: [] };
  return { seen, clients: new KafkaClients({ observeSend: (key, offset) => seen.sends.push([key, offset]), observePoll: (msgs) => seen.polls.push(msgs) }) };
}

describe("the kafka client (Maelstrom's)", () => {
  it('assigns from committed offsets, polls from its positions, then commits the highest offsets polled', async () => {
    const { clients: c, seen } = clients();
    const { transport, sent } = scripted([
      () => ({ type: 'list_committed_offsets_ok', offsets: { a: 4 } }),
      () => ({ type: 'poll_ok', msgs: { a: [[4, 40], [5, 50]], b: [] } }),
      () => ({ type: 'commit_offsets_ok' }),
      () => ({ type: 'poll_ok', msgs: {} }),
    ]);
    const assigned = await c.perform(transport, 'c1', 'n1', { f: 'assign', value: { keys: ['a', 'b'] } }, 100, 0, false);
    expect(assigned).toMatchObject({ f: 'assign', outcome: 'ok', result: { committed: { a: 4 }, positions: { a: 4, b: 0 } } });
    const polled = await c.perform(transport, 'c1', 'n1', { f: 'poll' }, 100, 0, false);
    expect(polled).toMatchObject({ f: 'poll', outcome: 'ok', value: { offsets: { a: 4, b: 0 } }, result: { a: [[4, 40], [5, 50]], b: [] } });
    expect(sent[2]).toEqual({ type: 'commit_offsets', offsets: { a: 5 } });
    await c.perform(transport, 'c1', 'n1', { f: 'poll' }, 100, 0, false);
    expect(sent[3]).toEqual({ type: 'poll', offsets: { a: 6, b: 0 } });
    expect(seen.polls).toHaveLength(2);
    // Re-assigning keeps the position of a key still held.
    const again = scripted([() => ({ type: 'list_committed_offsets_ok', offsets: { a: 1, c: 9 } })]);
    const reassigned = await c.perform(again.transport, 'c1', 'n1', { f: 'assign', value: { keys: ['a', 'c'] } }, 100, 0, false);
    expect(reassigned.result).toEqual({ committed: { a: 1, c: 9 }, positions: { a: 6, c: 9 } });
  });

  it('seeks to the beginning without asking the node', async () => {
    const { clients: c } = clients();
    const { transport, sent } = scripted([]);
    const assigned = await c.perform(transport, 'c1', 'n1', { f: 'assign', value: { keys: ['x', 'y'], seek_to_beginning: true } }, 100, 0, true);
    expect(assigned).toMatchObject({ outcome: 'ok', result: { positions: { x: 0, y: 0 } }, final: true });
    expect(sent).toEqual([]);
  });

  it('records a send with its offset, and a timed-out send or poll as unknown (the client then forgets its keys); an assign that times out fails', async () => {
    const { clients: c, seen } = clients();
    const { transport } = scripted([
      () => ({ type: 'send_ok', offset: 3 }),
      () => new IndefiniteError('no answer'),
      () => ({ type: 'list_committed_offsets_ok', offsets: {} }),
      () => new IndefiniteError('no answer'),
      () => new IndefiniteError('no answer'),
      () => ({ type: 'error', code: 11, text: 'not now' }),
    ]);
    expect(await c.perform(transport, 'c1', 'n1', { f: 'send', value: { key: 'a', msg: 1 } }, 100, 0, false)).toMatchObject({ outcome: 'ok', result: 3, value: { key: 'a', msg: 1 } });
    expect(seen.sends).toEqual([['a', 3]]);
    expect(await c.perform(transport, 'c1', 'n1', { f: 'send', value: { key: 'a', msg: 2 } }, 100, 0, false)).toMatchObject({ outcome: 'unknown', return_ms: null, error: 0 });
    await c.perform(transport, 'c2', 'n1', { f: 'assign', value: { keys: ['a'] } }, 100, 0, false);
    expect(c.positionsOf('c2').get('a')).toBe(0);
    expect(await c.perform(transport, 'c2', 'n1', { f: 'poll' }, 100, 0, false)).toMatchObject({ outcome: 'unknown' });
    expect(c.positionsOf('c2').size).toBe(0);
    expect(await c.perform(transport, 'c3', 'n1', { f: 'assign', value: { keys: ['a'] } }, 100, 0, false)).toMatchObject({ outcome: 'fail' });
    // A definite error fails a send.
    expect(await c.perform(transport, 'c3', 'n1', { f: 'send', value: { key: 'a', msg: 3 } }, 100, 0, false)).toMatchObject({ outcome: 'fail', error: 11 });
  });

  it('takes a poll whose commit timed out as unknown but keeps what it polled, and a malformed reply as unknown', async () => {
    const { clients: c } = clients();
    const { transport } = scripted([
      () => ({ type: 'poll_ok', msgs: { a: [[0, 1]] } }),
      () => new IndefiniteError('no answer'),
      () => ({ type: 'send_ok', offset: 'x' }),
    ]);
    const polled = await c.perform(transport, 'c1', 'n1', { f: 'poll' }, 100, 0, false);
    expect(polled).toMatchObject({ outcome: 'unknown', result: { a: [[0, 1]] } });
    const sent = await c.perform(transport, 'c1', 'n1', { f: 'send', value: { key: 'a', msg: 1 } }, 100, 0, false);
    expect(sent.outcome).toBe('unknown');
    expect(sent.result).toBeUndefined();
  });
});
