// The broadcast system's reference node: a replicated set gossiped in batches over a star around the first node.
import { Node } from '../../lib/runtime/node.js';
import { setNode } from './set-node.js';

const node = new Node();
setNode(node, { add: { type: 'broadcast', field: 'message', reply: 'broadcast_ok' }, read_field: 'messages', topology: true });
node.run();
