// Planted bug: the topology handler assumes the map has an entry for this node. Maelstrom's line topology
// of a single node is an empty map, so the handler throws and the node never answers topology.
import { Node } from '../../../dist/lib/runtime/node.js';

const node = new Node();
const messages = new Set();
let neighbours = [];

node.on('topology', (request) => {
  neighbours = request.body.topology[node.id].filter((peer) => peer !== node.id);
  node.reply(request, { type: 'topology_ok' });
});
node.on('broadcast', (request) => {
  const message = request.body.message;
  if (!messages.has(message)) for (const peer of neighbours) if (peer !== request.src) node.send(peer, { type: 'broadcast', message });
  messages.add(message);
  if (request.body.msg_id !== undefined) node.reply(request, { type: 'broadcast_ok' });
});
node.on('read', (request) => node.reply(request, { type: 'read_ok', messages: [...messages] }));
node.run();
