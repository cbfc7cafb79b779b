// The g-set system's reference node: a replicated set gossiped to every peer.
import { Node } from '../../lib/runtime/node.js';
import { setNode } from '../broadcast/set-node.js';

const node = new Node();
setNode(node, { add: { type: 'add', field: 'element', reply: 'add_ok' }, read_field: 'value', topology: false });
node.run();
