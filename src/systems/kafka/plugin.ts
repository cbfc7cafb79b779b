// The kafka system's entry for the registry: Maelstrom's kafka logs to play with and grade against (your
// node with --bin, or the reference node on lin-kv). Declarations only: no I/O.
import { z } from 'zod';
import type { SystemPlugin } from '../../lib/plugin.js';
import { no_roles } from '../../lib/roles.js';

/** Kafka-style logs: `up kafka --bin CMD` runs the user's node; without --bin, the reference node (main.ts). */
export const kafka: SystemPlugin = {
  name: 'kafka',
  description: 'Kafka-style append-only logs with committed offsets (Maelstrom kafka; your node with --bin)',
  groups: [{ name: 'nodes', prefix: 'n', program: new URL('./main.js', import.meta.url), count_flag: 'nodes' }],
  flags: {},
  optionsFromFlags: () => ({}),
  options: z.strictObject({}),
  roles: no_roles,
  columns: [],
  workloads: ['kafka'],
};
