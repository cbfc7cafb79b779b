// Planted bug (of cost, not of correctness): a new broadcast goes straight to every other node, and every
// read sends everything this node holds to every other node again, "to be safe". Nothing is lost, but each
// operation costs about 24 messages between nodes, over the budget of 20.
import { Node } from '../../../dist/lib/runtime/node.js';

const node = new Node();
const messages = new Set();

node.on('topology', (request) => node.reply(request, { type: 'topology_ok' }));
node.on('broadcast', (request) => {
  const message = request.body.message;
  if (!messages.has(message)) {
    messages.add(message);
    for (const peer of node.peers()) node.send(peer, { type: 'share', messages: [message] });
  }
  node.reply(request, { type: 'broadcast_ok' });
});
node.on('share', (request) => {
  for (const message of request.body.messages) messages.add(message);
});
node.on('read', (request) => {
  const all = [...messages];
  if (all.length > 0) for (const peer of node.peers()) node.send(peer, { type: 'share', messages: all });
  node.reply(request, { type: 'read_ok', messages: all });
});
node.run();
