// What every seeded simulation of a replicated system shares: N cores under the generic host (host.ts)
// in virtual time with one seeded PRNG, faults through the control API's actions (faults.ts) from
// either a fault source aimed at the system (it crashes, isolates and pauses the leader more often than
// chance would) or the very schedule `dslab nemesis --seed S` runs against real processes, clients that
// issue operations with timeouts and retries, then the end phase: every fault heals, every crashed node
// restarts, clients stop, and the nodes must converge in time (else a liveness failure). Any failure
// names the seed; the same seed replays the same run.
//
// A system plugs in by extending ClusterSimulation with its model (how to build, persist and apply
// its core's Readys; what its clients send) and its invariants (checked in persist/handle while it
// runs, in isConverged/finalChecks at the end). src/systems/raft/sim.ts and src/systems/zab/sim.ts
// are the two such drivers. (src/systems/snowflake/sim.ts is no cluster: each worker's id generator
// under its own stepped clock, with no network, faults or clients, so it has nothing to take from here.)
//
// The order of every random draw and of every event scheduled here is part of what a seed means:
// changing it changes every recorded run (test/sim/replay-digest.test.ts pins them).

import type { ControlAction } from '../control/api.js';
import { nemesisSchedule } from '../faults/nemesis.js';
import { draws, type Draws } from '../util/prng.js';
import { applySimFault, SimNemesis, type FaultOutcome, type SimFaultHooks } from './faults.js';
import { SimHost, type Outgoing, type SimDriver, type SimNode, type CoreStart } from './host.js';
import { Scheduler } from './scheduler.js';

// ---- limits -------------------------------------------------------------------------------------

/** Clients start their first operation within this window. */
export const client_start_ms_max = 50;
/** A client refused by a node (not the leader, not ready) retries after a short random pause. */
export const client_retry_backoff_ms_min = 5;
export const client_retry_backoff_ms_max = 30;
/** How often the end phase checks whether the nodes converged. */
export const converge_check_interval_ms = 20;
/** Share of schedules that run `dslab nemesis`'s own fault schedule instead of the system-aimed faults. */
export const nemesis_schedule_share = 0.3;
/** A fault-free schedule's operation timeout: long enough to outlast a first election with a split vote, since without faults nothing may be lost. */
export const fault_free_client_op_timeout_ms = 2000;

// ---- configuration ------------------------------------------------------------------------------

/** The schedule's fields every system's simulation has; a system's config adds its own. */
export interface ClusterSimConfig {
  seed: number;
  /** Faults happen during this phase; then everything heals and crashed nodes restart. */
  fault_phase_ms: number;
  /** Fault-free time after the fault phase; clients stop issuing new operations halfway through. */
  settle_ms: number;
  /** After settle_ms, how long the nodes may take to converge before it counts as a liveness failure. */
  converge_ms_max: number;
  /** Latency of a healthy link (each message draws its own, so messages reorder); link faults add to it. */
  message_delay_ms_min: number;
  message_delay_ms_max: number;
  message_loss_rate: number;
  message_duplicate_rate: number;
  /** Time between two system-aimed faults. */
  nemesis_interval_ms_min: number;
  nemesis_interval_ms_max: number;
  partitions: boolean;
  crashes: boolean;
  /** Pause nodes (a GC pause: SIGSTOP under `dslab up`); they hold their input and resume later. */
  pauses: boolean;
  crash_down_ms_min: number;
  crash_down_ms_max: number;
  pause_ms_min: number;
  pause_ms_max: number;
  /**
   * Instead of the system-aimed faults above, run the schedule `dslab nemesis --seed <seed> --interval
   * <interval_ms>` runs against real processes, for the whole fault phase.
   */
  nemesis_schedule: { seed: number; interval_ms: number } | null;
  client_count: number;
  client_think_ms_max: number;
  /** A client that hears nothing for this long tries again. */
  client_attempt_timeout_ms: number;
  /** A client gives up on an operation after this long; its outcome is then unknown. */
  client_op_timeout_ms: number;
  /** Round-trip every message and the durable state through JSON, as a real runtime would. */
  serialize: boolean;
}

