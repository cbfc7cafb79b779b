// The snowflake system's entry in the registry (src/registry.ts): its `up` flags, options schema, node
// groups, roles, dashboard columns and grader steps. Declarations only: importing it does no I/O.

import { Flags } from '@oclif/core';
import { z } from 'zod';
import type { SystemPlugin } from '../../lib/plugin.js';
import type { RoleVocabulary } from '../../lib/roles.js';
import { UserError } from '../../lib/util/errors.js';
import { formatDurationMs, parseDurationMs } from '../../lib/util/units.js';
import { zab, zab_client_port, zab_roles } from '../zab/plugin.js';
import { max_backward_ms_default, max_backward_ms_limit } from './core/generator.js';
import { parseEpoch } from './core/ids.js';
import { checkLayout, default_layout, formatLayout, parseLayout, type Layout } from './core/layout.js';
import { session_timeout_ms_default } from './options.js';
import { snowflake_steps } from './steps.js';

/** The workers' own words: serving, waiting out a step back, refusing. The coordinator group brings Zab's (its `roles`). */
export const snowflake_roles: RoleVocabulary = { leading: [], electing: [], probing: [], following: [], other: ['serving', 'waiting', 'refusing'], term_fields: [], write_requests: [] };

/** A session timeout outside this would expire on an ordinary ping's delay, or keep a dead worker's number for minutes. */
export const session_timeout_ms_min = 500;
export const session_timeout_ms_max = 60_000;

const layout_schema = z.strictObject({
  time_bits: z.number().int(),
  datacenter_bits: z.number().int(),
  worker_bits: z.number().int(),
  sequence_bits: z.number().int(),
  unit_ms: z.number().int(),
});

/** The options a worker reads from DSLAB_OPTIONS (options.ts), from `up`'s flags or a lab spec. */
export const snowflake_options = z
  .strictObject({
    layout: layout_schema.optional(),
    epoch_ms: z.number().int().min(0).optional(),
    datacenters: z.number().int().min(1).optional(),
    max_backward_ms: z.number().int().min(0).max(max_backward_ms_limit).optional(),
    worker_numbers: z.enum(['coordinator', 'static']).optional(),
    session_timeout_ms: z.number().int().min(session_timeout_ms_min).max(session_timeout_ms_max).optional(),
  })
  .superRefine((options, context) => {
    let layout: Layout = default_layout;
    if (options.layout) {
      try {
        layout = checkLayout(options.layout);
      } catch (error) {
        context.addIssue({ code: 'custom', path: ['layout'], message: (error as Error).message });
        return;
      }
    }
    const datacenters = options.datacenters ?? 1;
    if (datacenters > 2 ** layout.datacenter_bits) {
      context.addIssue({ code: 'custom', path: ['datacenters'], message: `--datacenters ${datacenters} does not fit layout ${formatLayout(layout)}: ${layout.datacenter_bits} datacenter bits hold ${2 ** layout.datacenter_bits}` });
    }
    if (options.epoch_ms !== undefined && options.epoch_ms > Date.now()) context.addIssue({ code: 'custom', path: ['epoch_ms'], message: '--epoch is in the future: ids count time from the epoch' });
  });

function flagError(error: unknown, flag: string): never {
  throw new UserError(`${flag}: ${(error as Error).message}`);
}

