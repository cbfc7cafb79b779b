import { describe, expect, it } from 'vitest';
import type { MessageBody } from '../../src/lib/protocol/messages.js';
import { Node } from '../../src/lib/runtime/node.js';
import { LinKv } from '../../src/lib/services/lin-kv.js';
import { logNode } from '../../src/systems/kafka/log-node.js';
import type { KafkaPlantedBug } from '../../src/systems/kafka/options.js';

/**
 * The kafka reference node (src/systems/kafka/log-node.ts) on an in-memory
 * network of real Node runtimes and the real lin-kv service: messages are
 * delivered one at a time in the order sent, so requests issued together
 * interleave at lin-kv as they would on a real network.
 */
type Envelope = { src: string; dest: string; body: MessageBody };

class FakeNetwork {
  readonly nodes = new Map<string, Node>();
  readonly lin_kv = new LinKv();
  /** Every request a node sent lin-kv, as "node type". */
  readonly kv_requests: string[] = [];
  private readonly queue: Envelope[] = [];
  private readonly replies = new Map<number, MessageBody>();
  private next_msg_id = 1;

  constructor(
    readonly ids: readonly string[],
    private readonly planted_bug: KafkaPlantedBug | null = null,
  ) {
    for (const id of ids) this.start(id);
  }

  /** A new process for `id` (a restart when one ran before): empty, then init. */
  start(id: string): void {
    const node = new Node({
      write: (text) => {
        for (const line of text.split('\n')) if (line) this.queue.push(JSON.parse(line) as Envelope);
      },
      log: () => undefined,
      exit: () => undefined,
      now: () => Date.now(),
    });
    logNode(node, this.planted_bug);
    this.nodes.set(id, node);
    void node.handleLine(JSON.stringify({ src: 'c0', dest: id, body: { type: 'init', msg_id: 0, node_id: id, node_ids: this.ids } }));
  }

  /** Delivers every message until none is left and every node is idle. */
  async settle(): Promise<void> {
    for (let idle = 0; idle < 3; ) {
      await new Promise((resolve) => setImmediate(resolve));
      const envelope = this.queue.shift();
      if (!envelope) {
        idle++;
        continue;
      }
      idle = 0;
      if (envelope.dest === 'lin-kv') {
        this.kv_requests.push(`${envelope.src} ${envelope.body.type}`);
        for (const reply of this.lin_kv.handle(envelope.src, envelope.body, Date.now())) this.queue.push({ src: 'lin-kv', dest: reply.dest, body: reply.body });
        // Not awaited: a handler waits for lin-kv's answer, which this loop has yet to deliver.
      } else if (this.nodes.has(envelope.dest)) void this.nodes.get(envelope.dest)!.handleLine(JSON.stringify(envelope));
      else if (typeof envelope.body.in_reply_to === 'number') this.replies.set(envelope.body.in_reply_to, envelope.body);
    }
  }

  /** Client requests sent at once (each to its node); resolves with their replies, in order. */
  async askAll(requests: readonly [string, MessageBody][]): Promise<MessageBody[]> {
    const ids = requests.map(([node, body]) => {
      const msg_id = this.next_msg_id++;
      this.queue.push({ src: 'c9', dest: node, body: { ...body, msg_id } });
      return msg_id;
    });
    await this.settle();
    return ids.map((id) => this.replies.get(id) ?? { type: 'no answer' });
  }

  async ask(node: string, body: MessageBody): Promise<MessageBody> {
    return (await this.askAll([[node, body]]))[0]!;
  }

  /** Polls `key` at `node` from `from`, again from where each answer ended, until one brings nothing new. */
  async pollAll(node: string, key: string, from = 0): Promise<unknown[]> {
    const pairs: unknown[] = [];
    for (;;) {
      const got = ((await this.ask(node, { type: 'poll', offsets: { [key]: from + pairs.length } })).msgs as Record<string, unknown[]>)[key]!;
      if (got.length === 0) return pairs;
      pairs.push(...got);
    }
  }
}

const sendsTo = (nodes: readonly string[], key: string, count: number): [string, MessageBody][] => Array.from({ length: count }, (_, i) => [nodes[i % nodes.length]!, { type: 'send', key, msg: 100 + i }]);