/**
 * With nemesis_schedule_share's chance (one draw from r, then one for the interval), turns a drawn
 * schedule into one that runs `dslab nemesis`'s schedule alone: the real nemesis brings its own
 * partitions, kills, pauses and link faults, one at a time. True when it did.
 */
export function drawNemesisSchedule(config: ClusterSimConfig, r: Draws, interval_ms_min: number, interval_ms_max: number): boolean {
  if (!r.chance(nemesis_schedule_share)) return false;
  config.nemesis_schedule = { seed: config.seed, interval_ms: r.int(interval_ms_min, interval_ms_max) };
  config.partitions = false;
  config.crashes = false;
  config.pauses = false;
  config.message_loss_rate = 0;
  config.message_duplicate_rate = 0;
  return true;
}

/** The ranges a system's random schedules draw the fault phase, the links and the aimed faults' pace from. */
export interface FaultScheduleRanges {
  fault_phase_ms: readonly [min: number, max: number];
  settle_ms: number;
  /** message_delay_ms_max is the minimum plus a draw from 0 to this. */
  message_delay_spread_ms_max: number;
  message_loss_rates: readonly number[];
  /** nemesis_interval_ms_max is the minimum plus a draw from this range. */
  nemesis_interval_spread_ms: readonly [min: number, max: number];
  crash_chance: number;
}

/** Share of schedules with partitions among the aimed faults. */
export const partition_chance = 0.8;
/** The duplication rates a schedule's links draw from. */
export const message_duplicate_rates: readonly number[] = [0, 0.05, 0.2];

/**
 * The schedule's fault phase, links and aimed faults' pace, drawn from r in one order that is part of
 * what every seed means: fault phase, delay spread, loss, duplication, interval spread, partitions,
 * crashes. The two minimums come drawn by the caller, from where they stand in its own order.
 */
export function drawFaultSchedule(r: Draws, ranges: FaultScheduleRanges, message_delay_ms_min: number, nemesis_interval_ms_min: number) {
  return {
    fault_phase_ms: r.int(...ranges.fault_phase_ms),
    settle_ms: ranges.settle_ms,
    message_delay_ms_min,
    message_delay_ms_max: message_delay_ms_min + r.int(0, ranges.message_delay_spread_ms_max),
    message_loss_rate: r.pick(ranges.message_loss_rates),
    message_duplicate_rate: r.pick(message_duplicate_rates),
    nemesis_interval_ms_min,
    nemesis_interval_ms_max: nemesis_interval_ms_min + r.int(...ranges.nemesis_interval_spread_ms),
    partitions: r.chance(partition_chance),
    crashes: r.chance(ranges.crash_chance),
  } satisfies Partial<ClusterSimConfig>;
}

/** What makes a schedule fault-free (used to check progress); a system adds its own faults' switches. */
export const fault_free_overrides = {
  message_loss_rate: 0,
  message_duplicate_rate: 0,
  partitions: false,
  crashes: false,
  pauses: false,
  nemesis_schedule: null,
  client_op_timeout_ms: fault_free_client_op_timeout_ms,
} as const satisfies Partial<ClusterSimConfig>;

/** The schedule fields no system's random schedule draws, at the values they share (a system may override one). */
export const fixed_schedule_fields = {
  converge_ms_max: 4000,
  crash_down_ms_min: 20,
  pause_ms_min: 20,
  client_attempt_timeout_ms: 150,
  client_op_timeout_ms: 500,
  nemesis_schedule: null,
} as const satisfies Partial<ClusterSimConfig>;

// ---- results ------------------------------------------------------------------------------------

/** The counters every system's simulation reports; a system's stats add its own. */
export interface ClusterSimStats {
  events: number;
  messages_sent: number;
  messages_lost: number;
  messages_duplicated: number;
  messages_partitioned: number;
  crashes: number;
  restarts: number;
  partitions: number;
  pauses: number;
  /** Steps of a `dslab nemesis` schedule that ran, and its actions the cluster refused (restart a node that is up). */
  nemesis_steps: number;
  nemesis_refused: number;
  end_ms: number;
}

// The base's counters at zero, in two groups that a system's stats spread where its report has always
// listed them: a replay digest covers the stats' key order, so a system's own counters keep their places.

