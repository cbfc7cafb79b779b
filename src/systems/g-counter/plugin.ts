import { counterSystem } from '../pn-counter/plugin.js';

export const g_counter = counterSystem('g-counter', 'grow-only counter replicated on every node (Maelstrom g-counter; your node with --bin)');
