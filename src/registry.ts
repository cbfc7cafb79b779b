/**
 * The one list of systems and workloads. Commands and the supervisor's entry
 * point import it; src/lib never does (a test checks), so a new system is a
 * folder under src/systems and one line here.
 *
 * DSLAB_EXTRA_SYSTEMS (a test and development hook, not a user setting) names
 * more plugin modules, separated like PATH; each exports its SystemPlugin as
 * `default`. The tests start a fixture system this way with a real `dslab up`.
 */
import { delimiter, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Interfaces } from '@oclif/core';
import { checkGroups } from './lib/cluster/groups.js';
import type { LabPlugins } from './lib/grade/spec.js';
import { stepVocabulary } from './lib/grade/steps.js';
import { serverKindOf } from './lib/proxy/server-kinds.js';
import { checkOptions, type SystemPlugin, type SystemView, systemView, type WorkloadPlugin } from './lib/plugin.js';
import { errorMessage, UserError } from './lib/util/errors.js';
import { createWireConnection } from './lib/zk-wire/connection.js';
import type { WireConnectionFactory } from './lib/zk-wire/host.js';
import { breaker } from './systems/breaker/plugin.js';
import { broadcast } from './systems/broadcast/plugin.js';
import { echo } from './systems/echo/plugin.js';
import { g_counter } from './systems/g-counter/plugin.js';
import { g_set } from './systems/g-set/plugin.js';
import { kafka } from './systems/kafka/plugin.js';
import { locks } from './systems/locks/plugin.js';
import { pn_counter } from './systems/pn-counter/plugin.js';
import { raft } from './systems/raft/plugin.js';
import { snowflake } from './systems/snowflake/plugin.js';
import { txn } from './systems/txn/plugin.js';
import { unique_ids } from './systems/unique-ids/plugin.js';
import { zab } from './systems/zab/plugin.js';
import { breaker_workload } from './workloads/breaker/plugin.js';
import { broadcast_workload } from './workloads/broadcast/plugin.js';
import { echo_workload } from './workloads/echo/plugin.js';
import { g_counter_workload } from './workloads/g-counter/plugin.js';
import { g_set_workload } from './workloads/g-set/plugin.js';
import { kafka_workload } from './workloads/kafka/plugin.js';
import { lin_kv } from './workloads/lin-kv/plugin.js';
import { ids_workload } from './workloads/ids/plugin.js';
import { locks_workload } from './workloads/locks/plugin.js';
import { pn_counter_workload } from './workloads/pn-counter/plugin.js';
import { unique_ids_workload } from './workloads/unique-ids/plugin.js';
import { maelstrom_steps } from './maelstrom/run/lab-step.js';
import { txn_list_append_workload, txn_rw_register_workload } from './workloads/txn/check-file.js';
import { zk_workload } from './workloads/zk/plugin.js';

const builtin_systems: readonly SystemPlugin[] = [echo, unique_ids, raft, zab, snowflake, locks, broadcast, g_set, g_counter, pn_counter, kafka, txn, breaker];

export const workloads: readonly WorkloadPlugin[] = [lin_kv, echo_workload, unique_ids_workload, zk_workload, locks_workload, ids_workload, broadcast_workload, g_set_workload, g_counter_workload, pn_counter_workload, kafka_workload, txn_list_append_workload, txn_rw_register_workload, breaker_workload];

/** The module a detached supervisor runs: the library's supervisor with these workloads. */
export const supervisor_entry = new URL('./supervisor-main.js', import.meta.url);

/**
 * The environment variable that names a module whose default export serves ZooKeeper wire
 * connections in place of dslab's own (tests and development only).
 */
export const zk_wire_env = 'DSLAB_ZK_WIRE';

/** What serves each ZooKeeper client connection on the Zab servers' ports (SupervisorPlugins.zk_wire). */
export async function zkWire(): Promise<WireConnectionFactory | undefined> {
  const file = process.env[zk_wire_env];
  if (file) {
    const module = (await import(pathToFileURL(resolve(file)).href)) as { default?: unknown };
    if (typeof module.default !== 'function') throw new Error(`${zk_wire_env}: ${file} exports no default function`);
    return module.default as WireConnectionFactory;
  }
  return createWireConnection;
}

