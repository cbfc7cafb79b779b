// Planted bug: ids are node id + an in-memory counter, so a restarted node hands out its old ids again.
import { Node } from '../../../dist/lib/runtime/node.js';

const node = new Node();
let counter = 0;
node.on('generate', (message) => node.reply(message, { type: 'generate_ok', id: `${node.id}-${++counter}` }));
node.run();
