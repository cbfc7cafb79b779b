import { describe, expect, it } from 'vitest';
import { exit_code_invariant_broken, Node, RpcError } from '../../src/lib/runtime/node.js';
import { InvariantError } from '../../src/lib/util/errors.js';
import { RaftInvariantError } from '../../src/systems/raft/core/core.js';

function harness(now_ms = 1_000_000) {
  const written: { src: string; dest: string; body: Record<string, unknown> }[] = [];
  const exits: number[] = [];
  const node = new Node({
    write: (text) => {
      for (const line of text.split('\n')) if (line) written.push(JSON.parse(line));
    },
    log: () => undefined,
    exit: (code) => void exits.push(code),
    now: () => now_ms,
  });
  const deliver = (src: string, body: Record<string, unknown>) => node.handleLine(JSON.stringify({ src, dest: node.id || 'n1', body }));
  const flushed = () => new Promise((resolve) => setTimeout(resolve, 0));
  return { node, written, deliver, flushed, exits };
}

describe('node runtime', () => {
  it('answers init with init_ok and learns its id and peers', async () => {
    const { node, written, deliver, flushed } = harness();
    let initialised = false;
    node.onInit(() => (initialised = true));
    await deliver('c0', { type: 'init', msg_id: 1, node_id: 'n2', node_ids: ['n1', 'n2', 'n3'] });
    await flushed();
    expect(initialised).toBe(true);
    expect(node.peers()).toEqual(['n1', 'n3']);
    expect(written).toEqual([{ src: 'n2', dest: 'c0', body: { type: 'init_ok', in_reply_to: 1 } }]);
  });

  it("learns every group's members from init's dslab_groups, and none without it", async () => {
    const { node, deliver } = harness();
    await deliver('c0', { type: 'init', msg_id: 1, node_id: 'w2', node_ids: ['w1', 'w2'], dslab_groups: { coordinator: ['z1', 'z2', 'z3'], workers: ['w1', 'w2'] } });
    expect(node.groups).toEqual({ coordinator: ['z1', 'z2', 'z3'], workers: ['w1', 'w2'] });
    const single = harness().node;
    await single.handleLine(JSON.stringify({ src: 'c0', dest: 'n1', body: { type: 'init', msg_id: 1, node_id: 'n1', node_ids: ['n1'] } }));
    expect(single.groups).toEqual({});
  });

  it('routes replies to the waiting RPC and rejects error replies with their code', async () => {
    const { node, written, deliver, flushed } = harness();
    await deliver('c0', { type: 'init', msg_id: 1, node_id: 'n1', node_ids: ['n1', 'n2'] });
    const ok = node.rpc('n2', { type: 'read', key: 'x' });
    const failing = node.rpc('n2', { type: 'read', key: 'y' });
    await flushed();
    const [first, second] = written.filter((m) => m.dest === 'n2');
    await deliver('n2', { type: 'read_ok', value: 5, in_reply_to: first!.body.msg_id });
    await deliver('n2', { type: 'error', code: 20, text: 'no such key', in_reply_to: second!.body.msg_id });
    await expect(ok).resolves.toMatchObject({ type: 'read_ok', value: 5 });
    await expect(failing).rejects.toMatchObject({ code: 20, message: 'no such key' });
    await expect(failing).rejects.toBeInstanceOf(RpcError);
  });

  it('times out an unanswered RPC with code 0', async () => {
    const { node, deliver } = harness();
    await deliver('c0', { type: 'init', msg_id: 1, node_id: 'n1', node_ids: ['n1', 'n2'] });
    await expect(node.rpc('n2', { type: 'ping' }, 20)).rejects.toMatchObject({ code: 0 });
  });

  it('stops the node when a handler breaks an invariant, instead of answering and going on', async () => {
    const { node, written, deliver, flushed, exits } = harness();
    node.on('bad', () => {
      throw new Error('kaput');
    });
    node.on('impossible', () => {
      throw new RaftInvariantError('raft invariant broken: committed entries match the leader\'s');
    });
    await deliver('c0', { type: 'init', msg_id: 1, node_id: 'n1', node_ids: ['n1'] });
    await deliver('c1', { type: 'bad', msg_id: 2 });
    await flushed();
    expect(exits).toEqual([]);
    await deliver('n2', { type: 'impossible', msg_id: 3 });
    await flushed();
    expect(new RaftInvariantError('x')).toBeInstanceOf(InvariantError);
    expect(exits).toEqual([exit_code_invariant_broken]);
    expect(written.some((m) => m.body.in_reply_to === 3)).toBe(false);
  });

  it('answers unknown request types with error 10 and handler failures with error 13', async () => {
    const { node, written, deliver, flushed } = harness();
    node.on('boom', () => {
      throw new Error('kaput');
    });
    await deliver('c0', { type: 'init', msg_id: 1, node_id: 'n1', node_ids: ['n1'] });
    await deliver('c1', { type: 'frob', msg_id: 2 });
    await deliver('c1', { type: 'boom', msg_id: 3 });
    await flushed();
    expect(written.find((m) => m.body.in_reply_to === 2)!.body).toMatchObject({ type: 'error', code: 10 });
    expect(written.find((m) => m.body.in_reply_to === 3)!.body).toMatchObject({ type: 'error', code: 13, text: 'kaput' });
  });

  it('adds the skew from dslab_clock to every clock read', async () => {
    const { node, deliver } = harness(5000);
    expect(node.now()).toBe(5000);
    await deliver('dslab', { type: 'dslab_clock', offset_ms: -2000 });
    expect(node.now()).toBe(3000);
  });

  it('flushNow writes what was sent at once, in one write, instead of at the end of the turn', async () => {
    const { node, written, deliver, flushed } = harness();
    await deliver('c0', { type: 'init', msg_id: 1, node_id: 'n1', node_ids: ['n1', 'n2'] });
    await flushed();
    written.length = 0;
    node.send('n2', { type: 'proposal', n: 1 });
    node.send('n2', { type: 'proposal', n: 2 });
    expect(written).toEqual([]);
    node.flushNow();
    expect(written.map((m) => m.body.n)).toEqual([1, 2]);
    await flushed();
    expect(written).toHaveLength(2);
  });

  it('asks for connection-closed notices in init_ok only when a handler is registered, and hands each one to it', async () => {
    const { node, written, deliver, flushed } = harness();
    const closed: string[] = [];
    node.onConnectionClosed((peer) => closed.push(peer));
    await deliver('c0', { type: 'init', msg_id: 1, node_id: 'n2', node_ids: ['n1', 'n2', 'n3'] });
    await deliver('dslab', { type: 'dslab_connection_closed', peer: 'n1' });
    // Only dslab speaks for the network: the same body from a node or a client is not a notice (and not a known type).
    await deliver('n3', { type: 'dslab_connection_closed', peer: 'n1', msg_id: 7 });
    await flushed();
    expect(closed).toEqual(['n1']);
    expect(written[0]).toEqual({ src: 'n2', dest: 'c0', body: { type: 'init_ok', dslab_connection_closed: true, in_reply_to: 1 } });
    expect(written.find((m) => m.body.in_reply_to === 7)!.body).toMatchObject({ type: 'error', code: 10 });
    const plain = harness();
    await plain.deliver('c0', { type: 'init', msg_id: 1, node_id: 'n1', node_ids: ['n1'] });
    await plain.flushed();
    expect(plain.written[0]!.body).toEqual({ type: 'init_ok', in_reply_to: 1 });
  });

  it('declares dslab_fail in init_ok only with a fail handler, hands it dslab fail messages from dslab alone, and sends notes to dslab', async () => {
    const { node, written, deliver, flushed } = harness();
    const faults: unknown[] = [];
    node.onFail((fault) => faults.push(fault));
    await deliver('c0', { type: 'init', msg_id: 1, node_id: 'd1', node_ids: ['d1'] });
    await deliver('dslab', { type: 'dslab_fail', errors_pct: 50, latency_ms: 800, hang: false });
    await deliver('dslab', { type: 'dslab_fail', errors_pct: 0, latency_ms: 0, hang: true });
    // From anyone else it is no fault (and not a known type).
    await deliver('s1', { type: 'dslab_fail', errors_pct: 100, latency_ms: 0, hang: false, msg_id: 4 });
    node.note('opened: 4 of 4 calls failed');
    await flushed();
    expect(written[0]!.body).toEqual({ type: 'init_ok', dslab_fail: true, in_reply_to: 1 });
    expect(faults).toEqual([{ errors_pct: 50, latency_ms: 800, hang: false }, { errors_pct: 0, latency_ms: 0, hang: true }]);
    expect(written.find((m) => m.body.in_reply_to === 4)!.body).toMatchObject({ type: 'error', code: 10 });
    expect(written.at(-1)).toEqual({ src: 'd1', dest: 'dslab', body: { type: 'dslab_note', text: 'opened: 4 of 4 calls failed' } });
  });

  it('sends only the state fields that changed, batched into one write per turn', async () => {
    const { node, written, deliver, flushed } = harness();
    await deliver('c0', { type: 'init', msg_id: 1, node_id: 'n1', node_ids: ['n1'] });
    await flushed();
    written.length = 0;
    node.reportState({ role: 'follower', term: 1 });
    node.reportState({ role: 'follower', term: 1 });
    node.reportState({ role: 'leader', term: 1 });
    await flushed();
    expect(written.map((m) => m.body)).toEqual([
      { type: 'dslab_state', role: 'follower', term: 1 },
      { type: 'dslab_state', role: 'leader' },
    ]);
    expect(written.every((m) => m.dest === 'dslab')).toBe(true);
  });
});