/** The environment variable that adds plugin modules (tests and development only). */
export const extra_systems_env = 'DSLAB_EXTRA_SYSTEMS';

async function loadExtraSystems(list: string | undefined): Promise<SystemPlugin[]> {
  if (!list) return [];
  const plugins: SystemPlugin[] = [];
  for (const file of list.split(delimiter).filter(Boolean)) {
    const module = (await import(pathToFileURL(resolve(file)).href)) as { default?: SystemPlugin };
    if (!module.default) throw new Error(`${extra_systems_env}: ${file} exports no default system plugin`);
    plugins.push(module.default);
  }
  return plugins;
}

/**
 * Plugins must agree with each other: one name each, flags no two systems
 * share, workloads that exist, and node groups a cluster can run (distinct
 * names and prefixes, each counted by --nodes or by an integer flag of the
 * system's own, not shared by two groups).
 */
export function checkPlugins(systems: readonly SystemPlugin[], known_workloads: readonly WorkloadPlugin[]): void {
  const flagOwner = new Map<string, string>();
  for (const [index, plugin] of systems.entries()) {
    if (systems.findIndex((s) => s.name === plugin.name) !== index) throw new Error(`two systems are named ${plugin.name}`);
    checkPluginGroups(plugin);
    for (const flag of Object.keys(plugin.flags)) {
      const owner = flagOwner.get(flag);
      if (owner) throw new Error(`systems ${owner} and ${plugin.name} both declare --${flag}`);
      flagOwner.set(flag, plugin.name);
    }
    const unknown = plugin.workloads.find((w) => !known_workloads.some((k) => k.name === w));
    if (unknown) throw new Error(`system ${plugin.name} speaks workload ${unknown}, which is not registered`);
    // A lab of this system may use its steps and its workloads' steps together: their names must not clash.
    const spoken = known_workloads.filter((w) => plugin.workloads.includes(w.name));
    stepVocabulary([{ owner: `system ${plugin.name}`, steps: plugin.steps }, ...spoken.map((w) => ({ owner: `workload ${w.name}`, steps: w.steps }))]);
  }
}

function checkPluginGroups(plugin: SystemPlugin): void {
  try {
    // Counts are the users' to choose; one node each checks names and prefixes.
    checkGroups(plugin.groups.map((g) => (g.server !== undefined ? { name: g.name, prefix: g.prefix, count: 1, command: [], server: { kind: g.server } } : { name: g.name, prefix: g.prefix, count: 1, command: ['node'] })));
    for (const group of plugin.groups) if (group.server !== undefined) serverKindOf({ kind: group.server });
  } catch (error) {
    throw new Error(`system ${plugin.name}: ${errorMessage(error)}`);
  }
  if (plugin.bin_group !== undefined && !plugin.groups.some((g) => g.name === plugin.bin_group && g.program !== undefined)) throw new Error(`system ${plugin.name}: bin_group ${plugin.bin_group} is not one of its program groups`);
  for (const [workload, group] of Object.entries(plugin.workload_groups ?? {})) {
    if (!plugin.workloads.includes(workload)) throw new Error(`system ${plugin.name}: workload_groups names ${workload}, which the system does not speak`);
    if (!plugin.groups.some((g) => g.name === group && g.server === undefined)) throw new Error(`system ${plugin.name}: workload ${workload} is answered by group ${group}, which is not one of its program groups`);
  }
  for (const [index, group] of plugin.groups.entries()) {
    const flag = group.count_flag;
    if ((flag === undefined) === (group.count === undefined)) throw new Error(`system ${plugin.name}: group ${group.name} needs either a count flag or a fixed count`);
    if (flag === undefined) continue;
    if (flag !== 'nodes' && plugin.flags[flag]?.type !== 'option') throw new Error(`system ${plugin.name}: group ${group.name} is counted by --${flag}, which the system does not declare`);
    if (plugin.groups.findIndex((g) => g.count_flag === flag) !== index) throw new Error(`system ${plugin.name}: two groups are counted by --${flag}`);
  }
}

