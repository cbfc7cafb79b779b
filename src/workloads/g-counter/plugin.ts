import { counterWorkload } from '../pn-counter/plugin.js';

/** Maelstrom's g-counter: pn-counter's messages with deltas that are never negative. */
export const g_counter_workload = counterWorkload('g-counter', 'grow-only counter: add non-negative deltas, read the sum (Maelstrom g-counter)', 0);
