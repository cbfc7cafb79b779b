// The locks system's entry in the registry (src/registry.ts): its `up` flags, options schema, node
// groups, roles, dashboard columns and grader steps. Declarations only: importing it does no I/O.

import { existsSync } from 'node:fs';
import { Flags } from '@oclif/core';
import { z } from 'zod';
import type { NodeGroup, SystemPlugin } from '../../lib/plugin.js';
import { UserError } from '../../lib/util/errors.js';
import { splitShellWords } from '../../lib/util/shell-words.js';
import { formatDurationMs, parseDurationMs } from '../../lib/util/units.js';
import { zab_client_port, zab_roles } from '../zab/plugin.js';
import { capturesGroup, command_words_max, holds_line_default, kazooMissing, patternProblem, releases_line_default } from './recipes/command.js';
import {
  backend_default,
  command_recipes,
  contenders_default,
  counter_places,
  etcd_ttl_ms_min,
  hold_ms_default,
  hold_ms_max,
  lock_backends,
  lock_recipes,
  recipe_backend,
  resolveLockOptions,
  ttl_ms_default,
  ttl_ms_max,
} from './options.js';

/**
 * What a locks node reads from DSLAB_OPTIONS (options.ts). The names carry a
 * lock_ prefix: every system's options travel in one object, and "ttl" or
 * "counter" would mean something else to another system.
 */
export const lock_options = z
  .strictObject({
    lock_backend: z.enum(lock_backends).optional(),
    lock_recipe: z.enum(lock_recipes).optional(),
    lock_counter: z.enum(counter_places).optional(),
    lock_fencing: z.boolean().optional(),
    lock_ttl_ms: z.number().int().positive().max(ttl_ms_max).optional(),
    lock_hold_ms: z.number().int().min(0).max(hold_ms_max).optional(),
    lock_command: z.array(z.string()).min(1).max(command_words_max).optional(),
    lock_holds_line: z.string().optional(),
    lock_releases_line: z.string().optional(),
  })
  .superRefine((options, context) => {
    const resolved = resolveLockOptions(options);
    for (const [key, flag] of [['lock_holds_line', '--holds-line'], ['lock_releases_line', '--releases-line']] as const) {
      const problem = options[key] === undefined ? null : patternProblem(options[key]);
      if (problem) context.addIssue({ code: 'custom', path: [key], message: `${flag} is not a regular expression: ${problem}` });
    }
    if (options.lock_command === undefined && (options.lock_holds_line !== undefined || options.lock_releases_line !== undefined)) {
      context.addIssue({ code: 'custom', path: ['lock_command'], message: '--holds-line and --releases-line read the lines of a --contender-cmd: give one' });
    }
    if (options.lock_command !== undefined && options.lock_recipe !== undefined) {
      context.addIssue({ code: 'custom', path: ['lock_recipe'], message: '--recipe and --contender-cmd both say how the contenders lock: give one' });
    }
    const runs_command = resolved.recipe === 'command' || command_recipes.includes(resolved.recipe);
    if (runs_command && resolved.counter === 'backend') {
      context.addIssue({ code: 'custom', path: ['lock_counter'], message: `--counter backend needs one of dslab's own recipes: a contender command (${resolved.recipe}) keeps no counter, so the counter is the resource's` });
    }
    // A section with no token cannot pass a fence: say so now rather than as every write refused.
    const holds = resolved.command?.holds_line;
    if (resolved.fencing && holds !== undefined && patternProblem(holds) === null && !capturesGroup(holds)) {
      context.addIssue({ code: 'custom', path: ['lock_fencing'], message: `--fencing needs a token from every section, and the holds line ${JSON.stringify(holds)} captures none: give --holds-line a group that captures it, like "^held (\\d+)"` });
    }
    if (options.lock_recipe !== undefined && options.lock_command === undefined && options.lock_backend !== undefined && recipe_backend[options.lock_recipe] !== options.lock_backend) {
      context.addIssue({ code: 'custom', path: ['lock_recipe'], message: `--recipe ${options.lock_recipe} is a ${recipe_backend[options.lock_recipe]} recipe, not one for --backend ${options.lock_backend}` });
    }
    if (resolved.backend === 'etcd' && resolved.ttl_ms < etcd_ttl_ms_min) {
      context.addIssue({ code: 'custom', path: ['lock_ttl_ms'], message: `--ttl must be at least ${formatDurationMs(etcd_ttl_ms_min)} with etcd, whose leases are whole seconds no shorter than its minimum` });
    }
  });

const contenders: NodeGroup = { name: 'contenders', prefix: 'k', program: new URL('./contender.js', import.meta.url), count_flag: 'contenders' };
const resource: NodeGroup = { name: 'resource', prefix: 'r', program: new URL('./resource.js', import.meta.url), count: 1 };
const redis: NodeGroup = { name: 'redis', prefix: 'redis', server: 'redis', count: 1 };
const etcd: NodeGroup = { name: 'etcd', prefix: 'etcd', server: 'etcd', count: 1 };
/** The Zab ensemble as the ZooKeeper backend: dslab's own coordinator, --nodes servers, speaking Zab's roles (so `kill leader` finds its leader). */
const coordinator: NodeGroup = { name: 'coordinator', prefix: 'z', program: new URL('../zab/main.js', import.meta.url), count_flag: 'nodes', roles: zab_roles, zk_client_port: zab_client_port };

