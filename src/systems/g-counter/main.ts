// The g-counter system's reference node: pn-counter's, which takes any delta g-counter's clients send.
import { runCounterNode } from '../pn-counter/counter-node.js';

runCounterNode();
