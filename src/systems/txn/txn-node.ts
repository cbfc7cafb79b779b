// The txn system's reference node: a totally available key-value store of registers, read-committed
// under partitions. Runs on the node runtime; no state outside this node.
/**
 * Every node answers a transaction alone, at once: its reads see this node's
 * store with the transaction's own earlier writes over it, and its writes go
 * into the store together when it is done, so no other transaction sees some
 * of them without the rest, and none sees a value the transaction overwrote.
 * No transaction ever fails, so none is ever read that did not commit.
 *
 * Each write carries its transaction's timestamp, a Lamport clock (a counter
 * moved past every timestamp the node has seen, then its index among the
 * nodes to break ties), and a node keeps a key's write only if it is newer
 * than the one it holds. Every node thus orders a key's versions the same way,
 * by timestamp, and a transaction comes after every write it read: neither
 * write cycles (G0) nor information flowing in a circle (G1c) can happen.
 *
 * A transaction's writes are owed to every peer until it acknowledges them.
 * Every gossip interval a node sends each peer, in one message, every write it
 * owes it, and the peer applies that message's writes in one step; a write
 * overwritten before it was sent is replaced by the newer one. A partition
 * only delays them: they go again each interval until the acknowledgement
 * comes back.
 */
import { error_codes, type Envelope } from '../../lib/protocol/messages.js';
import type { Node } from '../../lib/runtime/node.js';

/** How often a node sends each peer the writes it owes it. */
export const gossip_interval_ms = 50;
/** Writes one gossip message carries at most, so a long partition's backlog goes over in bounded messages. */
export const gossip_writes_max = 5_000;

/** A write's timestamp: the Lamport counter, then the writing node's index among the nodes. */
type Stamp = readonly [counter: number, node: number];

interface Version {
  key: unknown;
  value: unknown;
  stamp: Stamp;
}

const newer = (a: Stamp, b: Stamp): boolean => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);

/** A micro-operation as the txn workloads send it: ["r", key, null] or ["w", key, value]. */
function microOp(raw: unknown): [string, unknown, unknown] | null {
  return Array.isArray(raw) && raw.length === 3 && typeof raw[0] === 'string' ? [raw[0], raw[1], raw[2]] : null;
}

function isStamp(raw: unknown): raw is Stamp {
  return Array.isArray(raw) && raw.length === 2 && Number.isSafeInteger(raw[0]) && Number.isSafeInteger(raw[1]);
}

/** Gives `node` the store's handlers (the caller runs it: main.ts on stdio, tests on a fake network). */
export function txnNode(node: Node): void {
  /** Each key's newest version this node knows, by the key's JSON text (so 1 and "1" stay apart). */
  const store = new Map<string, Version>();
  /** Per peer: the versions it is owed, by key (at most one per key of the store: a newer write replaces an owed one). */
  const owed = new Map<string, Map<string, Version>>();
  let clock = 0;
  let index = 0;

  const owedTo = (peer: string): Map<string, Version> => owed.get(peer) ?? owed.set(peer, new Map()).get(peer)!;

  /** Takes a version if it is newer than the key's; says whether it did. */
  const take = (id: string, version: Version): boolean => {
    clock = Math.max(clock, version.stamp[0]);
    const held = store.get(id);
    if (held && !newer(version.stamp, held.stamp)) return false;
    store.set(id, version);
    return true;
  };

  const gossip = (): void => {
    for (const peer of node.peers()) {
      const due = [...(owed.get(peer)?.entries() ?? [])].slice(0, gossip_writes_max);
      if (due.length > 0) node.sendRequest(peer, { type: 'replicate', writes: due.map(([id, v]) => [id, v.key, v.value, v.stamp]) });
    }
    node.reportState({ role: 'replica', keys: store.size });
  };

  node.onInit(() => {
    index = Math.max(0, node.nodeIds.indexOf(node.id));
    node.every(gossip_interval_ms, gossip);
  });
  // A peer whose process exited comes back empty (nothing is kept on disk): owe it the whole store again.
  node.onConnectionClosed((peer) => {
    if (node.peers().includes(peer)) owed.set(peer, new Map(store));
  });

  node.on('txn', (message: Envelope) => {
    const ops = Array.isArray(message.body.txn) ? (message.body.txn as unknown[]).map(microOp) : null;
    if (!ops || ops.some((op) => op === null || (op[0] !== 'r' && op[0] !== 'w'))) {
      return node.replyError(message, error_codes.malformed_request, 'txn must be a list of ["r", key, null] and ["w", key, value] operations');
    }
    /** This transaction's writes so far, by key: its later reads see them, no one else does until it is done. */
    const own = new Map<string, { key: unknown; value: unknown }>();
    const done = (ops as [string, unknown, unknown][]).map(([f, key, value]) => {
      const id = JSON.stringify(key);
      if (f === 'w') {
        own.set(id, { key, value });
        return [f, key, value];
      }
      const seen = own.get(id) ?? store.get(id);
      return [f, key, seen === undefined ? null : seen.value];
    });
    if (own.size > 0) {
      const stamp: Stamp = [++clock, index];
      for (const [id, write] of own) {
        const version = { ...write, stamp };
        take(id, version);
        for (const peer of node.peers()) owedTo(peer).set(id, version);
      }
    }
    node.reply(message, { type: 'txn_ok', txn: done });
  });

  node.on('replicate', (message: Envelope) => {
    const writes = Array.isArray(message.body.writes) ? (message.body.writes as unknown[]) : [];
    const taken: [string, Stamp][] = [];
    for (const raw of writes) {
      if (!Array.isArray(raw) || raw.length !== 4 || typeof raw[0] !== 'string' || !isStamp(raw[3])) continue;
      take(raw[0], { key: raw[1], value: raw[2], stamp: raw[3] });
      taken.push([raw[0], raw[3]]);
    }
    node.reply(message, { type: 'replicate_ok', writes: taken });
  });

  node.on('replicate_ok', (message: Envelope) => {
    const peer_owed = owed.get(message.src);
    if (!peer_owed || !Array.isArray(message.body.writes)) return;
    for (const raw of message.body.writes as unknown[]) {
      if (!Array.isArray(raw) || typeof raw[0] !== 'string' || !isStamp(raw[1])) continue;
      const version = peer_owed.get(raw[0]);
      // Acknowledged unless a newer write of the key has been owed since.
      if (version && version.stamp[0] === raw[1][0] && version.stamp[1] === raw[1][1]) peer_owed.delete(raw[0]);
    }
  });
}
