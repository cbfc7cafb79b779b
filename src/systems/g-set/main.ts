// The g-set system's reference node: the broadcast node's replicated set (a star around the first node), with g-set's messages.
import { Node } from '../../lib/runtime/node.js';
import { setNode } from '../broadcast/set-node.js';

const node = new Node();
setNode(node, { add: { type: 'add', field: 'element', reply: 'add_ok' }, read_field: 'value', topology: false });
node.run();
