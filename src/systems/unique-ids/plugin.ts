// The unique-ids system's entry in the registry (src/registry.ts): its node group, options schema and roles.
// Declarations only: importing it starts nothing and does no I/O.

import { z } from 'zod';
import type { SystemPlugin } from '../../lib/plugin.js';
import { no_roles } from '../../lib/roles.js';

export const unique_ids: SystemPlugin = {
  name: 'unique-ids',
  description: 'hands out globally unique ids (Maelstrom unique-ids workload)',
  groups: [{ name: 'nodes', prefix: 'n', program: new URL('./main.js', import.meta.url), count_flag: 'nodes' }],
  flags: {},
  optionsFromFlags: () => ({}),
  options: z.strictObject({}),
  roles: no_roles,
  columns: [],
  workloads: ['unique-ids'],
};
