// The raft system's entry in the registry (src/registry.ts): its `up` flags, options schema, node
// groups, roles, dashboard columns and grader steps. Declarations only: importing it does no I/O.

import { Flags } from '@oclif/core';
import { z } from 'zod';
import type { SystemPlugin } from '../../lib/plugin.js';
import type { RoleVocabulary } from '../../lib/roles.js';
import { formatDurationMs, parseDurationMs, parseDurationRangeMs } from '../../lib/util/units.js';
import { election_timeout_ms_max, election_timeout_ms_min, heartbeat_interval_ms } from './core/core.js';
import { snapshot_every_default } from './options.js';
import { raft_steps } from './steps.js';

/** Raft's words (what main.ts reports in `dslab_state`): who leads, who campaigns, and the term. */
export const raft_roles: RoleVocabulary = {
  leading: ['leader'],
  electing: ['candidate', 'pre_candidate'],
  probing: ['pre_candidate'],
  following: ['follower'],
  other: [],
  term_fields: ['term'],
  write_requests: ['write', 'cas', 'delete'],
};

/**
 * The options a raft node reads from DSLAB_OPTIONS (options.ts), from `up`'s
 * flags or a lab spec. A heartbeat must come faster than the election
 * timeout's floor (Raft's default unless given).
 */
export const raft_options = z
  .strictObject({
    election_timeout_ms_min: z.number().positive().optional(),
    election_timeout_ms_max: z.number().positive().optional(),
    heartbeat_interval_ms: z.number().optional(),
    snapshot_every: z.number().int().min(0).optional(),
    read: z.enum(['index', 'lease', 'serializable']).optional(),
    report_apply: z.boolean().optional(),
  })
  .superRefine((options, context) => {
    const floor = options.election_timeout_ms_min ?? election_timeout_ms_min;
    const heartbeat = options.heartbeat_interval_ms;
    if (heartbeat !== undefined && (heartbeat <= 0 || heartbeat >= floor)) {
      context.addIssue({ code: 'custom', path: ['heartbeat_interval_ms'], message: `--heartbeat must be above 0 and below the election timeout's lower bound (${floor}ms)` });
    }
    const { election_timeout_ms_min: min, election_timeout_ms_max: max } = options;
    if ((min === undefined) !== (max === undefined) || (min !== undefined && max !== undefined && max < min)) {
      context.addIssue({ code: 'custom', path: ['election_timeout_ms_min'], message: 'the election timeout needs both bounds, the lower one not above the upper one' });
    }
  });

export const raft: SystemPlugin = {
  name: 'raft',
  description: 'a Raft-replicated, linearizable key-value store (Maelstrom lin-kv messages)',
  groups: [{ name: 'nodes', prefix: 'n', program: new URL('./main.js', import.meta.url), count_flag: 'nodes' }],
  // The defaults live in the node, which applies them when a flag is absent; help shows them.
  flags: {
    'election-timeout': Flags.string({
      description: 'raft: randomized election timeout range',
      helpValue: 'MIN-MAX',
      defaultHelp: async () => `${election_timeout_ms_min}-${formatDurationMs(election_timeout_ms_max)}`,
    }),
    heartbeat: Flags.string({ description: 'raft: leader heartbeat interval', helpValue: 'DURATION', defaultHelp: async () => formatDurationMs(heartbeat_interval_ms) }),
    'snapshot-every': Flags.integer({ min: 0, description: 'raft: take a snapshot every N applied entries (0: never)', defaultHelp: async () => String(snapshot_every_default) }),
    read: Flags.string({
      options: ['index', 'lease', 'serializable'],
      defaultHelp: async () => 'index',
      description: 'raft: index = linearizable ReadIndex reads; lease = leader-lease reads (linearizable if clocks run at similar rates); serializable = local, possibly stale reads',
    }),
  },
  optionsFromFlags(flags) {
    const options: Record<string, unknown> = {};
    const timeout = flags['election-timeout'];
    if (typeof timeout === 'string' && timeout) {
      const range = parseDurationRangeMs(timeout, '--election-timeout');
      options.election_timeout_ms_min = range.min_ms;
      options.election_timeout_ms_max = range.max_ms;
    }
    if (typeof flags.heartbeat === 'string' && flags.heartbeat) options.heartbeat_interval_ms = parseDurationMs(flags.heartbeat, '--heartbeat');
    if (flags['snapshot-every'] !== undefined) options.snapshot_every = flags['snapshot-every'];
    if (typeof flags.read === 'string' && flags.read) options.read = flags.read;
    return options;
  },
  options: raft_options,
  roles: raft_roles,
  columns: [
    { key: 'commit', title: 'COMMIT', fields: ['commit_index'], width: 11, drop_rank: 6, lag_behind_leader: true },
    { key: 'applied', title: 'APPLIED', fields: ['last_applied'], width: 7, drop_rank: 1 },
    { key: 'log', title: 'LOG', fields: ['log_last_index'], width: 7, drop_rank: 3 },
  ],
  workloads: ['lin-kv'],
  steps: raft_steps,
  sim: {
    // Loaded on use, so commands that never simulate do not load the simulator.
    async run(seed) {
      const { randomSimConfig, runSimulation } = await import('./sim.js');
      const result = runSimulation(randomSimConfig(seed));
      return { seed, stats: { ...result.stats } };
    },
  },
};
