// The echo system's entry in the registry (src/registry.ts): its node group, options schema and roles.
// Declarations only: importing it starts nothing and does no I/O.

import { z } from 'zod';
import type { SystemPlugin } from '../../lib/plugin.js';
import { no_roles } from '../../lib/roles.js';

export const echo: SystemPlugin = {
  name: 'echo',
  description: 'answers echo requests and pings its peers; proves the whole path',
  groups: [{ name: 'nodes', prefix: 'n', program: new URL('./main.js', import.meta.url), count_flag: 'nodes' }],
  flags: {},
  optionsFromFlags: () => ({}),
  options: z.strictObject({}),
  // Its nodes report role "echo", which neither leads nor follows: no leader to look for.
  roles: no_roles,
  columns: [],
  workloads: ['echo'],
};
