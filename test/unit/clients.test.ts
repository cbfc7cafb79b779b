import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { NewClusterEvent } from '../../src/lib/control/api.js';
import type { MessageBody } from '../../src/lib/protocol/messages.js';
import { no_roles } from '../../src/lib/roles.js';
import { client_inbox_messages_max, Clients, pending_requests_max, type UnaskedMessage } from '../../src/lib/supervisor/clients.js';
import { IndefiniteError, UserError } from '../../src/lib/util/errors.js';

/** Clients over a fake network that records each request line and hands none over when `refuse` is set. */
function setup(options: { refuse?: boolean } = {}) {
  const events: NewClusterEvent[] = [];
  const sent: { client: string; dest: string; envelope: { src: string; dest: string; body: MessageBody } }[] = [];
  const clients = new Clients(
    {
      vocabulary: { ...no_roles, write_requests: ['write'] },
      emit: (event) => events.push(event),
      send: (client, dest, line) => {
        sent.push({ client, dest, envelope: JSON.parse(line) });
        return !options.refuse;
      },
      now: () => Date.now(),
    },
  );
  return { clients, events, sent };
}

describe('clients', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('matches a reply to its request by in_reply_to and client, even from another node (forwarded)', async () => {
    const { clients, events, sent } = setup();
    const answered = clients.request('c1', 'n1', { type: 'read', key: 'x' }, 1000);
    const msg_id = sent[0]!.envelope.body.msg_id;
    expect(sent[0]!.envelope).toMatchObject({ src: 'c1', dest: 'n1', body: { type: 'read', key: 'x' } });
    expect(clients.receive('n2', 'c1', { type: 'read_ok', value: 3, in_reply_to: msg_id })).toBe('reply');
    await expect(answered).resolves.toMatchObject({ type: 'read_ok', value: 3 });
    expect(events.find((e) => e.type === 'client_result')).toMatchObject({ client: 'c1', dest: 'n1', replied_by: 'n2' });
    expect(clients.pendingCount).toBe(0);
  });

  it('does not settle a request with a reply addressed to another client', async () => {
    const { clients, sent } = setup();
    const answered = clients.request('c1', 'n1', { type: 'read' }, 1000);
    const msg_id = sent[0]!.envelope.body.msg_id;
    expect(clients.receive('n1', 'c2', { type: 'read_ok', in_reply_to: msg_id })).toBe('late');
    expect(clients.pendingCount).toBe(1);
    clients.receive('n1', 'c1', { type: 'read_ok', in_reply_to: msg_id });
    await expect(answered).resolves.toMatchObject({ type: 'read_ok' });
  });

  it('drops and counts a late reply to a timed-out request, and does not treat it as unasked', async () => {
    const { clients, events, sent } = setup();
    const answered = clients.request('c1', 'n1', { type: 'read' }, 1000);
    const rejected = expect(answered).rejects.toBeInstanceOf(IndefiniteError);
    vi.advanceTimersByTime(1000);
    await rejected;
    expect(events.filter((e) => e.type === 'client_result')).toMatchObject([{ reply: null, return_ms: null }]);
    expect(clients.receive('n1', 'c1', { type: 'read_ok', in_reply_to: sent[0]!.envelope.body.msg_id })).toBe('late');
    expect(clients.lateRepliesDropped).toBe(1);
    expect(clients.unaskedReceived).toBe(0);
    expect(events.some((e) => e.type === 'client_message')).toBe(false);
    expect(clients.inbox('c1')!.size).toBe(0);
    expect(clients.messageCounts()).toEqual({ late_replies_dropped: 1, unasked: 0, inbox_dropped: 0 });
  });

  it('puts an unasked message in the client inbox and on the event stream', () => {
    const { clients, events } = setup();
    const watch = { type: 'watch', event: 'NodeDataChanged', path: '/a' };
    expect(clients.receive('n2', 'c3', watch)).toBe('unasked');
    // A msg_id this supervisor never handed out answers nothing: unasked too.
    expect(clients.receive('n2', 'c3', { type: 'session_expired', in_reply_to: 999 })).toBe('unasked');
    expect(events.filter((e) => e.type === 'client_message')).toEqual([
      { type: 'client_message', client: 'c3', node: 'n2', body: watch },
      { type: 'client_message', client: 'c3', node: 'n2', body: { type: 'session_expired', in_reply_to: 999 } },
    ]);
    expect(clients.inbox('c3')!.take().map((m) => m.body.type)).toEqual(['watch', 'session_expired']);
    expect(clients.unaskedReceived).toBe(2);
  });

  it('hands waiting and later unasked messages to a subscriber, in order, until it unsubscribes', () => {
    const { clients } = setup();
    clients.receive('n1', 'c4', { type: 'a' });
    const seen: UnaskedMessage[] = [];
    const unsubscribe = clients.inbox('c4')!.subscribe((m) => seen.push(m));
    clients.receive('n1', 'c4', { type: 'b' });
    expect(seen.map((m) => m.body.type)).toEqual(['a', 'b']);
    expect(() => clients.inbox('c4')!.subscribe(() => {})).toThrow(UserError);
    unsubscribe();
    clients.receive('n1', 'c4', { type: 'c' });
    expect(seen).toHaveLength(2);
    expect(clients.inbox('c4')!.take().map((m) => m.body.type)).toEqual(['c']);
  });

  it('keeps an unread inbox bounded, dropping the oldest and counting them', () => {
    const { clients } = setup();
    for (let i = 0; i < client_inbox_messages_max + 5; i++) clients.receive('n1', 'c5', { type: 'tick', i });
    const inbox = clients.inbox('c5')!;
    expect(inbox.size).toBe(client_inbox_messages_max);
    expect(inbox.dropped).toBe(5);
    expect(inbox.take()[0]!.body.i).toBe(5);
    expect(clients.messageCounts()).toEqual({ late_replies_dropped: 0, unasked: client_inbox_messages_max + 5, inbox_dropped: 5 });
  });

  it('refuses a request beyond the bound on requests in flight', async () => {
    const { clients } = setup();
    for (let i = 0; i < pending_requests_max; i++) void clients.request('c1', 'n1', { type: 'read' }, 60_000).catch(() => {});
    await expect(clients.request('c1', 'n1', { type: 'read' }, 60_000)).rejects.toThrow(/too many requests in flight/);
    clients.failRequests(() => new IndefiniteError('stop'));
    expect(clients.pendingCount).toBe(0);
  });

  it('rejects a request the node would not take, and fails the requests waiting on a node that went away', async () => {
    const refused = setup({ refuse: true });
    await expect(refused.clients.request('c1', 'n1', { type: 'read' }, 1000)).rejects.toThrow(/not reading its input/);
    expect(refused.clients.pendingCount).toBe(0);
    const { clients } = setup();
    const onN1 = clients.request('c1', 'n1', { type: 'read' }, 1000);
    const onN2 = clients.request('c2', 'n2', { type: 'cas' }, 1000);
    clients.failRequests((type) => new IndefiniteError(`n1 exited before answering ${type}`), 'n1');
    await expect(onN1).rejects.toThrow('n1 exited before answering read');
    expect(clients.pendingCount).toBe(1);
    clients.failRequests(() => new IndefiniteError('stop'));
    await expect(onN2).rejects.toThrow('stop');
  });

  it('infers the leader from a successful write and forgets it when that node is lost', async () => {
    const { clients, events, sent } = setup();
    const read = clients.request('c1', 'n1', { type: 'read' }, 1000);
    clients.receive('n1', 'c1', { type: 'read_ok', in_reply_to: sent[0]!.envelope.body.msg_id });
    await read;
    expect(clients.inferredLeader).toBeNull();
    const write = clients.request('c1', 'n1', { type: 'write', key: 'x', value: 1 }, 1000);
    clients.receive('n3', 'c1', { type: 'write_ok', in_reply_to: sent[1]!.envelope.body.msg_id });
    await write;
    expect(clients.inferredLeader).toBe('n3');
    clients.forgetLeader('n2', 'n2 went down');
    expect(clients.inferredLeader).toBe('n3');
    clients.forgetLeader('n3', 'n3 went down');
    expect(clients.inferredLeader).toBeNull();
    expect(events.filter((e) => e.type === 'leader_inferred')).toEqual([
      { type: 'leader_inferred', node: 'n3', reason: 'n3 answered a write from c1' },
      { type: 'leader_inferred', node: null, reason: 'n3 went down' },
    ]);
  });
});
