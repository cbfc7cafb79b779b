import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { MessageBody } from '../../src/lib/protocol/messages.js';
import { Node } from '../../src/lib/runtime/node.js';
import { gossip_interval_ms, gossip_retry_intervals, setNode, type SetNodeShape } from '../../src/systems/broadcast/set-node.js';
import { counterNode } from '../../src/systems/pn-counter/counter-node.js';
import { gossip_interval_ms as txn_gossip_interval_ms, txnNode } from '../../src/systems/txn/txn-node.js';
import { gridTopology } from '../../src/workloads/broadcast/topology.js';

/**
 * The reference nodes of `up broadcast`, `up g-set` and the counters, on an
 * in-memory network of real Node runtimes with a partition the test sets:
 * what one node takes reaches every other once they can talk, however long
 * the partition lasted, and a node restarted empty is filled in again.
 */
class FakeNetwork {
  readonly nodes = new Map<string, Node>();
  /** Nodes cut off from every other node (clients still reach them). */
  readonly isolated = new Set<string>();
  readonly replies: MessageBody[] = [];
  /** Every message from one node to another, as "src->dest type", dropped ones too. */
  readonly sent: string[] = [];
  private next_msg_id = 1;

  constructor(
    readonly ids: readonly string[],
    private readonly install: (node: Node) => void,
  ) {
    for (const id of ids) this.start(id);
  }

  /** A new process for `id`: empty, then init. */
  start(id: string): void {
    const node = new Node({
      write: (text) => {
        for (const line of text.split('\n')) if (line) this.route(JSON.parse(line) as { src: string; dest: string; body: MessageBody });
      },
      log: () => undefined,
      exit: () => undefined,
      now: () => Date.now(),
    });
    this.install(node);
    this.nodes.set(id, node);
    void node.handleLine(JSON.stringify({ src: 'c0', dest: id, body: { type: 'init', msg_id: 0, node_id: id, node_ids: this.ids } }));
  }

  private route(envelope: { src: string; dest: string; body: MessageBody }): void {
    const target = this.nodes.get(envelope.dest);
    if (!target) {
      this.replies.push(envelope.body);
      return;
    }
    this.sent.push(`${envelope.src}->${envelope.dest} ${envelope.body.type}`);
    if (this.isolated.has(envelope.src) || this.isolated.has(envelope.dest)) return;
    void target.handleLine(JSON.stringify(envelope));
  }

  /** A client request to `node`; resolves with its reply. */
  async ask(node: string, body: MessageBody): Promise<MessageBody> {
    const msg_id = this.next_msg_id++;
    await this.nodes.get(node)!.handleLine(JSON.stringify({ src: 'c9', dest: node, body: { ...body, msg_id } }));
    await vi.advanceTimersByTimeAsync(0);
    const reply = this.replies.find((r) => r.in_reply_to === msg_id);
    if (!reply) throw new Error(`${node} did not answer ${body.type}`);
    return reply;
  }

  /** Tells every node that `peer`'s process exited, as the supervisor tells nodes that asked. */
  async closed(peer: string): Promise<void> {
    for (const [id, node] of this.nodes) if (id !== peer) await node.handleLine(JSON.stringify({ src: 'dslab', dest: id, body: { type: 'dslab_connection_closed', peer } }));
  }
}

const broadcast_shape: SetNodeShape = { add: { type: 'broadcast', field: 'message', reply: 'broadcast_ok' }, read_field: 'messages', topology: true };
const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
/** Long enough for an element a partition dropped to be sent again, and passed on. */
const retry_window_ms = 2 * gossip_retry_intervals * gossip_interval_ms;

beforeEach(() => void vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'Date'] }));
afterEach(() => void vi.useRealTimers());

async function readSorted(net: FakeNetwork, node: string, field: string): Promise<unknown[]> {
  return ((await net.ask(node, { type: 'read' }))[field] as number[]).sort((a, b) => a - b);
}

