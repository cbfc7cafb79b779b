// The broadcast system's reference node: a replicated set gossiped over the topology's links.
import { runSetNode } from './set-node.js';

runSetNode({ add: { type: 'broadcast', field: 'message', reply: 'broadcast_ok' }, read_field: 'messages', topology: true });