export const snowflake: SystemPlugin = {
  name: 'snowflake',
  description: 'snowflake id workers (64-bit time-ordered ids) beside a Zab coordinator that hands out their worker numbers',
  groups: [
    { name: 'coordinator', prefix: 'z', program: new URL('../zab/main.js', import.meta.url), count_flag: 'coordinator', roles: zab_roles, zk_client_port: zab_client_port },
    { name: 'workers', prefix: 'w', program: new URL('./main.js', import.meta.url), count_flag: 'workers' },
  ],
  // `up snowflake --bin` runs your worker beside dslab's coordinator.
  bin_group: 'workers',
  starter_imports: { __DSLAB_ZKCLIENT__: new URL('../../lib/zk/client.js', import.meta.url) },
  flags: {
    workers: Flags.integer({ min: 1, default: 3, description: 'snowflake: how many id workers (w1..wN)' }),
    coordinator: Flags.integer({ min: 1, default: 3, description: 'snowflake: how many coordinator servers (z1..zN, the Zab system)' }),
    datacenters: Flags.integer({ min: 1, description: 'snowflake: workers are spread over this many datacenters by position (w1 in 0, w2 in 1, …)', defaultHelp: async () => '1' }),
    epoch: Flags.string({ description: 'snowflake: the custom epoch ids count time from (a UTC date or time, or ms since 1970)', helpValue: 'DATE', defaultHelp: async () => '2018-08-01' }),
    layout: Flags.string({ description: 'snowflake: bits of TIME,DATACENTER,WORKER,SEQUENCE (63 in all; a fifth field sets the time unit, like 10ms), or a preset: twitter, sonyflake', helpValue: 'BITS', defaultHelp: async () => formatLayout(default_layout) }),
    'max-backward': Flags.string({ description: 'snowflake: a clock step back up to this is waited out; a larger one is refused', helpValue: 'DURATION', defaultHelp: async () => formatDurationMs(max_backward_ms_default) }),
    'worker-numbers': Flags.string({ options: ['coordinator', 'static'], description: 'snowflake: where workers get their numbers: the coordinator (lowest free, held by a session) or their position (no coordinator needed)', defaultHelp: async () => 'coordinator' }),
    'session-timeout': Flags.string({ description: "snowflake: the coordinator session timeout a worker asks for; it stops serving at two thirds of it without a reply", helpValue: 'DURATION', defaultHelp: async () => formatDurationMs(session_timeout_ms_default) }),
  },
  optionsFromFlags(flags) {
    const options: Record<string, unknown> = {};
    if (flags.datacenters !== undefined) options.datacenters = flags.datacenters;
    if (typeof flags.epoch === 'string') {
      try {
        options.epoch_ms = parseEpoch(flags.epoch, Date.now());
      } catch (error) {
        flagError(error, '--epoch');
      }
    }
    if (typeof flags.layout === 'string') {
      try {
        options.layout = parseLayout(flags.layout);
      } catch (error) {
        flagError(error, '--layout');
      }
    }
    if (typeof flags['max-backward'] === 'string') options.max_backward_ms = parseDurationMs(flags['max-backward'], '--max-backward', { range: { min: 0, max: max_backward_ms_limit } });
    if (typeof flags['worker-numbers'] === 'string') options.worker_numbers = flags['worker-numbers'];
    if (typeof flags['session-timeout'] === 'string') options.session_timeout_ms = parseDurationMs(flags['session-timeout'], '--session-timeout', { range: { min: session_timeout_ms_min, max: session_timeout_ms_max } });
    return options;
  },
  options: snowflake_options,
  roles: snowflake_roles,
  columns: [
    ...zab.columns,
    { key: 'datacenter', title: 'DC', fields: ['datacenter'], width: 3, drop_rank: 3 },
    { key: 'worker', title: 'WORKER', fields: ['worker'], width: 6, drop_rank: 6 },
    { key: 'session', title: 'SESSION', fields: ['session'], width: 12, drop_rank: 2 },
    { key: 'latest', title: 'LATEST', fields: ['latest'], width: 12, drop_rank: 1 },
    { key: 'sequence', title: 'SEQ', fields: ['sequence'], width: 4, drop_rank: 1 },
    { key: 'ids_per_s', title: 'IDS/s', fields: ['ids_per_s'], width: 8, drop_rank: 3 },
    { key: 'clock_offset', title: 'OFFSET', fields: ['clock_offset_ms'], width: 7, drop_rank: 2 },
  ],
  // Workers answer generate (unique-ids' and the ids loads'); the coordinator answers `dslab zk` (to look at the workers' znodes).
  workloads: ['unique-ids', 'ids', 'zk'],
  workload_groups: { 'unique-ids': 'workers', ids: 'workers', zk: 'coordinator' },
  steps: snowflake_steps,
};
