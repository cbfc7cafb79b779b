// The pn-counter system's entry for the registry: Maelstrom's counter with negative deltas to play
// with (your node with --bin, or the reference counter node). Declarations only: no I/O.
import { z } from 'zod';
import type { ColumnSpec, SystemPlugin } from '../../lib/plugin.js';
import { no_roles } from '../../lib/roles.js';

/** The column the reference counter nodes fill: the sum each reads. */
const counter_columns: readonly ColumnSpec[] = [{ key: 'value', title: 'VALUE', fields: ['value'], width: 9, drop_rank: 3 }];

/** A counter system to play with: the user's node with --bin, else the reference node (counter-node.ts). */
export function counterSystem(name: string, description: string): SystemPlugin {
  return {
    name,
    description,
    groups: [{ name: 'nodes', prefix: 'n', program: new URL(`../${name}/main.js`, import.meta.url), count_flag: 'nodes' }],
    flags: {},
    optionsFromFlags: () => ({}),
    options: z.strictObject({}),
    roles: no_roles,
    columns: counter_columns,
    workloads: [name],
  };
}

export const pn_counter = counterSystem('pn-counter', 'counter of integer deltas replicated on every node (Maelstrom pn-counter; your node with --bin)');