describe('the reference broadcast node', () => {
  it('gets every message to every node over the grid, once a partition heals', async () => {
    const net = new FakeNetwork(ids, (node) => setNode(node, broadcast_shape));
    for (const id of ids) expect(await net.ask(id, { type: 'topology', topology: gridTopology(ids) })).toMatchObject({ type: 'topology_ok' });
    expect(await net.ask('n1', { type: 'broadcast', message: 1 })).toMatchObject({ type: 'broadcast_ok' });
    net.isolated.add('n3');
    await net.ask('n3', { type: 'broadcast', message: 3 });
    await net.ask('n5', { type: 'broadcast', message: 5 });
    await vi.advanceTimersByTimeAsync(retry_window_ms);
    expect(await readSorted(net, 'n4', 'messages')).toEqual([1, 5]);
    expect(await readSorted(net, 'n3', 'messages')).toEqual([3]);
    net.isolated.clear();
    await vi.advanceTimersByTimeAsync(retry_window_ms);
    for (const id of ids) expect(await readSorted(net, id, 'messages'), id).toEqual([1, 3, 5]);
  });

  it('gossips over a star around n1, at most one message per link per interval, and nothing once all is acknowledged', async () => {
    const net = new FakeNetwork(ids, (node) => setNode(node, broadcast_shape));
    for (const id of ids) await net.ask(id, { type: 'topology', topology: gridTopology(ids) });
    // Twenty broadcasts within one interval, at four nodes: batched, not one message each.
    for (let i = 0; i < 20; i++) await net.ask(ids[1 + (i % 4)]!, { type: 'broadcast', message: i });
    await vi.advanceTimersByTimeAsync(retry_window_ms);
    const expected = Array.from({ length: 20 }, (_, i) => i);
    for (const id of ids) expect(await readSorted(net, id, 'messages'), id).toEqual(expected);
    const gossip = net.sent.filter((m) => m.endsWith(' gossip'));
    // Each leaf to the hub once with its five, the hub to each leaf once with the fifteen it lacks; the grid's n2-n3 link is never used.
    expect(new Set(gossip)).toEqual(new Set(['n2->n1 gossip', 'n3->n1 gossip', 'n4->n1 gossip', 'n5->n1 gossip', 'n1->n2 gossip', 'n1->n3 gossip', 'n1->n4 gossip', 'n1->n5 gossip']));
    expect(gossip).toHaveLength(8);
    const quiet = net.sent.length;
    await vi.advanceTimersByTimeAsync(retry_window_ms);
    expect(net.sent.length).toBe(quiet);
  });

  it('fills in a node whose process restarted empty', async () => {
    const net = new FakeNetwork(ids, (node) => setNode(node, broadcast_shape));
    for (const id of ids) await net.ask(id, { type: 'topology', topology: gridTopology(ids) });
    await net.ask('n1', { type: 'broadcast', message: 7 });
    await vi.advanceTimersByTimeAsync(retry_window_ms);
    net.start('n3');
    await net.ask('n3', { type: 'topology', topology: gridTopology(ids) });
    await net.closed('n3');
    await vi.advanceTimersByTimeAsync(retry_window_ms);
    expect(await readSorted(net, 'n3', 'messages')).toEqual([7]);
  });
});

describe('the reference g-set node', () => {
  it('answers in `value`, and reaches every peer with no topology', async () => {
    const net = new FakeNetwork(['n1', 'n2', 'n3'], (node) => setNode(node, { add: { type: 'add', field: 'element', reply: 'add_ok' }, read_field: 'value', topology: false }));
    expect(await net.ask('n2', { type: 'add', element: 4 })).toMatchObject({ type: 'add_ok' });
    await vi.advanceTimersByTimeAsync(5 * gossip_interval_ms);
    expect(await readSorted(net, 'n3', 'value')).toEqual([4]);
  });
});

describe('the reference counter node', () => {
  it('sums adds up and down made on every node, each counted once, after a partition heals', async () => {
    const net = new FakeNetwork(['n1', 'n2', 'n3'], counterNode);
    net.isolated.add('n1');
    expect(await net.ask('n1', { type: 'add', delta: 5 })).toMatchObject({ type: 'add_ok' });
    await net.ask('n2', { type: 'add', delta: -2 });
    await net.ask('n3', { type: 'add', delta: 4 });
    await vi.advanceTimersByTimeAsync(10 * gossip_interval_ms);
    expect((await net.ask('n2', { type: 'read' })).value).toBe(2);
    net.isolated.clear();
    await vi.advanceTimersByTimeAsync(10 * gossip_interval_ms);
    for (const id of ['n1', 'n2', 'n3']) expect((await net.ask(id, { type: 'read' })).value, id).toBe(7);
    // A restarted node learns its own past adds back from its peers.
    net.start('n1');
    await vi.advanceTimersByTimeAsync(10 * gossip_interval_ms);
    expect((await net.ask('n1', { type: 'read' })).value).toBe(7);
  });

  it('refuses a delta that is not an integer with a definite error', async () => {
    const net = new FakeNetwork(['n1'], counterNode);
    expect(await net.ask('n1', { type: 'add', delta: 'x' })).toMatchObject({ type: 'error', code: 12 });
  });
});

