// Planted bug (of latency): gossip over a star around the first node, batched, as the reference does, but
// only once a second. Few messages, nothing lost, yet a broadcast takes about a second to reach every node:
// over the 400 ms median stable latency the fast test allows.
import { Node } from '../../../dist/lib/runtime/node.js';

const batch_interval_ms = 1000;
const node = new Node();
const messages = new Set();
/** Per neighbour: the messages it has not acknowledged. */
const owed = new Map();
let neighbours = [];

const take = (values, from) => {
  for (const message of values) {
    if (from !== null) owed.get(from)?.delete(message);
    if (messages.has(message)) continue;
    messages.add(message);
    for (const peer of neighbours) if (peer !== from) owed.get(peer).add(message);
  }
};

node.onInit(() => {
  const hub = node.nodeIds[0];
  neighbours = node.id === hub ? node.peers() : [hub];
  for (const peer of neighbours) owed.set(peer, new Set());
  node.every(batch_interval_ms, () => {
    for (const [peer, due] of owed) if (due.size > 0) node.sendRequest(peer, { type: 'batch', messages: [...due] });
  });
});
node.on('topology', (request) => node.reply(request, { type: 'topology_ok' }));
node.on('broadcast', (request) => {
  take([request.body.message], null);
  node.reply(request, { type: 'broadcast_ok' });
});
node.on('batch', (request) => {
  take(request.body.messages, request.src);
  node.reply(request, { type: 'batch_ok', messages: request.body.messages });
});
node.on('batch_ok', (reply) => take(reply.body.messages, reply.src));
node.on('read', (request) => node.reply(request, { type: 'read_ok', messages: [...messages] }));
node.run();
