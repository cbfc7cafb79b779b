// The reference set node broadcast and g-set share: it gossips over a star around one hub, in batches,
// what a neighbour has not acknowledged yet. Runs on the node runtime; no protocol state outside this node.
/**
 * A replicated grow-only set node, the reference behind the broadcast and
 * g-set systems: an element added at any node reaches every node that can be
 * reached, however long a partition lasts.
 *
 * Gossip goes over a star: the first node of the cluster is the hub, and every
 * other node talks only to it. The `topology` a broadcast node is told is
 * advice, not a limit (every node can message every other), and the grid
 * Maelstrom suggests is eight hops across at 25 nodes, 800 ms at 100 ms a hop;
 * through a hub any element is two hops from any node. Each link carries at
 * most one gossip message per interval, however many elements arrived in it
 * (batching is what keeps messages per operation low at high rates). The
 * neighbour answers with the elements it took; an element not acknowledged
 * within the retry interval goes again (a partition lost it), and once
 * acknowledged it never crosses that link again.
 */
import type { MessageBody } from '../../lib/protocol/messages.js';
import type { Node } from '../../lib/runtime/node.js';

/** How often a node sends each neighbour, in one message, what it owes it. */
export const gossip_interval_ms = 50;
/** An element sent but not acknowledged this many intervals ago (1 s: five round trips at the efficiency lab's 100 ms latency) is sent again. */
export const gossip_retry_intervals = 20;
/** Elements one gossip message carries at most, so a long partition's backlog goes over in bounded messages. */
export const gossip_elements_max = 500;

export interface SetNodeShape {
  /** The request that adds an element, its field and its reply: broadcast/message/broadcast_ok or add/element/add_ok. */
  add: { type: string; field: string; reply: string };
  /** The read_ok field that holds the elements: messages or value. */
  read_field: string;
  /** Answers the `topology` message Maelstrom's broadcast sends each node first (broadcast; g-set gets none). */
  topology: boolean;
}

/** The nodes `self` gossips with: the hub (the first node) talks to every other node, every other node to the hub. */
export function starNeighbours(self: string, node_ids: readonly string[]): string[] {
  const hub = node_ids[0];
  if (hub === undefined || node_ids.length < 2) return [];
  return self === hub ? node_ids.filter((id) => id !== hub) : [hub];
}

/** Gives `node` the set's handlers (the caller runs it: main.ts on stdio, tests on a fake network). */
export function setNode(node: Node, shape: SetNodeShape): void {
  /** Each element by its JSON text, so 1 and "1" stay apart. */
  const elements = new Map<string, unknown>();
  /**
   * Per neighbour: the elements it is not known to hold, each with the
   * interval it was last sent there in (null: not yet). An element leaves when
   * acknowledged. Time counts in intervals, so a skewed clock changes nothing.
   */
  const owed = new Map<string, Map<string, number | null>>();
  let neighbours: string[] = [];
  let interval = 0;

  const owedTo = (peer: string): Map<string, number | null> => owed.get(peer) ?? owed.set(peer, new Map()).get(peer)!;

  /** Takes the values; `from` (a neighbour, or null for a client) holds them, every other neighbour is owed the new ones. */
  const learn = (from: string | null, values: readonly unknown[]): void => {
    for (const value of values) {
      const key = JSON.stringify(value);
      if (from !== null) owed.get(from)?.delete(key);
      if (elements.has(key)) continue;
      elements.set(key, value);
      for (const peer of neighbours) if (peer !== from) owedTo(peer).set(key, null);
    }
  };

  const gossip = (): void => {
    interval++;
    for (const peer of neighbours) {
      const due: unknown[] = [];
      for (const [key, sent_at] of owed.get(peer) ?? []) {
        if (sent_at !== null && interval - sent_at < gossip_retry_intervals) continue;
        due.push(elements.get(key));
        owedTo(peer).set(key, interval);
        if (due.length >= gossip_elements_max) break;
      }
      if (due.length > 0) node.sendRequest(peer, { type: 'gossip', elements: due });
    }
    node.reportState({ role: 'replica', elements: elements.size });
  };

  node.onInit(() => {
    neighbours = starNeighbours(node.id, node.nodeIds);
    node.every(gossip_interval_ms, gossip);
  });
  // A neighbour whose process exited comes back empty (this node keeps nothing on disk either): owe it everything again.
  node.onConnectionClosed((peer) => {
    if (neighbours.includes(peer)) owed.set(peer, new Map([...elements.keys()].map((key) => [key, null])));
  });
  if (shape.topology) node.on('topology', (message) => node.reply(message, { type: 'topology_ok' }));
  node.on(shape.add.type, (message) => {
    learn(null, [message.body[shape.add.field]]);
    node.reply(message, { type: shape.add.reply });
  });
  node.on('read', (message) => {
    const body: MessageBody = { type: 'read_ok' };
    body[shape.read_field] = [...elements.values()];
    node.reply(message, body);
  });
  node.on('gossip', (message) => {
    const values = Array.isArray(message.body.elements) ? (message.body.elements as unknown[]) : [];
    learn(message.src, values);
    node.reply(message, { type: 'gossip_ok', elements: values });
  });
  node.on('gossip_ok', (message) => {
    learn(message.src, Array.isArray(message.body.elements) ? (message.body.elements as unknown[]) : []);
  });
}
