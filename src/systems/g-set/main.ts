// The g-set system's reference node: a replicated set gossiped to every peer.
import { runSetNode } from '../broadcast/set-node.js';

runSetNode({ add: { type: 'add', field: 'element', reply: 'add_ok' }, read_field: 'value', topology: false });
