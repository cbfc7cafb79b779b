// Planted bug: a new message is passed on to the topology's neighbours once, with no acknowledgement
// and no retry. Without faults the flood reaches every node; a message sent across a partition is lost for good.
import { Node } from '../../../dist/lib/runtime/node.js';

const node = new Node();
const messages = new Set();
let neighbours = [];

const take = (message, from) => {
  if (messages.has(message)) return;
  messages.add(message);
  for (const peer of neighbours) if (peer !== from) node.send(peer, { type: 'pass_on', message });
};

node.on('topology', (request) => {
  neighbours = request.body.topology[node.id] ?? [];
  node.reply(request, { type: 'topology_ok' });
});
node.on('broadcast', (request) => {
  take(request.body.message, null);
  node.reply(request, { type: 'broadcast_ok' });
});
node.on('pass_on', (request) => take(request.body.message, request.src));
node.on('read', (request) => node.reply(request, { type: 'read_ok', messages: [...messages] }));
node.run();
