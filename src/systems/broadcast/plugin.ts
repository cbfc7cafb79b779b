// The broadcast system's entry for the registry: Maelstrom's broadcast to play with, each node told its
// topology after init. Declarations only: no I/O.
import { Flags } from '@oclif/core';
import { z } from 'zod';
import type { ColumnSpec, SystemPlugin } from '../../lib/plugin.js';
import { no_roles } from '../../lib/roles.js';
import { topology_kind_default, topology_kinds } from '../../workloads/broadcast/topology.js';

/** The column the reference set nodes fill: how many elements each holds. */
export const set_columns: readonly ColumnSpec[] = [{ key: 'elements', title: 'ELEMENTS', fields: ['elements'], width: 9, drop_rank: 3 }];

/**
 * Maelstrom's broadcast as a system to play with: `up broadcast --bin CMD`
 * runs the user's node (without --bin, the reference node in main.ts), and
 * every node is sent its `topology` right after init (the broadcast workload's
 * afterInit).
 */
export const broadcast: SystemPlugin = {
  name: 'broadcast',
  description: 'broadcast messages to every node over a topology (Maelstrom broadcast; your node with --bin)',
  groups: [{ name: 'nodes', prefix: 'n', program: new URL('./main.js', import.meta.url), count_flag: 'nodes' }],
  flags: {
    topology: Flags.string({ options: [...topology_kinds], description: 'broadcast: the neighbours each node is told in its topology message', defaultHelp: async () => topology_kind_default }),
  },
  optionsFromFlags: (flags) => (typeof flags.topology === 'string' ? { topology: flags.topology } : {}),
  options: z.strictObject({ topology: z.enum(topology_kinds).optional() }),
  roles: no_roles,
  columns: set_columns,
  workloads: ['broadcast'],
};
