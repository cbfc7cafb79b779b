// The pn-counter system's reference node.
import { runCounterNode } from './counter-node.js';

runCounterNode();
