// The reference set node broadcast and g-set share: it gossips to its neighbours what they have not
// acknowledged yet. Runs on the node runtime; no protocol state outside this node.
/**
 * A replicated grow-only set node, the reference behind the broadcast and
 * g-set systems: an element added at any node reaches every node that can be
 * reached, however long a partition lasts. Each node gossips, at a fixed
 * interval, the elements a neighbour has not yet acknowledged; the neighbour
 * answers with the ones it took, so each element crosses each link until it
 * is acknowledged and then never again.
 */
import type { MessageBody } from '../../lib/protocol/messages.js';
import type { Node } from '../../lib/runtime/node.js';

export const gossip_interval_ms = 100;
/** Elements one gossip message carries at most, so a long partition's backlog goes over in bounded messages. */
export const gossip_elements_max = 500;

export interface SetNodeShape {
  /** The request that adds an element, its field and its reply: broadcast/message/broadcast_ok or add/element/add_ok. */
  add: { type: string; field: string; reply: string };
  /** The read_ok field that holds the elements: messages or value. */
  read_field: string;
  /** Gossip only to the neighbours a `topology` message names (broadcast); otherwise to every peer. */
  topology: boolean;
}

/** Gives `node` the set's handlers (the caller runs it: main.ts on stdio, tests on a fake network). */
export function setNode(node: Node, shape: SetNodeShape): void {
  /** Each element by its JSON text, so 1 and "1" stay apart. */
  const elements = new Map<string, unknown>();
  /** Per neighbour: the elements it is known to hold. */
  const acknowledged = new Map<string, Set<string>>();
  let neighbours: string[] = [];

  const learn = (from: string | null, values: readonly unknown[]): void => {
    const known = from === null ? null : (acknowledged.get(from) ?? acknowledged.set(from, new Set()).get(from)!);
    for (const value of values) {
      const key = JSON.stringify(value);
      elements.set(key, value);
      known?.add(key);
    }
  };

  const gossip = (): void => {
    for (const peer of neighbours) {
      const known = acknowledged.get(peer);
      const missing: unknown[] = [];
      for (const [key, value] of elements) {
        if (known?.has(key)) continue;
        missing.push(value);
        if (missing.length >= gossip_elements_max) break;
      }
      if (missing.length > 0) node.sendRequest(peer, { type: 'gossip', elements: missing });
    }
    node.reportState({ role: 'replica', elements: elements.size });
  };

  node.onInit(() => {
    if (!shape.topology) neighbours = node.peers();
    node.every(gossip_interval_ms, gossip);
  });
  // A neighbour whose process exited comes back empty (this node keeps nothing on disk either): send it everything again.
  node.onConnectionClosed((peer) => acknowledged.delete(peer));
  node.on('topology', (message) => {
    const topology = message.body.topology as Record<string, unknown> | undefined;
    const mine = topology?.[message.dest];
    neighbours = Array.isArray(mine) ? mine.filter((n): n is string => typeof n === 'string' && n !== message.dest) : node.peers();
    node.reply(message, { type: 'topology_ok' });
  });
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