/** The network's losses: lost (loss, overflow, a full inbox), duplicated, cut by a partition. */
export const message_loss_counters_zero = { messages_lost: 0, messages_duplicated: 0, messages_partitioned: 0 } as const satisfies Partial<ClusterSimStats>;
/** The faults applied and a `dslab nemesis` schedule's steps. */
export const fault_counters_zero = { crashes: 0, restarts: 0, partitions: 0, pauses: 0, nemesis_steps: 0, nemesis_refused: 0 } as const satisfies Partial<ClusterSimStats>;

/** A broken invariant (or a run that never converged), naming the seed that replays it. */
export class ClusterSimFailure extends Error {
  constructor(
    readonly system: string,
    readonly seed: number,
    readonly kind: string,
    detail: string,
  ) {
    super(`${system} simulation seed ${seed} failed (${kind}): ${detail}`);
    // A system's own subclass names its failures (SimulationFailure, ZabSimulationFailure).
    this.name = new.target.name;
  }
}

// ---- the parts a system supplies ----------------------------------------------------------------

/** A core the base can drive: what SimDriver asks of a node's process, answered by its core. */
export interface SimCore<M, R> {
  tick(now_ms: number): void;
  step(from: string, message: M): void;
  hasReady(): boolean;
  ready(): R;
  nextTimerMs(): number;
}

/** A client: its operation in progress (null when idle) and the attempt at it. */
export interface SimClient<Op extends { seq: number }> {
  index: number;
  id: string;
  seq: number;
  attempt: number;
  current: Op | null;
}

/** A core's collected outputs: at least the messages it sends. */
export interface SimReady<M> {
  readonly messages: readonly Outgoing<M>[];
}

/** Everything in a node's process (lost on a crash): the core plus the driver's volatile state. */
export interface SimProcess<M, R> {
  readonly core: SimCore<M, R>;
}

/** The types one system's simulation is made of. */
export interface ClusterSimTypes {
  config: ClusterSimConfig;
  message: unknown;
  ready: SimReady<this['message']>;
  process: SimProcess<this['message'], this['ready']>;
  /** What a node keeps across crashes. */
  durable: unknown;
  stats: ClusterSimStats;
  op: { seq: number };
  client: SimClient<this['op']>;
  failure: ClusterSimFailure;
  result: unknown;
}

/** What the base needs to know of a system up front. */
export interface ClusterSimSpec {
  node_ids: readonly string[];
  /** What failed to converge, in the liveness failure ("replicas", "the ensemble"). */
  converge_subject: string;
  /** How many times 'crash' stands among the aimed faults drawn from (partitions have four entries, pauses one). */
  crash_weight: number;
  /** Whether the system-aimed faults keep running beside a `dslab nemesis` schedule (for the faults that schedule has not got, such as a leadership transfer). */
  aimed_faults_beside_nemesis_schedule: boolean;
  /** The error the system's core throws when its own invariant breaks (a failure of kind 'core invariant'). */
  core_invariant_error: abstract new (...args: never[]) => Error;
}

// ---- the simulation -----------------------------------------------------------------------------

