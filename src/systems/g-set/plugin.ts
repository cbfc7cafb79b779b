// The g-set system's entry for the registry: Maelstrom's grow-only set to play with (your node with
// --bin, or the reference set node). Declarations only: no I/O.
import { z } from 'zod';
import type { SystemPlugin } from '../../lib/plugin.js';
import { no_roles } from '../../lib/roles.js';
import { set_columns } from '../broadcast/plugin.js';

/** Maelstrom's g-set as a system to play with: the user's node with --bin, else the reference node in main.ts. */
export const g_set: SystemPlugin = {
  name: 'g-set',
  description: 'grow-only set replicated on every node (Maelstrom g-set; your node with --bin)',
  groups: [{ name: 'nodes', prefix: 'n', program: new URL('./main.js', import.meta.url), count_flag: 'nodes' }],
  flags: {},
  optionsFromFlags: () => ({}),
  options: z.strictObject({}),
  roles: no_roles,
  columns: set_columns,
  workloads: ['g-set'],
};