/** The `up` flags that count a group's nodes, other than --nodes: they say how many nodes, not how nodes behave. */
function countFlags(plugin: SystemPlugin): Set<string> {
  return new Set(plugin.groups.map((g) => g.count_flag).filter((flag): flag is string => flag !== undefined && flag !== 'nodes'));
}

/** How many nodes each of a system's groups counted by its own flags has, from `up`'s flags (by flag name). */
export function groupCounts(plugin: SystemPlugin, flags: Readonly<Record<string, unknown>>): Record<string, number | undefined> {
  return Object.fromEntries([...countFlags(plugin)].map((flag) => [flag, flags[flag] as number | undefined]));
}

export const systems: readonly SystemPlugin[] = [...builtin_systems, ...(await loadExtraSystems(process.env[extra_systems_env]))];
checkPlugins(systems, workloads);

/** What a lab's steps may come from: every system and workload (see loadLab). */
export const lab_plugins: LabPlugins = { systems, workloads, steps: maelstrom_steps };

export function findSystem(name: string): SystemPlugin | undefined {
  return systems.find((s) => s.name === name);
}

export function requireSystem(name: string): SystemPlugin {
  const plugin = findSystem(name);
  if (!plugin) throw new UserError(`unknown system "${name}" (built in: ${systems.map((s) => s.name).join(', ')}; or pass --bin CMD to run your own node)`);
  return plugin;
}

/**
 * The options `up`'s system flags ask for. Each flag is turned into options by
 * the system that declares it and checked by that system's schema, whatever
 * system is started (a --bin node of any label gets them in DSLAB_OPTIONS).
 */
export function optionsFromFlags(flags: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const plugin of systems) {
    const counts = countFlags(plugin);
    const own = Object.fromEntries(Object.entries(flags).filter(([flag, value]) => flag in plugin.flags && !counts.has(flag) && value !== undefined));
    if (Object.keys(own).length === 0) continue;
    Object.assign(options, checkOptions(plugin, plugin.optionsFromFlags(own), undefined, optionFlagNames(plugin, own)));
  }
  return options;
}

/**
 * Which flag each option came from (lock_ttl_ms → --ttl), found by turning
 * each flag into options on its own, so that a schema's complaint names what
 * the user typed. A flag whose value alone does not convert is left out (its
 * own parse error already names it).
 */
function optionFlagNames(plugin: SystemPlugin, flags: Readonly<Record<string, unknown>>): Record<string, string> {
  const names: Record<string, string> = {};
  for (const [flag, value] of Object.entries(flags)) {
    try {
      for (const option of Object.keys(plugin.optionsFromFlags({ [flag]: value }))) names[option] ??= `--${flag}`;
    } catch {
      // reported by the call with every flag
    }
  }
  return names;
}

/** Every system's `up` flags, in one set (checkPlugins keeps their names apart). */
export function systemFlags(): Interfaces.FlagInput {
  return Object.assign({}, ...systems.map((s) => s.flags)) as Interfaces.FlagInput;
}

/**
 * What the supervisor, dashboard and grader assume about a node of no known
 * system (`up mine --bin …`): Raft's and Zab's role words, and the columns of
 * the state fields those report.
 */
export const custom_system_view: SystemView = {
  roles: {
    leading: ['leader', 'leading'],
    electing: ['candidate', 'pre_candidate', 'looking'],
    probing: ['pre_candidate'],
    following: ['follower', 'following'],
    other: ['observing'],
    term_fields: ['term', 'epoch'],
    write_requests: ['write', 'cas', 'delete'],
  },
  columns: [
    ...raft.columns,
    { key: 'zxid', title: 'ZXID', fields: ['zxid'], width: 10, drop_rank: 3 },
  ],
};

/** The view of the system a cluster label names, or the custom one for a label that names none. */
export function viewFor(label: string, options?: Readonly<Record<string, unknown>>): SystemView {
  const plugin = findSystem(label);
  return plugin ? systemView(plugin, options) : custom_system_view;
}
