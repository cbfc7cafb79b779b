// The g-counter system's entry for the registry: Maelstrom's grow-only counter to play with (your
// node with --bin, or the reference counter node). Declarations only: no I/O.
import { counterSystem } from '../pn-counter/plugin.js';

export const g_counter = counterSystem('g-counter', 'grow-only counter replicated on every node (Maelstrom g-counter; your node with --bin)');
