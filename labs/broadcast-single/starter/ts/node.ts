/**
 * dslab labs: broadcast-single, broadcast-multi, broadcast-partitions,
 * broadcast-efficiency. Starter code in TypeScript on dslab's node runtime.
 *
 * The four broadcast labs grow ONE node, step by step: first a single node
 * that keeps what clients broadcast, then five nodes that pass messages on to
 * each other, then five nodes whose network splits, then 25 nodes with 100 ms
 * between them and a budget of messages and latency. `dslab lab init` gives
 * this same file for each of them, so keep working in the file you started with.
 *
 * Run it from this folder (`dslab lab init` wrote in the tsx of your dslab
 * installation, so nothing else needs installing):
 *
 *   dslab up broadcast --bin "node --import __DSLAB_TSX__ node.ts" --nodes 5 --detach
 *   dslab grade broadcast-single --bin "node --import __DSLAB_TSX__ node.ts"
 *   dslab test -w broadcast --bin node --node-count 5 --time-limit 10 -- --import __DSLAB_TSX__ node.ts
 *
 * (`dslab test` reads Maelstrom's command line: the binary's own flags go after `--`.)
 *
 * README.md next to this file has the messages, hints and tests of the lab
 * you started with; the other steps' READMEs are in the labs folder beside it
 * (labs/broadcast-multi/README.md and so on).
 *
 * The runtime (the import below; `dslab lab init` points it at your dslab
 * installation) reads stdin, answers init, dispatches by body.type and exits
 * when stdin closes. Runtime API: node.on(type, handler), node.onInit(cb),
 * node.send(dest, body), node.sendRequest(dest, body) (adds a fresh msg_id),
 * node.reply(request, body), node.replyError(request, code, text),
 * node.rpc(dest, body, timeoutMs) -> Promise<body>, node.every(ms, cb),
 * node.after(ms, cb), node.id, node.nodeIds, node.peers(), node.log(...),
 * node.run(). Your part is marked TODO.
 */
import { Node } from '__DSLAB_RUNTIME__';

interface Message {
  src: string;
  dest: string;
  body: { type: string; msg_id?: number; in_reply_to?: number; [field: string]: unknown };
}

const not_supported = 10;

const node = new Node();

/** The messages this node holds. Maelstrom's messages are unique integers; a Set of numbers keeps them. */
const messages = new Set<unknown>();
/** The neighbours the topology message suggested. */
let neighbours: string[] = [];

node.on('topology', (message: Message) => {
  // The topology maps every node id to its suggested neighbours, e.g.
  // {"n1": ["n2", "n4"], "n2": ["n1", "n3", "n5"], ...}. A map may have no
  // entry for this node at all (the line topology of one node is {}).
  const topology = (message.body.topology ?? {}) as Record<string, string[] | undefined>;
  neighbours = topology[node.id] ?? [];
  // TODO (broadcast-multi on): you may gossip over these neighbours, or choose
  // your own links: every node can send to every other.
  node.reply(message, { type: 'topology_ok' });
});

node.on('broadcast', (message: Message) => {
  // TODO: keep message.body.message and answer {type: 'broadcast_ok'}. From
  // broadcast-multi on, every other node must come to hold it too.
  void messages;
  void neighbours;
  node.replyError(message, not_supported, 'broadcast is not implemented yet');
});

node.on('read', (message: Message) => {
  // TODO: answer {type: 'read_ok', messages: [every message this node holds]}.
  node.replyError(message, not_supported, 'read is not implemented yet');
});

node.run();
