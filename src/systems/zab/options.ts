// What a Zab server reads from DSLAB_OPTIONS (and its planted bugs), with the defaults. Parsing only:
// it reads the environment it is handed and touches nothing else.

import type { PlantedBug, ZabConfig } from './core/core.js';
import { host_planted_bugs, type HostPlantedBug } from './zk-server.js';

/**
 * ZooKeeper counts its timeouts in ticks (tickTime, initLimit, syncLimit);
 * so does `dslab up zab`. These defaults are ZooKeeper's limits (initLimit 10,
 * syncLimit 5) on a tick twenty times shorter than its 2s, so an election and
 * a failover take a second or two rather than a minute.
 */
export const tick_ms_default = 100;
export const sync_limit_ticks_default = 5;
export const init_limit_ticks_default = 10;
/** FLE's wait for a better vote once a quorum agrees (ZooKeeper's finalizeWait is 200ms). */
export const finalize_wait_ms_default = 100;
/** How often a looking server resends its vote: from the lower bound, doubling up to the upper. */
export const notification_interval_ms_min_default = 100;
export const notification_interval_ms_max_default = 800;
/** Txns delivered between snapshots when the user does not say. */
export const snapshot_every_default = 10_000;

export interface ZabNodeOptions {
  zab: Partial<ZabConfig>;
  /** ZooKeeper's tickTime: session timeouts are 2..20 of it. */
  tick_ms: number;
  /** Observer ids, or how many of the last node ids observe (what `--observers N` gives). */
  observers: readonly string[] | number;
  snapshot_every: number;
  report_apply: boolean;
}

/**
 * Options arrive as JSON in DSLAB_OPTIONS (set by `dslab up` from its flags,
 * checked there by the plugin's schema): tick_ms, sync_limit_ticks,
 * init_limit_ticks, finalize_wait_ms, notification_interval_ms_min/_max,
 * observers, snapshot_every, report_apply. Malformed fields fall back to the
 * defaults, so a node started by hand always starts.
 */
export function readZabOptions(env: NodeJS.ProcessEnv): ZabNodeOptions {
  let given: Record<string, unknown> = {};
  try {
    given = JSON.parse(env.DSLAB_OPTIONS ?? '{}') as Record<string, unknown>;
  } catch {
    given = {};
  }
  const positive = (value: unknown, fallback: number): number => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback);
  const ticks = (value: unknown, fallback: number): number => (Number.isSafeInteger(value) && (value as number) >= 1 ? (value as number) : fallback);
  const tick = positive(given.tick_ms, tick_ms_default);
  let notify_min = positive(given.notification_interval_ms_min, notification_interval_ms_min_default);
  let notify_max = positive(given.notification_interval_ms_max, notification_interval_ms_max_default);
  if (notify_max < notify_min) [notify_min, notify_max] = [notification_interval_ms_min_default, notification_interval_ms_max_default];
  const finalize = typeof given.finalize_wait_ms === 'number' && given.finalize_wait_ms >= 0 ? given.finalize_wait_ms : finalize_wait_ms_default;
  const zab: Partial<ZabConfig> = {
    // ZooKeeper's leader pings every half tick; a learner retries its handshake as often.
    ping_interval_ms: tick / 2,
    learner_retry_ms: tick / 2,
    sync_limit_ms: tick * ticks(given.sync_limit_ticks, sync_limit_ticks_default),
    init_limit_ms: tick * ticks(given.init_limit_ticks, init_limit_ticks_default),
    finalize_wait_ms: finalize,
    notification_interval_ms_min: notify_min,
    notification_interval_ms_max: notify_max,
  };
  const observers = given.observers;
  return {
    zab,
    tick_ms: tick,
    observers: Array.isArray(observers) ? observers.map(String) : Number.isSafeInteger(observers) && (observers as number) >= 0 ? (observers as number) : [],
    snapshot_every: Number.isSafeInteger(given.snapshot_every) && (given.snapshot_every as number) >= 0 ? (given.snapshot_every as number) : snapshot_every_default,
    report_apply: given.report_apply !== false,
  };
}

/**
 * Which node ids observe: the named ones, or the last N. Throws (with the
 * reason, for the node's one-line refusal) when that leaves no voter or names
 * a node that is not in the ensemble.
 */
export function resolveObservers(node_ids: readonly string[], observers: readonly string[] | number): Set<string> {
  const chosen = typeof observers === 'number' ? node_ids.slice(node_ids.length - Math.min(observers, node_ids.length)) : [...observers];
  const unknown = chosen.find((id) => !node_ids.includes(id));
  if (unknown !== undefined) throw new Error(`observer ${unknown} is not in the ensemble (${node_ids.join(', ')})`);
  const set = new Set(chosen);
  if (set.size >= node_ids.length) throw new Error(`all ${node_ids.length} servers would be observers; an ensemble needs at least one voter`);
  return set;
}

/** Bugs of the core a lab can plant (passed to its config.test_planted_bug). */
export const core_planted_bugs = ['id_before_zxid', 'one_epoch', 'trunc_only_past_log', 'ack_before_persist', 'propose_only_acked'] as const;

export interface PlantedBugs {
  core: PlantedBug | null;
  host: HostPlantedBug | null;
}

/**
 * DSLAB_ZAB_PLANTED_BUG, a test hook for lab variants (never a user option): one name, of the core's
 * bugs or the server's. Throws on a name it does not know, so a misspelt variant fails loudly
 * instead of testing the correct server.
 */
export function readPlantedBug(env: NodeJS.ProcessEnv): PlantedBugs {
  const name = env.DSLAB_ZAB_PLANTED_BUG?.trim() ?? '';
  if (name === '') return { core: null, host: null };
  if ((core_planted_bugs as readonly string[]).includes(name)) return { core: name as PlantedBug, host: null };
  if ((host_planted_bugs as readonly string[]).includes(name)) return { core: null, host: name as HostPlantedBug };
  throw new Error(`DSLAB_ZAB_PLANTED_BUG=${name} names no planted bug (core: ${core_planted_bugs.join(', ')}; server: ${host_planted_bugs.join(', ')})`);
}
