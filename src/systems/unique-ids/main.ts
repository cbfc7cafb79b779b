// The unique-ids node's process: its one handler on the node runtime over real stdio. It talks to no
// other node and keeps nothing on disk.

/**
 * The unique-ids system (Maelstrom's workload): `generate` answers with an id
 * no other node, and no earlier run of this node, ever hands out, without
 * talking to anyone: node id + this process's start time + a counter.
 */
import { Node } from '../../lib/runtime/node.js';

const node = new Node();
const started_ms = Date.now();
let counter = 0;

node.on('generate', (message) => {
  counter += 1;
  node.reply(message, { type: 'generate_ok', id: `${node.id}-${started_ms.toString(36)}-${counter}` });
});
node.run();