describe('the reference txn node', () => {
  const txn = (net: FakeNetwork, node: string, ops: unknown[][]) => net.ask(node, { type: 'txn', txn: ops });
  const reads = async (net: FakeNetwork, node: string, keys: number[]) => ((await txn(net, node, keys.map((k) => ['r', k, null]))).txn as unknown[][]).map((op) => op[2]);

  it("answers a transaction whole: its reads see its own earlier writes, and no other node sees a value it overwrote", async () => {
    const net = new FakeNetwork(['n1', 'n2'], txnNode);
    expect(await txn(net, 'n1', [['r', 1, null], ['w', 1, 5], ['r', 1, null], ['w', 1, 6], ['w', 2, 7]])).toMatchObject({ type: 'txn_ok', txn: [['r', 1, null], ['w', 1, 5], ['r', 1, 5], ['w', 1, 6], ['w', 2, 7]] });
    await vi.advanceTimersByTimeAsync(2 * txn_gossip_interval_ms);
    expect(await reads(net, 'n2', [1, 2])).toEqual([6, 7]);
    expect(net.sent.filter((m) => m === 'n1->n2 replicate')).toHaveLength(1);
  });

  it('answers on both sides of a partition, and after it heals every node holds the same transaction\'s writes of every key', async () => {
    const net = new FakeNetwork(['n1', 'n2', 'n3'], txnNode);
    net.isolated.add('n1');
    await txn(net, 'n1', [['w', 1, 1], ['w', 2, 1]]);
    await txn(net, 'n2', [['w', 1, 2], ['w', 2, 2]]);
    await vi.advanceTimersByTimeAsync(10 * txn_gossip_interval_ms);
    expect(await reads(net, 'n1', [1, 2])).toEqual([1, 1]);
    expect(await reads(net, 'n3', [1, 2])).toEqual([2, 2]);
    net.isolated.clear();
    await vi.advanceTimersByTimeAsync(3 * txn_gossip_interval_ms);
    // The two transactions have equal counters: the node index breaks the tie, the same way everywhere (no write cycle).
    for (const node of ['n1', 'n2', 'n3']) expect(await reads(net, node, [1, 2]), node).toEqual([2, 2]);
    // Once acknowledged, nothing more is sent.
    const sent = net.sent.length;
    await vi.advanceTimersByTimeAsync(5 * txn_gossip_interval_ms);
    expect(net.sent.slice(sent).filter((m) => m.endsWith(' replicate'))).toEqual([]);
  });

  it('orders a transaction after the writes its node had seen, so a later write wins everywhere', async () => {
    const net = new FakeNetwork(['n1', 'n2'], txnNode);
    await txn(net, 'n2', [['w', 1, 1]]);
    await txn(net, 'n2', [['w', 1, 2]]);
    await vi.advanceTimersByTimeAsync(2 * txn_gossip_interval_ms);
    // n1's own counter is behind n2's: the write it heard moved it past.
    await txn(net, 'n1', [['r', 1, null], ['w', 1, 3]]);
    await vi.advanceTimersByTimeAsync(2 * txn_gossip_interval_ms);
    expect(await reads(net, 'n2', [1])).toEqual([3]);
  });

  it('refuses what is not a list of reads and writes with a definite error', async () => {
    const net = new FakeNetwork(['n1'], txnNode);
    expect(await txn(net, 'n1', [['append', 1, 2]])).toMatchObject({ type: 'error', code: 12 });
    expect(await net.ask('n1', { type: 'txn', txn: 'r 1' })).toMatchObject({ type: 'error', code: 12 });
  });
});