describe('the kafka reference node', () => {
  it('hands out each offset of a key once, 0, 1, 2, …, when two nodes take sends to it at once; both nodes poll the same log', async () => {
    const net = new FakeNetwork(['n0', 'n1']);
    await net.settle();
    const replies = await net.askAll(sendsTo(['n0', 'n1'], 'k', 10));
    const offsets = replies.map((r) => r.offset as number);
    expect(replies.every((r) => r.type === 'send_ok')).toBe(true);
    expect([...offsets].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const expected = offsets.map((offset, i) => [offset, 100 + i]).sort((a, b) => a[0]! - b[0]!);
    // A node answers from its copy of the log first, then from lin-kv: asked again from where it stopped, it gets to the end.
    for (const node of ['n0', 'n1']) expect(await net.pollAll(node, 'k')).toEqual(expected);
    expect(await net.pollAll('n1', 'k', 7)).toEqual(expected.slice(7));
  });

  it('with the blind-append bug, two nodes hand out one offset twice (what the test above would catch)', async () => {
    const net = new FakeNetwork(['n0', 'n1'], 'blind-append');
    await net.settle();
    const offsets = (await net.askAll(sendsTo(['n0', 'n1'], 'k', 10))).map((r) => r.offset as number);
    expect(new Set(offsets).size).toBeLessThan(10);
  });

  it('puts the sends waiting for one key at one node in one cas, and answers a poll inside its copy of the log without lin-kv', async () => {
    const net = new FakeNetwork(['n0']);
    await net.settle();
    const offsets = (await net.askAll(sendsTo(['n0'], 'k', 6))).map((r) => r.offset);
    expect(offsets).toEqual([0, 1, 2, 3, 4, 5]);
    // The first send's cas, then one for the five that waited for it.
    expect(net.kv_requests).toEqual(['n0 cas', 'n0 cas']);
    expect((await net.ask('n0', { type: 'poll', offsets: { k: 4 } })).msgs).toEqual({ k: [[4, 104], [5, 105]] });
    expect(net.kv_requests).toHaveLength(2);
    // At the end of its copy, it asks lin-kv whether there is more.
    expect((await net.ask('n0', { type: 'poll', offsets: { k: 6 } })).msgs).toEqual({ k: [] });
    expect(net.kv_requests).toEqual(['n0 cas', 'n0 cas', 'n0 read']);
  });

  it('keeps committed offsets where every node, and a node restarted, finds them; a lower commit lowers nothing and sends nothing', async () => {
    const net = new FakeNetwork(['n0', 'n1']);
    await net.settle();
    expect(await net.ask('n0', { type: 'commit_offsets', offsets: { a: 5, b: 2 } })).toMatchObject({ type: 'commit_offsets_ok' });
    expect(await net.ask('n1', { type: 'list_committed_offsets', keys: ['a', 'b', 'c'] })).toMatchObject({ type: 'list_committed_offsets_ok', offsets: { a: 5, b: 2 } });
    const before = net.kv_requests.length;
    await net.ask('n0', { type: 'commit_offsets', offsets: { a: 3 } });
    expect(net.kv_requests).toHaveLength(before);
    net.start('n0');
    await net.settle();
    expect((await net.ask('n0', { type: 'list_committed_offsets', keys: ['a'] })).offsets).toEqual({ a: 5 });
    // A commit from a node whose copy is stale still raises the offset.
    await net.ask('n1', { type: 'commit_offsets', offsets: { a: 9 } });
    expect((await net.ask('n0', { type: 'list_committed_offsets', keys: ['a'] })).offsets).toEqual({ a: 9 });
  });

  it('with the commits-in-memory bug, another node and a restarted one know of no commit', async () => {
    const net = new FakeNetwork(['n0', 'n1'], 'commits-in-memory');
    await net.settle();
    await net.ask('n0', { type: 'commit_offsets', offsets: { a: 5 } });
    expect((await net.ask('n1', { type: 'list_committed_offsets', keys: ['a'] })).offsets).toEqual({});
  });
});