export const locks: SystemPlugin = {
  name: 'locks',
  description: 'lock contenders racing over a shared counter through a Redis, etcd or ZooKeeper (Zab) lock, with a resource that can fence',
  groups: [redis, etcd, coordinator, resource, contenders],
  groupsFor(options) {
    const backend = resolveLockOptions(options).backend;
    return [backend === 'redis' ? redis : backend === 'etcd' ? etcd : coordinator, resource, contenders];
  },
  // Flag defaults live in options.ts (shown in help): a default here would reach every other system's nodes too.
  flags: {
    contenders: Flags.integer({ min: 1, default: contenders_default, description: 'locks: how many contenders (k1..kN)' }),
    backend: Flags.string({ options: [...lock_backends], description: 'locks: the lock service: a real redis-server, a real etcd, or dslab\'s Zab coordinator (zk, --nodes servers)', defaultHelp: async () => backend_default }),
    recipe: Flags.string({ options: [...lock_recipes], description: 'locks: the lock recipe (default: the backend\'s safe one); redis-naive and etcd-no-recheck show why they fail; kazoo runs kazoo\'s Lock in a real ZooKeeper client' }),
    'contender-cmd': Flags.string({ description: 'locks: each contender runs this command every round (no shell) and does its section while the command says it holds the lock (docs/locks.md)', helpValue: 'CMD' }),
    'holds-line': Flags.string({ description: 'locks: a line of --contender-cmd that says it holds the lock; its first group, if any, is the fencing token', helpValue: 'REGEX', defaultHelp: async () => holds_line_default }),
    'releases-line': Flags.string({ description: 'locks: a line of --contender-cmd that says it let go (exiting says so too)', helpValue: 'REGEX', defaultHelp: async () => releases_line_default }),
    counter: Flags.string({ options: [...counter_places], description: 'locks: where the shared counter lives: the resource node r1, or the backend itself', defaultHelp: async () => 'resource' }),
    fencing: Flags.boolean({ description: 'locks: the resource accepts a write only with a token greater than every one it accepted' }),
    ttl: Flags.string({ description: 'locks: the lock\'s time to live (Redis PX, etcd lease, ZooKeeper session timeout)', helpValue: 'DURATION', defaultHelp: async () => formatDurationMs(ttl_ms_default) }),
    hold: Flags.string({ description: 'locks: how long a contender works between reading the counter and writing it back', helpValue: 'DURATION', defaultHelp: async () => formatDurationMs(hold_ms_default) }),
  },
  optionsFromFlags(flags) {
    const options: Record<string, unknown> = {};
    if (typeof flags.backend === 'string') options.lock_backend = flags.backend;
    if (typeof flags.recipe === 'string') options.lock_recipe = flags.recipe;
    const kazoo_missing = flags.recipe === 'kazoo' ? kazooMissing() : null;
    if (kazoo_missing) throw new UserError(kazoo_missing);
    if (typeof flags['contender-cmd'] === 'string') {
      const argv = splitShellWords(flags['contender-cmd'], '--contender-cmd');
      if (argv.length === 0) throw new UserError('--contender-cmd is empty: give the command each contender runs every round, like "./zookeeper-lock"');
      if (argv.length > command_words_max) throw new UserError(`--contender-cmd has ${argv.length} words; at most ${command_words_max}`);
      // A path is looked up now, where the contenders will run it (here, where `up` runs); a bare name is looked up in PATH at each round.
      if (argv[0]!.includes('/') && !existsSync(argv[0]!)) throw new UserError(`--contender-cmd: ${argv[0]} does not exist (the contenders run it from ${process.cwd()})`);
      options.lock_command = argv;
    }
    if (typeof flags['holds-line'] === 'string') options.lock_holds_line = flags['holds-line'];
    if (typeof flags['releases-line'] === 'string') options.lock_releases_line = flags['releases-line'];
    if (typeof flags.counter === 'string') options.lock_counter = flags.counter;
    if (flags.fencing === true) options.lock_fencing = true;
    if (typeof flags.ttl === 'string' && flags.ttl) options.lock_ttl_ms = parseDurationMs(flags.ttl, '--ttl');
    if (typeof flags.hold === 'string' && flags.hold) options.lock_hold_ms = parseDurationMs(flags.hold, '--hold');
    return options;
  },
  options: lock_options,
  // Contenders and the resource lead nothing; with --backend zk the coordinator group brings Zab's roles (its leader leads), a Redis or etcd backend none.
  roles: { leading: [], electing: [], probing: [], following: [], other: ['contender', 'resource'], term_fields: [], write_requests: [] },
  columns: [
    { key: 'lock_state', title: 'LOCK', fields: ['lock_state'], width: 9, drop_rank: 7 },
    { key: 'token', title: 'TOKEN', fields: ['token', 'max_token'], width: 7, drop_rank: 6 },
    { key: 'acked', title: 'ACKED', fields: ['acked', 'accepted'], width: 6, drop_rank: 3 },
    { key: 'rejected', title: 'REJECT', fields: ['rejected'], width: 6, drop_rank: 3 },
    // Releases that found the lock already gone: a contender that held it past its TTL, lease or session.
    { key: 'lock_lost', title: 'LOST-LOCK', fields: ['lock_lost'], width: 9, drop_rank: 3 },
    { key: 'counter', title: 'COUNTER', fields: ['counter'], width: 8, drop_rank: 1 },
  ],
  workloads: ['locks'],
};
