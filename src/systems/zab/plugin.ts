// The zab system's entry in the registry (src/registry.ts): its `up` flags, options schema, node
// groups, roles, dashboard columns and grader steps. Declarations only: importing it does no I/O.

import { Flags } from '@oclif/core';
import { z } from 'zod';
import type { SystemPlugin, ZkClientPortSpec } from '../../lib/plugin.js';
import type { RoleVocabulary } from '../../lib/roles.js';
import { formatDurationMs, parseDurationMs, parseDurationRangeMs } from '../../lib/util/units.js';
import {
  finalize_wait_ms_default,
  init_limit_ticks_default,
  notification_interval_ms_max_default,
  notification_interval_ms_min_default,
  sync_limit_ticks_default,
  tick_ms_default,
} from './options.js';
import { zab_steps } from './steps.js';
import { zk_steps } from './zk-steps.js';

/** Zab's words (what main.ts reports in `dslab_state`): ZooKeeper's four server states, and the epoch. */
export const zab_roles: RoleVocabulary = {
  leading: ['leading'],
  electing: ['looking'],
  probing: [],
  following: ['following'],
  other: ['observing'],
  term_fields: ['epoch'],
  // Every server answers writes (it forwards them), so a write's answer says nothing of who leads.
  write_requests: [],
  // Ours reports leading only once established (a leader-elect reports looking); a lab's server may
  // report leading from its election on, with the epoch it last followed, and counts only once established.
  established_field: 'established',
};

/** Every Zab server takes ZooKeeper clients on a port of its own (`dslab up`), ticking as its options say. */
export const zab_client_port: ZkClientPortSpec = {
  tickMs: (options) => (typeof options.tick_ms === 'number' ? options.tick_ms : tick_ms_default),
};

/** Ticks in a limit: ZooKeeper's initLimit and syncLimit are counts of ticks. */
const ticks = z.number().int().min(1);

/**
 * The options a zab server reads from DSLAB_OPTIONS (options.ts), from `up`'s
 * flags or a lab spec. observers is a count (the last N node ids) or the ids
 * themselves, until node groups give observers a group of their own.
 */
export const zab_options = z
  .strictObject({
    tick_ms: z.number().positive().optional(),
    sync_limit_ticks: ticks.optional(),
    init_limit_ticks: ticks.optional(),
    finalize_wait_ms: z.number().min(0).optional(),
    notification_interval_ms_min: z.number().positive().optional(),
    notification_interval_ms_max: z.number().positive().optional(),
    observers: z.union([z.number().int().min(0), z.array(z.string().min(1))]).optional(),
    /** Delivered txns between snapshots (0: never); no flag, as raft's --snapshot-every owns the name. */
    snapshot_every: z.number().int().min(0).optional(),
    report_apply: z.boolean().optional(),
  })
  .superRefine((options, context) => {
    const { notification_interval_ms_min: min, notification_interval_ms_max: max } = options;
    if ((min === undefined) !== (max === undefined) || (min !== undefined && max !== undefined && max < min)) {
      context.addIssue({ code: 'custom', path: ['notification_interval_ms_min'], message: 'the notification interval needs both bounds, the lower one not above the upper one' });
    }
    if (Array.isArray(options.observers) && new Set(options.observers).size !== options.observers.length) {
      context.addIssue({ code: 'custom', path: ['observers'], message: 'observers: each node id at most once' });
    }
  });

export const zab: SystemPlugin = {
  name: 'zab',
  description: 'a ZooKeeper-style coordinator: a Zab ensemble (election, discovery, sync, broadcast) serving znodes, sessions and watches',
  groups: [{ name: 'nodes', prefix: 'n', program: new URL('./main.js', import.meta.url), count_flag: 'nodes', zk_client_port: zab_client_port }],
  // The defaults live in the node, which applies them when a flag is absent; help shows them.
  flags: {
    observers: Flags.integer({ min: 0, description: 'zab: how many of the servers are observers (the last N node ids): they learn every commit but neither vote nor lead', defaultHelp: async () => '0' }),
    tick: Flags.string({ description: "zab: ZooKeeper's tickTime; the leader pings every half tick", helpValue: 'DURATION', defaultHelp: async () => formatDurationMs(tick_ms_default) }),
    'sync-limit': Flags.integer({ min: 1, description: 'zab: ticks a follower (or the leader, of its quorum) may go unheard in broadcast before it looks for a new leader', defaultHelp: async () => String(sync_limit_ticks_default) }),
    'init-limit': Flags.integer({ min: 1, description: 'zab: ticks discovery and synchronization may take before the server looks again', defaultHelp: async () => String(init_limit_ticks_default) }),
    'finalize-wait': Flags.string({ description: 'zab: once a quorum agrees on a vote, how long to wait for a better one before deciding', helpValue: 'DURATION', defaultHelp: async () => formatDurationMs(finalize_wait_ms_default) }),
    'notification-interval': Flags.string({
      description: 'zab: a looking server resends its vote from every MIN, doubling up to every MAX',
      helpValue: 'MIN-MAX',
      defaultHelp: async () => `${notification_interval_ms_min_default}-${formatDurationMs(notification_interval_ms_max_default)}`,
    }),
  },
  optionsFromFlags(flags) {
    const options: Record<string, unknown> = {};
    if (flags.observers !== undefined) options.observers = flags.observers;
    if (typeof flags.tick === 'string' && flags.tick) options.tick_ms = parseDurationMs(flags.tick, '--tick');
    if (flags['sync-limit'] !== undefined) options.sync_limit_ticks = flags['sync-limit'];
    if (flags['init-limit'] !== undefined) options.init_limit_ticks = flags['init-limit'];
    if (typeof flags['finalize-wait'] === 'string' && flags['finalize-wait']) options.finalize_wait_ms = parseDurationMs(flags['finalize-wait'], '--finalize-wait');
    const interval = flags['notification-interval'];
    if (typeof interval === 'string' && interval) {
      const range = parseDurationRangeMs(interval, '--notification-interval');
      options.notification_interval_ms_min = range.min_ms;
      options.notification_interval_ms_max = range.max_ms;
    }
    return options;
  },
  options: zab_options,
  roles: zab_roles,
  columns: [
    { key: 'accepted_epoch', title: 'ACCEPT', fields: ['accepted_epoch'], width: 6, drop_rank: 1 },
    { key: 'last_zxid', title: 'ZXID', fields: ['last_zxid'], width: 10, drop_rank: 6 },
    { key: 'committed_zxid', title: 'COMMITTED', fields: ['committed_zxid'], width: 10, drop_rank: 3 },
    { key: 'sync_mode', title: 'SYNC', fields: ['sync_mode'], width: 5, drop_rank: 1 },
    // The ZooKeeper side: open sessions and znodes in this server's tree (zk-server.ts).
    { key: 'sessions', title: 'SESS', fields: ['sessions'], width: 5, drop_rank: 2 },
    { key: 'znodes', title: 'ZNODES', fields: ['znodes'], width: 6, drop_rank: 1 },
  ],
  workloads: ['zk'],
  steps: [...zab_steps, ...zk_steps],
  sim: {
    // Loaded on use, so commands that never simulate do not load the simulator.
    async run(seed) {
      const { randomZabSimConfig, runZabSimulation } = await import('./sim.js');
      const result = runZabSimulation(randomZabSimConfig(seed));
      return { seed, stats: { ...result.stats } };
    },
  },
};
