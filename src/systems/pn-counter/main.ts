// The pn-counter system's reference node.
import { Node } from '../../lib/runtime/node.js';
import { counterNode } from './counter-node.js';

const node = new Node();
counterNode(node);
node.run();
