// The kafka system's reference node: logs and committed offsets in lin-kv (log-node.ts), on real stdio.
import { Node } from '../../lib/runtime/node.js';
import { logNode } from './log-node.js';
import { readPlantedBug } from './options.js';

const node = new Node();
logNode(node, readPlantedBug(process.env));
node.run();