export abstract class ClusterSimulation<T extends ClusterSimTypes>
  implements SimDriver<T['process'], T['message'], T['ready'], T['durable']>
{
  readonly config: T['config'];
  abstract readonly stats: T['stats'];
  protected readonly scheduler: Scheduler;
  protected readonly rng: Draws;
  protected readonly host: SimHost<T['process'], T['message'], T['ready'], T['durable']>;
  protected readonly nodes: SimNode<T['process'], T['durable']>[];
  protected readonly clients: T['client'][] = [];
  protected readonly hooks: SimFaultHooks;
  /** The `dslab nemesis` schedule, when the config runs one. */
  protected nemesis: SimNemesis | null = null;
  /** True until the end of the fault phase. */
  protected faults_active = true;
  private clients_stopped = false;
  protected converged = false;

  constructor(
    config: T['config'],
    private readonly spec: ClusterSimSpec,
  ) {
    this.config = config;
    this.scheduler = new Scheduler(config.seed);
    this.rng = draws(this.scheduler.rng);
    this.host = new SimHost(this.scheduler, spec.node_ids, this, {
      network: { latency_ms_min: config.message_delay_ms_min, latency_ms_max: config.message_delay_ms_max, serialize: config.serialize },
    });
    this.nodes = this.host.nodes;
    for (let c = 0; c < config.client_count; c++) this.clients.push(this.newClient({ index: c, id: `c${c + 1}`, seq: 0, attempt: 0, current: null }));
    this.hooks = { leader: () => this.leader(), ...(this.transfer ? { transfer: (target: string) => this.transfer!(target) } : {}) };
  }

  protected get now_ms(): number {
    return this.scheduler.now_ms;
  }

  // ---- what the system supplies -----------------------------------------------------------------

  /** A client with the system's own fields. Called from this constructor, before the subclass's fields exist. */
  protected abstract newClient(base: SimClient<T['op']>): T['client'];
  /** The client's next operation, drawn and recorded (c.seq is already its seq). */
  protected abstract invoke(c: T['client']): T['op'];
  /** Sends the client's current operation to some node; the system's answer path calls complete(). */
  protected abstract clientAttempt(c: T['client']): void;
  /** The client gave up on op: its outcome is unknown. */
  protected abstract gaveUp(op: T['op']): void;
  /** The node that leads now by the supervisor's rule for `leader` (an up node), or null. */
  protected abstract leader(): string | null;
  /** Whether this process's core says it leads (whom aimed faults hit more often). */
  protected abstract reportsLeader(p: T['process']): boolean;
  /** Asks the leader to hand leadership to target (as `dslab transfer` does); a string is the refusal. Systems without transfers leave it out. */
  protected transfer?(target: string): true | string;
  /** The system's own aimed faults, drawn beside partition, isolate, heal, crash and pause. */
  protected systemFaults(): Record<string, () => void> {
    return {};
  }
  /** Events to schedule right after the heal at heal_at (before clients stop). */
  protected scheduleAfterHeal(_heal_at: number): void {}
  /** After every event of the run (a periodic check). */
  protected afterEvent(): void {}
  /** Converged: every node agrees and is done (clients are idle when this is asked). */
  protected abstract isConverged(): boolean;
  /** The checks after convergence. */
  protected abstract finalChecks(): void;
  /** Each node's state, for a liveness failure. */
  protected abstract describeNodes(): string;
  protected abstract newFailure(kind: string, detail: string): T['failure'];
  protected abstract result(): T['result'];

  abstract emptyDurable(id: string): T['durable'];
  abstract start(start: CoreStart<T['durable']>): T['process'];
  abstract persist(node: SimNode<T['process'], T['durable']>, ready: T['ready']): void;
  abstract handle(node: SimNode<T['process'], T['durable']>, ready: T['ready']): void;

  // ---- the run ----------------------------------------------------------------------------------

  run(): T['result'] {
    try {
      this.runEvents();
      this.finalChecks();
    } catch (err) {
      if (err instanceof ClusterSimFailure) throw err;
      throw this.unexpected(err);
    }
    this.collectStats();
    return this.result();
  }

  /** A throw that is no ClusterSimFailure: the core's own invariant check, or a bug. */
  protected unexpected(err: unknown, detail_suffix = ''): T['failure'] {
    if (err instanceof this.spec.core_invariant_error) return this.failure('core invariant', `${err.message}${detail_suffix}`);
    return this.failure('exception', `${err instanceof Error ? (err.stack ?? err.message) : String(err)}${detail_suffix}`);
  }

  private runEvents(): void {
    const cfg = this.config;
    const at = (time: number, run: () => void): void => this.scheduler.at(time, run);
    this.setBackgroundLinkFaults();
    for (const n of this.nodes) this.host.start(n.id);
    for (const c of this.clients) at(this.rng.int(0, client_start_ms_max), () => this.clientStart(c));
    if (cfg.nemesis_schedule) {
      const { seed, interval_ms } = cfg.nemesis_schedule;
      // Its final step (a heal) falls inside the fault phase, so every step runs.
      const steps = nemesisSchedule(seed, this.host.nodeIds, interval_ms, cfg.fault_phase_ms - 1);
      this.nemesis = new SimNemesis(this.scheduler, steps, (action) => this.fault(action), 0);
    }
    if (!cfg.nemesis_schedule || this.spec.aimed_faults_beside_nemesis_schedule) {
      at(this.rng.int(cfg.nemesis_interval_ms_min, cfg.nemesis_interval_ms_max), () => this.nemesisTick());
    }
    const heal_at = cfg.fault_phase_ms;
    const settle_end = heal_at + cfg.settle_ms;
    at(heal_at, () => this.healAll());
    this.scheduleAfterHeal(heal_at);
    at(heal_at + Math.floor(cfg.settle_ms / 2), () => {
      this.clients_stopped = true;
    });
    at(settle_end, () => this.convergeCheck());
    const deadline = settle_end + cfg.converge_ms_max;
    // Every loop below is bounded: virtual time is capped, and events per ms are finite.
    while (!this.converged) {
      if (!this.scheduler.step(deadline)) {
        if (this.scheduler.pending === 0) throw this.failure('liveness', 'event queue ran dry');
        throw this.failure('liveness', `${this.spec.converge_subject} did not converge within ${cfg.converge_ms_max}ms after settling: ${this.describeNodes()}`);
      }
      this.afterEvent();
    }
    this.stats.end_ms = this.now_ms;
  }

  private convergeCheck(): void {
    if (this.clients.every((c) => c.current === null) && this.isConverged()) this.converged = true;
    else this.scheduler.after(converge_check_interval_ms, () => this.convergeCheck());
  }

  /** The host's and the network's counters into stats (a system adds its own). */
  protected collectStats(): void {
    const net = this.host.network.stats;
    const host = this.host.stats;
    this.stats.events = this.scheduler.events_run;
    this.stats.messages_sent = net.sent;
    this.stats.messages_lost = net.dropped_loss + net.dropped_overflow + host.dropped_inbox_full;
    this.stats.messages_duplicated = net.duplicated;
    this.stats.messages_partitioned = net.dropped_partition;
    this.stats.crashes = host.crashes;
    this.stats.restarts = host.starts - this.nodes.length;
    this.stats.pauses = host.pauses;
    this.stats.nemesis_steps = this.nemesis?.counters.steps ?? 0;
    this.stats.nemesis_refused = this.nemesis?.counters.refused ?? 0;
  }

  protected failure(kind: string, detail: string): T['failure'] {
    return this.newFailure(kind, `${detail} [t=${this.now_ms}ms, event ${this.scheduler.events_run}]`);
  }

  // ---- the driver: what every core under the host does the same way -----------------------------

  tick(p: T['process'], now_ms: number): void {
    p.core.tick(now_ms);
  }

  step(p: T['process'], from: string, message: T['message']): void {
    p.core.step(from, message);
  }

  ready(p: T['process']): T['ready'] | null {
    return p.core.hasReady() ? p.core.ready() : null;
  }

  messages(rd: T['ready']): T['ready']['messages'] {
    return rd.messages;
  }

  nextTimerMs(p: T['process']): number {
    return p.core.nextTimerMs();
  }

  /** The durable state a restarted node's core gets: a JSON round trip when serializing (as a real runtime's disk), else copy's own copy. */
  protected durableForStart(d: T['durable'], copy: (d: T['durable']) => T['durable']): T['durable'] {
    return this.config.serialize ? (JSON.parse(JSON.stringify(d)) as T['durable']) : copy(d);
  }

  // ---- faults -----------------------------------------------------------------------------------

  /** Applies a fault through the same control actions `dslab` commands and the nemesis use. */
  protected fault(action: ControlAction): FaultOutcome {
    const outcome = applySimFault(action, this.host, this.hooks);
    if (outcome.ok && action.type === 'partition') this.stats.partitions++;
    return outcome;
  }

  /** The loss and duplication an aimed schedule keeps on every link through its fault phase. */
  private setBackgroundLinkFaults(): void {
    const cfg = this.config;
    if (cfg.message_loss_rate + cfg.message_duplicate_rate === 0) return;
    this.fault({ type: 'link_faults', loss: cfg.message_loss_rate, duplicate: cfg.message_duplicate_rate });
  }

  /** The leader with probability leader_share (crashing, isolating or pausing it is where bugs hide), else any node in an allowed state. */
  protected victim(allowed: (n: SimNode<T['process'], T['durable']>) => boolean, leader_share = 0.5): SimNode<T['process'], T['durable']> | null {
    const candidates = this.nodes.filter(allowed);
    if (candidates.length === 0) return null;
    const leaders = candidates.filter((x) => x.status === 'up' && this.reportsLeader(x.core!));
    return leaders.length > 0 && this.rng.chance(leader_share) ? this.rng.pick(leaders) : this.rng.pick(candidates);
  }

  /** Kills the node, and restarts it after a drawn downtime. */
  protected crashAndRestart(id: string, down_ms_max: number = this.config.crash_down_ms_max): void {
    this.fault({ type: 'kill', node: id });
    this.scheduler.after(this.rng.int(this.config.crash_down_ms_min, down_ms_max), () => this.fault({ type: 'restart', node: id }));
  }

  private nemesisTick(): void {
    if (!this.faults_active) return;
    this.aimedFault();
    this.scheduler.after(this.rng.int(this.config.nemesis_interval_ms_min, this.config.nemesis_interval_ms_max), () => this.nemesisTick());
  }

  /** One system-aimed fault. Several may be active at once (a partition while a node is down). */
  private aimedFault(): void {
    const cfg = this.config;
    const own = this.systemFaults();
    const actions: string[] = ['none'];
    if (cfg.partitions) actions.push('partition', 'isolate', 'heal', 'heal');
    if (cfg.crashes) for (let i = 0; i < this.spec.crash_weight; i++) actions.push('crash');
    if (cfg.pauses) actions.push('pause');
    actions.push(...Object.keys(own));
    const action = this.rng.pick(actions);
    switch (action) {
      case 'none':
        break;
      case 'partition':
        this.fault({ type: 'partition', random: true });
        break;
      case 'isolate':
        // Isolating the leader is the interesting case (stale leaders, stale reads): three times in four.
        this.fault({ type: 'partition', isolate: this.victim(() => true, 0.75)!.id });
        break;
      case 'heal':
        // `dslab heal` clears link faults too; the schedule's background loss comes back at once.
        this.fault({ type: 'heal' });
        this.setBackgroundLinkFaults();
        break;
      case 'crash': {
        const victim = this.victim((x) => x.status !== 'down');
        if (victim !== null) this.crashAndRestart(victim.id);
        break;
      }
      case 'pause': {
        const victim = this.victim((x) => x.status === 'up');
        if (victim === null) break;
        this.fault({ type: 'pause', node: victim.id });
        this.scheduler.after(this.rng.int(cfg.pause_ms_min, cfg.pause_ms_max), () => this.fault({ type: 'resume', node: victim.id }));
        break;
      }
      default:
        own[action]!();
    }
  }

  /** The end of the fault phase: every fault healed, every node up. */
  private healAll(): void {
    this.faults_active = false;
    this.nemesis?.stop();
    this.fault({ type: 'heal' });
    for (const n of this.nodes) {
      if (n.status === 'down') this.host.start(n.id);
      else if (n.status === 'paused') this.host.resume(n.id);
    }
  }

  // ---- clients ----------------------------------------------------------------------------------

  private clientStart(c: T['client']): void {
    if (this.clients_stopped || c.current !== null) return;
    c.seq += 1;
    c.attempt = 0;
    c.current = this.invoke(c);
    const seq = c.seq;
    this.scheduler.after(this.config.client_op_timeout_ms, () => this.clientDeadline(c, seq));
    this.clientAttempt(c);
  }

  private clientDeadline(c: T['client'], seq: number): void {
    const op = c.current;
    if (op === null || op.seq !== seq) return;
    // The outcome is unknown: a write may still take effect later.
    c.current = null;
    this.gaveUp(op);
    this.scheduleNextOp(c);
  }

  /**
   * The client's operation seq is answered: returns it (no longer current; the client thinks, then
   * starts its next), or null for a late answer to one the client gave up on.
   */
  protected complete(c: T['client'], seq: number): T['op'] | null {
    const op = c.current;
    if (op === null || op.seq !== seq) return null;
    c.current = null;
    this.scheduleNextOp(c);
    return op;
  }

  /** A refused attempt's pause before the client tries again. */
  protected retryBackoffMs(): number {
    return this.rng.int(client_retry_backoff_ms_min, client_retry_backoff_ms_max);
  }

  private scheduleNextOp(c: T['client']): void {
    this.scheduler.after(this.rng.int(0, this.config.client_think_ms_max), () => this.clientStart(c));
  }
}
