// The txn system's entry for the registry: Maelstrom's txn-rw-register to play with (your node with
// --bin, or the reference store of txn-node.ts). Declarations only: no I/O.
import { z } from 'zod';
import type { ColumnSpec, SystemPlugin } from '../../lib/plugin.js';
import { no_roles } from '../../lib/roles.js';

/** The column the reference nodes fill: how many keys each holds. */
const store_columns: readonly ColumnSpec[] = [{ key: 'keys', title: 'KEYS', fields: ['keys'], width: 6, drop_rank: 3 }];

export const txn: SystemPlugin = {
  name: 'txn',
  description: 'key-value transactions on every node, totally available and read-committed (Maelstrom txn-rw-register; your node with --bin)',
  groups: [{ name: 'nodes', prefix: 'n', program: new URL('./main.js', import.meta.url), count_flag: 'nodes' }],
  flags: {},
  optionsFromFlags: () => ({}),
  options: z.strictObject({}),
  roles: no_roles,
  columns: store_columns,
  workloads: ['txn-rw-register'],
};
