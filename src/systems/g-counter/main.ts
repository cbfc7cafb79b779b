// The g-counter system's reference node: pn-counter's, which takes any delta g-counter's clients send.
import { Node } from '../../lib/runtime/node.js';
import { counterNode } from '../pn-counter/counter-node.js';

const node = new Node();
counterNode(node);
node.run();
