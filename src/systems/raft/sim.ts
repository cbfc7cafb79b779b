// The Raft kv store under the simulator (src/lib/sim): N RaftCore nodes in one process, virtual
// time, one seeded PRNG, the router's FaultModel on the network, crashes that keep only what a node
// persisted through Ready, pauses, leadership transfers, and clients issuing kv operations. Faults come
// either from a fault source aimed at Raft (it crashes, isolates and pauses the leader more often than
// chance would) or from the very schedule `dslab nemesis --seed S` runs against real processes: the
// same control actions, applied with the supervisor's rules to the same FaultModel.
//
// This file is Raft's driver for the generic host (how to build a core, persist and apply a Ready)
// plus Raft's checks: the five safety properties of Raft (Figure 3 of the paper) while it runs, and at
// the end (after healing every fault) that the replicas agree and every acknowledged write is in the
// agreed state. Any failure throws SimulationFailure naming the seed; the same seed replays the run.

import type { ControlAction } from '../../lib/control/api.js';
import { nemesisSchedule } from '../../lib/faults/nemesis.js';
import { applySimFault, SimNemesis, type FaultOutcome, type SimFaultHooks } from '../../lib/sim/faults.js';
import { SimHost, type CoreStart, type SimDriver, type SimNode } from '../../lib/sim/host.js';
import { Scheduler } from '../../lib/sim/scheduler.js';
import { createRng, draws, type Draws } from '../../lib/util/prng.js';
import {
  RaftCore,
  RaftInvariantError,
  type HardState,
  type LogEntry,
  type RaftConfig,
  type RaftMessage,
  type Ready,
  type ReadState,
  type Snapshot,
  type StateReport,
} from './core.js';
import { canonicalJson, KvStateMachine, type KvCommand, type KvOp, type KvResult, type KvSnapshot } from './kv.js';

// ---- limits -------------------------------------------------------------------------------------

/** Clients start their first operation within this window. */
const client_start_ms_max = 50;
/** A client told "not the leader" retries after a short random pause. */
const client_retry_backoff_ms_min = 5;
const client_retry_backoff_ms_max = 30;
/** How often the end phase checks whether the replicas agree. */
const converge_check_interval_ms = 20;
/** Share of schedules that run `dslab nemesis`'s own fault schedule instead of the Raft-aimed faults. */
const nemesis_schedule_share = 0.3;
/** The nemesis interval such schedules use (the control API accepts 100 ms and up). */
const nemesis_schedule_interval_ms_min = 100;
const nemesis_schedule_interval_ms_max = 500;

// ---- configuration ------------------------------------------------------------------------------

export interface SimConfig {
  seed: number;
  node_count: number;
  raft: Partial<RaftConfig>;
  /** Faults happen during this phase; then everything heals and crashed nodes restart. */
  fault_phase_ms: number;
  /** Fault-free time after the fault phase; clients stop issuing new operations halfway through. */
  settle_ms: number;
  /** After settle_ms, how long replicas may take to agree before it counts as a liveness failure. */
  converge_ms_max: number;
  /** Latency of a healthy link (each message draws its own, so messages reorder); link faults add to it. */
  message_delay_ms_min: number;
  message_delay_ms_max: number;
  message_loss_rate: number;
  message_duplicate_rate: number;
  nemesis_interval_ms_min: number;
  nemesis_interval_ms_max: number;
  partitions: boolean;
  crashes: boolean;
  transfers: boolean;
  /** Pause nodes (a GC pause: SIGSTOP under `dslab up`); they hold their input and resume later. */
  pauses: boolean;
  pause_ms_min: number;
  pause_ms_max: number;
  /**
   * Instead of the Raft-aimed faults above, run the schedule `dslab nemesis --seed <seed> --interval
   * <interval_ms>` runs against real processes, for the whole fault phase.
   */
  nemesis_schedule: { seed: number; interval_ms: number } | null;
  crash_down_ms_min: number;
  crash_down_ms_max: number;
  client_count: number;
  client_think_ms_max: number;
  /** A client that hears nothing for this long retries (the same seq, so at most once). */
  client_attempt_timeout_ms: number;
  /** A client gives up on an operation after this long; its outcome is then unknown. */
  client_op_timeout_ms: number;
  key_count: number;
  /** Take a snapshot once this many entries were applied since the last one (0: never). */
  compact_after_entries: number;
  /** Round-trip every message and the durable state through JSON, as a real runtime would. */
  serialize: boolean;
  /** Pairwise log-matching check every this many events (it is the most expensive check). */
  log_matching_check_events: number;
}

/** A schedule with faults, drawn from the seed. */
export function randomSimConfig(seed: number): SimConfig {
  const r = draws(createRng(seed ^ 0x5bd1e995));
  const election_min = r.int(100, 150);
  const append_max = r.pick([1, 2, 4, 64]);
  const both = r.chance(0.75);
  const delay_min = r.int(1, 5);
  const nemesis_min = r.int(20, 300);
  const config: SimConfig = {
    seed,
    node_count: r.pick([3, 3, 3, 5, 5]),
    raft: {
      election_timeout_ms_min: election_min,
      election_timeout_ms_max: election_min + r.int(50, 150),
      heartbeat_interval_ms: r.int(20, 40),
      pre_vote: both || r.chance(0.5),
      check_quorum: both || r.chance(0.5),
      append_entries_max: append_max,
      append_inflight_entries_max: Math.max(append_max, r.pick([4, 16, 256])),
    },
    fault_phase_ms: r.int(1000, 2500),
    settle_ms: 800,
    converge_ms_max: 4000,
    message_delay_ms_min: delay_min,
    message_delay_ms_max: delay_min + r.int(0, 30),
    message_loss_rate: r.pick([0, 0.02, 0.1, 0.25]),
    message_duplicate_rate: r.pick([0, 0.05, 0.2]),
    // Some schedules change faults every few tens of ms, others hold one for up to ~1.5 s
    // (long enough for a new leader to be elected and commit behind an isolated old one).
    nemesis_interval_ms_min: nemesis_min,
    nemesis_interval_ms_max: nemesis_min + r.int(60, 1200),
    partitions: r.chance(0.8),
    crashes: r.chance(0.7),
    transfers: r.chance(0.5),
    crash_down_ms_min: 20,
    crash_down_ms_max: 600,
    client_count: r.int(1, 3),
    client_think_ms_max: r.int(0, 40),
    client_attempt_timeout_ms: 150,
    client_op_timeout_ms: 500,
    key_count: r.int(1, 3),
    compact_after_entries: r.pick([0, 2, 5, 20]),
    log_matching_check_events: 200,
    serialize: r.chance(0.2),
    // Drawn last, so every field above keeps the value it had before these existed.
    pauses: r.chance(0.5),
    pause_ms_min: 20,
    pause_ms_max: 600,
    nemesis_schedule: null,
  };
  if (r.chance(nemesis_schedule_share)) {
    // The real nemesis brings its own partitions, kills, pauses and link faults, one at a time.
    config.nemesis_schedule = { seed, interval_ms: r.int(nemesis_schedule_interval_ms_min, nemesis_schedule_interval_ms_max) };
    config.partitions = false;
    config.crashes = false;
    config.pauses = false;
    config.message_loss_rate = 0;
    config.message_duplicate_rate = 0;
  }
  return config;
}

/** A schedule without any fault: used to check progress (a leader is elected, writes commit). */
export function faultFreeSimConfig(seed: number): SimConfig {
  return {
    ...randomSimConfig(seed),
    message_loss_rate: 0,
    message_duplicate_rate: 0,
    partitions: false,
    crashes: false,
    transfers: false,
    pauses: false,
    nemesis_schedule: null,
    // Long enough to outlast a first election with a split vote: without faults nothing may be lost.
    client_op_timeout_ms: 2000,
  };
}

// ---- results ------------------------------------------------------------------------------------

export interface ClientOpRecord {
  client: string;
  seq: number;
  op: KvOp;
  invoke_ms: number;
  /** null while pending or when the client gave up. */
  complete_ms: number | null;
  /** null: no answer (indeterminate for writes). */
  result: KvResult | null;
  /** Highest commit index any node knew when the operation was invoked. */
  commit_at_invoke: number;
  /** For reads: the applied index of the state the read was served from. */
  served_index: number | null;
}

export interface SimStats {
  events: number;
  messages_sent: number;
  messages_delivered: number;
  messages_lost: number;
  messages_duplicated: number;
  messages_partitioned: number;
  max_term: number;
  leaders_elected: number;
  crashes: number;
  restarts: number;
  partitions: number;
  pauses: number;
  /** Steps of a `dslab nemesis` schedule that ran, and its actions the cluster refused (restart a node that is up). */
  nemesis_steps: number;
  nemesis_refused: number;
  transfers_requested: number;
  compactions: number;
  snapshots_installed: number;
  ops_invoked: number;
  ops_acked: number;
  writes_acked: number;
  reads_acked: number;
  ops_indeterminate: number;
  first_leader_ms: number | null;
  final_commit_index: number;
  end_ms: number;
}

export interface SimResult {
  seed: number;
  config: SimConfig;
  history: ClientOpRecord[];
  stats: SimStats;
}

export class SimulationFailure extends Error {
  constructor(
    readonly seed: number,
    readonly kind: string,
    detail: string,
  ) {
    super(`raft simulation seed ${seed} failed (${kind}): ${detail}`);
    this.name = 'SimulationFailure';
  }
}

// ---- internals ----------------------------------------------------------------------------------

interface Durable {
  hard_state: HardState;
  snapshot: Snapshot | null;
  entries: LogEntry[];
}

/** Everything in a Raft node's process; a crash loses all of it (the host keeps `Durable`). */
interface RaftProcess {
  core: RaftCore;
  kv: KvStateMachine;
  applied: number;
  /** `${client}#${seq}` -> client index, for proposals this node accepted. */
  pending_writes: Map<string, number>;
  /** read request id -> client op. */
  pending_reads: Map<string, { client: number; seq: number; key: unknown }>;
  // What the checks last saw of this node.
  seen_role: StateReport['role'];
  seen_term: number;
  /** While leader: the last entry of its log when last checked (leader append-only). */
  leader_mark: { index: number; entry: LogEntry | undefined } | null;
}

type RaftNode = SimNode<RaftProcess, Durable>;

interface SimClient {
  index: number;
  id: string;
  seq: number;
  leader_hint: string | null;
  current: ClientOpRecord | null;
  attempt: number;
  values_written: number;
}

// ---- the simulation -----------------------------------------------------------------------------

export function runSimulation(config: SimConfig): SimResult {
  return new Simulation(config).run();
}

export class Simulation implements SimDriver<RaftProcess, RaftMessage, Ready, Durable> {
  readonly config: SimConfig;
  private readonly scheduler: Scheduler;
  private readonly rng: Draws;
  private readonly host: SimHost<RaftProcess, RaftMessage, Ready, Durable>;
  private readonly nodes: RaftNode[];
  private readonly clients: SimClient[] = [];
  private readonly history: ClientOpRecord[] = [];
  private readonly hooks: SimFaultHooks;
  private nemesisSchedule: SimNemesis | null = null;
  private faults_active = true;
  private clients_stopped = false;
  private converged = false;

  // Global knowledge for the safety checks.
  private readonly leader_of_term = new Map<number, string>();
  /** The entry applied at each index by whichever node applied it first. */
  private readonly applied_log: (LogEntry | undefined)[] = [];
  /** canonical kv snapshot per index at which some node took or installed one. */
  private readonly state_at = new Map<number, string>();
  private max_commit = 0;

  readonly stats: SimStats = {
    events: 0,
    messages_sent: 0,
    messages_delivered: 0,
    messages_lost: 0,
    messages_duplicated: 0,
    messages_partitioned: 0,
    max_term: 0,
    leaders_elected: 0,
    crashes: 0,
    restarts: 0,
    partitions: 0,
    pauses: 0,
    nemesis_steps: 0,
    nemesis_refused: 0,
    transfers_requested: 0,
    compactions: 0,
    snapshots_installed: 0,
    ops_invoked: 0,
    ops_acked: 0,
    writes_acked: 0,
    reads_acked: 0,
    ops_indeterminate: 0,
    first_leader_ms: null,
    final_commit_index: 0,
    end_ms: 0,
  };

  constructor(config: SimConfig) {
    this.config = config;
    this.scheduler = new Scheduler(config.seed);
    this.rng = draws(this.scheduler.rng);
    const ids = Array.from({ length: config.node_count }, (_, i) => `n${i + 1}`);
    this.host = new SimHost(this.scheduler, ids, this, {
      network: { latency_ms_min: config.message_delay_ms_min, latency_ms_max: config.message_delay_ms_max, serialize: config.serialize },
    });
    this.nodes = this.host.nodes;
    for (let c = 0; c < config.client_count; c++) {
      this.clients.push({ index: c, id: `c${c + 1}`, seq: 0, leader_hint: null, current: null, attempt: 0, values_written: 0 });
    }
    this.hooks = { leader: () => this.leader(), transfer: (target) => this.transfer(target) };
  }

  private get now_ms(): number {
    return this.scheduler.now_ms;
  }

  run(): SimResult {
    try {
      this.runEvents();
      this.finalChecks();
    } catch (err) {
      if (err instanceof SimulationFailure) throw err;
      if (err instanceof RaftInvariantError) throw this.failure('core invariant', `${err.message} at t=${this.now_ms}ms`);
      throw this.failure('exception', `${err instanceof Error ? (err.stack ?? err.message) : String(err)} at t=${this.now_ms}ms`);
    }
    this.collectStats();
    return { seed: this.config.seed, config: this.config, history: this.history, stats: this.stats };
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
      this.nemesisSchedule = new SimNemesis(this.scheduler, steps, (action) => this.fault(action), 0);
    }
    at(this.rng.int(cfg.nemesis_interval_ms_min, cfg.nemesis_interval_ms_max), () => this.nemesisTick());
    const heal_at = cfg.fault_phase_ms;
    const settle_end = heal_at + cfg.settle_ms;
    at(heal_at, () => this.healAll());
    at(heal_at + Math.floor(cfg.settle_ms / 2), () => {
      this.clients_stopped = true;
    });
    at(settle_end, () => this.convergeCheck());
    const deadline = settle_end + cfg.converge_ms_max;
    // Every loop below is bounded: virtual time is capped, and events per ms are finite.
    while (!this.converged) {
      if (!this.scheduler.step(deadline)) {
        if (this.scheduler.pending === 0) throw this.failure('liveness', 'event queue ran dry');
        throw this.failure('liveness', `replicas did not converge within ${cfg.converge_ms_max}ms after settling: ${this.describeNodes()}`);
      }
      if (this.scheduler.events_run % cfg.log_matching_check_events === 0) this.checkLogMatching();
    }
    this.stats.end_ms = this.now_ms;
  }

  private convergeCheck(): void {
    if (this.isConverged()) this.converged = true;
    else this.scheduler.after(converge_check_interval_ms, () => this.convergeCheck());
  }

  private collectStats(): void {
    const net = this.host.network.stats;
    const host = this.host.stats;
    this.stats.events = this.scheduler.events_run;
    this.stats.messages_sent = net.sent;
    this.stats.messages_delivered = net.delivered - host.dropped_down;
    this.stats.messages_lost = net.dropped_loss + net.dropped_overflow + host.dropped_inbox_full;
    this.stats.messages_duplicated = net.duplicated;
    this.stats.messages_partitioned = net.dropped_partition;
    this.stats.crashes = host.crashes;
    this.stats.restarts = host.starts - this.nodes.length;
    this.stats.pauses = host.pauses;
    this.stats.nemesis_steps = this.nemesisSchedule?.counters.steps ?? 0;
    this.stats.nemesis_refused = this.nemesisSchedule?.counters.refused ?? 0;
  }

  // ---- the driver: how the generic host runs a Raft node ----------------------------------------

  emptyDurable(): Durable {
    return { hard_state: { term: 0, voted_for: null }, snapshot: null, entries: [] };
  }

  start(start: CoreStart<Durable>): RaftProcess {
    const d = start.durable;
    const core = new RaftCore({
      id: start.id,
      peers: start.peers,
      config: this.config.raft,
      persisted: this.config.serialize
        ? (JSON.parse(JSON.stringify(d)) as Durable)
        : { hard_state: d.hard_state, snapshot: d.snapshot, entries: d.entries.slice() },
      random: start.random,
      now_ms: start.now_ms,
    });
    return {
      core,
      kv: new KvStateMachine(),
      applied: 0,
      pending_writes: new Map(),
      pending_reads: new Map(),
      seen_role: 'follower',
      seen_term: d.hard_state.term,
      leader_mark: null,
    };
  }

  tick(p: RaftProcess, now_ms: number): void {
    p.core.tick(now_ms);
  }

  step(p: RaftProcess, from: string, message: RaftMessage): void {
    p.core.step(from, message);
  }

  ready(p: RaftProcess): Ready | null {
    return p.core.hasReady() ? p.core.ready() : null;
  }

  messages(rd: Ready): Ready['messages'] {
    return rd.messages;
  }

  nextTimerMs(p: RaftProcess): number {
    return p.core.nextTimerMs();
  }

  /** The durable log and hard state take the Ready's writes; then they must equal the core's, since that is what a restart will see. */
  persist(n: RaftNode, rd: Ready): void {
    const d = n.durable;
    if (rd.hard_state) {
      if (rd.hard_state.term < d.hard_state.term) throw this.failure('persistence', `${n.id} persisted a lower term`);
      d.hard_state = rd.hard_state;
    }
    if (rd.snapshot) {
      d.snapshot = rd.snapshot;
      const first = d.entries[0]?.index ?? rd.snapshot.index + 1;
      d.entries = d.entries.slice(Math.max(0, rd.snapshot.index - first + 1));
    }
    if (rd.log_truncate_from !== null) {
      const first = d.entries[0]?.index;
      if (first !== undefined && rd.log_truncate_from <= first + d.entries.length - 1) {
        d.entries.length = Math.max(0, rd.log_truncate_from - first);
      }
      for (const e of rd.entries) {
        const expected = (d.entries[d.entries.length - 1]?.index ?? d.snapshot?.index ?? 0) + 1;
        if (e.index !== expected) throw this.failure('persistence', `${n.id} Ready appends index ${e.index}, durable log expects ${expected}`);
        d.entries.push(e);
      }
    } else if (rd.entries.length > 0) {
      throw this.failure('persistence', `${n.id} Ready has entries without log_truncate_from`);
    }
    const core = n.core!.core;
    const durable_last = d.entries[d.entries.length - 1]?.index ?? d.snapshot?.index ?? 0;
    const durable_last_term = d.entries[d.entries.length - 1]?.term ?? d.snapshot?.term ?? 0;
    const st = core.state();
    if (durable_last !== core.lastIndex() || durable_last_term !== core.lastTerm()) {
      throw this.failure('persistence', `${n.id} durable log ends at ${durable_last}/${durable_last_term}, core at ${core.lastIndex()}/${core.lastTerm()}`);
    }
    if (d.hard_state.term !== st.term || d.hard_state.voted_for !== st.voted_for) {
      throw this.failure('persistence', `${n.id} durable hard state differs from the core's`);
    }
  }

  /** After persisting and sending: restore, apply, answer reads, check, compact (a real runtime's order). */
  handle(n: RaftNode, rd: Ready): void {
    const p = n.core!;
    if (rd.apply_snapshot) this.installSnapshot(n, p, rd.apply_snapshot);
    for (const e of rd.committed) this.applyEntry(n, p, e);
    for (const r of rd.read_states) this.serveRead(n, p, r);
    for (const id of rd.reads_dropped) p.pending_reads.delete(String(id));
    this.observe(n, p, rd.state);
    const cfg = this.config;
    if (cfg.compact_after_entries > 0 && p.applied - p.core.state().snapshot_index >= cfg.compact_after_entries) {
      const data = p.kv.snapshot();
      this.recordState(p.applied, data, `${n.id} compaction`);
      p.core.compact(p.applied, data);
      this.stats.compactions++;
    }
  }

  private installSnapshot(n: RaftNode, p: RaftProcess, s: Snapshot): void {
    const data = s.data as KvSnapshot | null;
    p.kv = KvStateMachine.restore(data);
    if (s.index < p.applied) throw this.failure('state machine safety', `${n.id} restored snapshot ${s.index} behind applied ${p.applied}`);
    if (p.applied > 0 || s.index > 0) this.stats.snapshots_installed++;
    p.applied = s.index;
    this.recordState(s.index, data, `${n.id} snapshot restore`);
  }

  private recordState(index: number, data: KvSnapshot | null, what: string): void {
    if (data === null) return;
    const text = canonicalJson(data);
    const seen = this.state_at.get(index);
    if (seen === undefined) this.state_at.set(index, text);
    else if (seen !== text) throw this.failure('state machine safety', `${what}: state at index ${index} differs between replicas`);
  }

  private applyEntry(n: RaftNode, p: RaftProcess, e: LogEntry): void {
    if (e.index !== p.applied + 1) throw this.failure('runtime', `${n.id} got committed entry ${e.index} after applying ${p.applied}`);
    const seen = this.applied_log[e.index];
    if (seen === undefined) this.applied_log[e.index] = e;
    else if (!sameEntry(seen, e)) {
      throw this.failure(
        'state machine safety',
        `${n.id} applied ${describeEntry(e)} at index ${e.index}, another node applied ${describeEntry(seen)}`,
      );
    }
    p.applied = e.index;
    if (e.op === null) return;
    const { result } = p.kv.apply(e.op);
    const cmd = e.op as KvCommand;
    const key = `${cmd.client}#${cmd.seq}`;
    const client = p.pending_writes.get(key);
    if (client !== undefined) {
      p.pending_writes.delete(key);
      this.complete(this.clients[client]!, cmd.seq, result, null);
    }
  }

  private serveRead(n: RaftNode, p: RaftProcess, r: ReadState): void {
    const pending = p.pending_reads.get(String(r.request_id));
    if (!pending) return;
    p.pending_reads.delete(String(r.request_id));
    if (p.applied < r.index) throw this.failure('runtime', `${n.id} read ready at ${r.index} before applying it (applied ${p.applied})`);
    this.complete(this.clients[pending.client]!, pending.seq, p.kv.read(pending.key), p.applied);
  }

  // ---- faults -----------------------------------------------------------------------------------

  /** Applies a fault through the same control actions `dslab` commands and the nemesis use. */
  private fault(action: ControlAction): FaultOutcome {
    const outcome = applySimFault(action, this.host, this.hooks);
    if (outcome.ok && action.type === 'partition') this.stats.partitions++;
    return outcome;
  }

  /** The loss and duplication a Raft-aimed schedule keeps on every link through its fault phase. */
  private setBackgroundLinkFaults(): void {
    const cfg = this.config;
    if (cfg.message_loss_rate + cfg.message_duplicate_rate === 0) return;
    this.fault({ type: 'link_faults', loss: cfg.message_loss_rate, duplicate: cfg.message_duplicate_rate });
  }

  /** The up node reporting leader with the highest term (the supervisor's rule for `leader`). */
  private leader(): string | null {
    let best: { id: string; term: number } | null = null;
    for (const n of this.nodes) {
      if (n.status !== 'up') continue;
      const st = n.core!.core.state();
      if (st.role === 'leader' && (best === null || st.term > best.term)) best = { id: n.id, term: st.term };
    }
    return best?.id ?? null;
  }

  /** Asks the leader (as `dslab transfer` does) to hand leadership to target. */
  private transfer(target: string): true | string {
    const leader = this.leader();
    if (leader === null) return 'no node reports itself leader right now';
    if (leader === target) return `${target} is already the leader`;
    this.stats.transfers_requested++;
    this.host.input(leader, (p) => {
      p.core.transferLeadership(target);
    });
    return true;
  }

  /** The leader with probability leader_share (crashing, isolating or pausing it is where bugs hide), else any node in an allowed state. */
  private victim(allowed: (n: RaftNode) => boolean, leader_share = 0.5): RaftNode | null {
    const candidates = this.nodes.filter(allowed);
    if (candidates.length === 0) return null;
    const leaders = candidates.filter((x) => x.status === 'up' && x.core!.core.state().role === 'leader');
    return leaders.length > 0 && this.rng.chance(leader_share) ? this.rng.pick(leaders) : this.rng.pick(candidates);
  }

  private nemesisTick(): void {
    if (!this.faults_active) return;
    this.raftNemesis();
    this.scheduler.after(this.rng.int(this.config.nemesis_interval_ms_min, this.config.nemesis_interval_ms_max), () => this.nemesisTick());
  }

  /** One Raft-aimed fault. Several may be active at once (a partition while a node is down). */
  private raftNemesis(): void {
    const cfg = this.config;
    const actions: string[] = ['none'];
    if (cfg.partitions) actions.push('partition', 'isolate', 'heal', 'heal');
    if (cfg.crashes) actions.push('crash', 'crash');
    if (cfg.pauses) actions.push('pause');
    if (cfg.transfers) actions.push('transfer');
    const action = this.rng.pick(actions);
    switch (action) {
      case 'partition':
        this.fault({ type: 'partition', random: true });
        break;
      case 'isolate': {
        // Isolating the leader is the interesting case (stale leaders, stale reads): three times in four.
        const lone = this.victim(() => true, 0.75)!;
        this.fault({ type: 'partition', isolate: lone.id });
        break;
      }
      case 'heal':
        // `dslab heal` clears link faults too; the schedule's background loss comes back at once.
        this.fault({ type: 'heal' });
        this.setBackgroundLinkFaults();
        break;
      case 'crash': {
        const victim = this.victim((x) => x.status !== 'down');
        if (victim === null) break;
        this.fault({ type: 'kill', node: victim.id });
        this.scheduler.after(this.rng.int(cfg.crash_down_ms_min, cfg.crash_down_ms_max), () => {
          this.fault({ type: 'restart', node: victim.id });
        });
        break;
      }
      case 'pause': {
        const victim = this.victim((x) => x.status === 'up');
        if (victim === null) break;
        this.fault({ type: 'pause', node: victim.id });
        this.scheduler.after(this.rng.int(cfg.pause_ms_min, cfg.pause_ms_max), () => {
          this.fault({ type: 'resume', node: victim.id });
        });
        break;
      }
      case 'transfer': {
        const leader = this.leader();
        if (leader === null || this.nodes.length < 2) break;
        this.fault({ type: 'transfer', node: this.rng.pick(this.nodes.filter((x) => x.id !== leader)).id });
        break;
      }
    }
  }

  /** The end of the fault phase: every fault healed, every node up. */
  private healAll(): void {
    this.faults_active = false;
    this.nemesisSchedule?.stop();
    this.fault({ type: 'heal' });
    for (const n of this.nodes) {
      if (n.status === 'down') this.host.start(n.id);
      else if (n.status === 'paused') this.host.resume(n.id);
    }
  }

  // ---- clients ----------------------------------------------------------------------------------

  private clientStart(c: SimClient): void {
    if (this.clients_stopped || c.current !== null) return;
    c.seq += 1;
    const key = this.rng.int(1, this.config.key_count);
    const kind = this.rng.pick(['read', 'read', 'write', 'write', 'cas', 'cas', 'delete']);
    let op: KvOp;
    const fresh = (): string => `${c.id}-${++c.values_written}`;
    switch (kind) {
      case 'read':
        op = { type: 'read', key };
        break;
      case 'write':
        op = { type: 'write', key, value: fresh() };
        break;
      case 'cas': {
        // Compare against a value this client last saw or wrote, so some cas operations succeed.
        const from = this.latestValueSeen(key);
        op = { type: 'cas', key, from, to: fresh(), create_if_not_exists: this.rng.chance(0.3) };
        break;
      }
      default:
        op = { type: 'delete', key };
    }
    const record: ClientOpRecord = {
      client: c.id,
      seq: c.seq,
      op,
      invoke_ms: this.now_ms,
      complete_ms: null,
      result: null,
      commit_at_invoke: this.max_commit,
      served_index: null,
    };
    c.current = record;
    c.attempt = 0;
    this.history.push(record);
    this.stats.ops_invoked++;
    const seq = c.seq;
    this.scheduler.after(this.config.client_op_timeout_ms, () => this.clientDeadline(c, seq));
    this.clientAttempt(c);
  }

  private latestValueSeen(key: number): unknown {
    // The value at the most up-to-date live replica (a cheap guess; correctness does not depend on it).
    let best: RaftProcess | null = null;
    for (const n of this.nodes) if (n.core !== null && (best === null || n.core.applied > best.applied)) best = n.core;
    return best?.kv.get(key) ?? null;
  }

  private clientRetry(c: SimClient, seq: number, attempt: number, timed_out: boolean): void {
    if (c.current && c.current.seq === seq && c.attempt === attempt) {
      // No answer in time: the node may be cut off from the others, so try another one.
      if (timed_out) c.leader_hint = null;
      this.clientAttempt(c);
    }
  }

  private clientDeadline(c: SimClient, seq: number): void {
    if (c.current && c.current.seq === seq) {
      // The outcome is unknown: a write may still commit later (at most once, thanks to seq).
      c.current.complete_ms = null;
      c.current = null;
      this.stats.ops_indeterminate++;
      this.scheduleNextOp(c);
    }
  }

  private clientAttempt(c: SimClient): void {
    const op = c.current!;
    c.attempt += 1;
    const attempt = c.attempt;
    const target = c.leader_hint !== null && this.rng.chance(0.9) ? this.host.node(c.leader_hint) : this.rng.pick(this.nodes);
    let refused: { leader: string | null } | null = null;
    // A client request is an input from outside the network: a paused node takes it when it
    // resumes (and may still commit it), a dead one never does.
    const outcome = this.host.input(target.id, (p) => {
      if (op.op.type === 'read') {
        const request_id = `${c.id}#${op.seq}#${attempt}`;
        const r = p.core.readIndex(request_id);
        if (r.ok) p.pending_reads.set(request_id, { client: c.index, seq: op.seq, key: op.op.key });
        else refused = { leader: r.leader };
      } else {
        const command: KvCommand = { client: c.id, seq: op.seq, op: op.op };
        const r = p.core.propose(command);
        if (r.ok) p.pending_writes.set(`${c.id}#${op.seq}`, c.index);
        else refused = { leader: r.leader };
      }
    });
    const timeout = (): void => this.clientRetry(c, op.seq, attempt, true);
    if (outcome !== 'handled') {
      // No answer now: the client notices only by its attempt timeout.
      this.scheduler.after(this.config.client_attempt_timeout_ms, timeout);
      return;
    }
    if (c.current !== op || c.attempt !== attempt) return; // answered synchronously (one-node cluster)
    if (refused !== null) {
      const leader: string | null = (refused as { leader: string | null }).leader;
      c.leader_hint = leader !== null && this.host.has(leader) ? leader : null;
      const backoff = this.rng.int(client_retry_backoff_ms_min, client_retry_backoff_ms_max);
      this.scheduler.after(backoff, () => this.clientRetry(c, op.seq, attempt, false));
    } else {
      c.leader_hint = target.id;
      this.scheduler.after(this.config.client_attempt_timeout_ms, timeout);
    }
  }

  private complete(c: SimClient, seq: number, result: KvResult, served_index: number | null): void {
    const op = c.current;
    if (op === null || op.seq !== seq) return; // a late answer to an operation the client gave up on
    op.complete_ms = this.now_ms;
    op.result = result;
    op.served_index = served_index;
    c.current = null;
    this.stats.ops_acked++;
    if (op.op.type === 'read') this.stats.reads_acked++;
    else if (result.type !== 'error') this.stats.writes_acked++;
    this.scheduleNextOp(c);
  }

  private scheduleNextOp(c: SimClient): void {
    this.scheduler.after(this.rng.int(0, this.config.client_think_ms_max), () => this.clientStart(c));
  }

  // ---- safety checks ----------------------------------------------------------------------------

  private observe(node: RaftNode, n: RaftProcess, st: StateReport): void {
    const core = n.core;
    if (st.term > this.stats.max_term) this.stats.max_term = st.term;
    if (st.commit_index > this.max_commit) this.max_commit = st.commit_index;
    if (st.role === 'leader') {
      // Election safety: at most one leader per term.
      const other = this.leader_of_term.get(st.term);
      if (other !== undefined && other !== node.id) {
        throw this.failure('election safety', `${node.id} and ${other} are both leaders of term ${st.term}`);
      }
      const newly = n.seen_role !== 'leader' || n.seen_term !== st.term;
      if (newly) {
        this.leader_of_term.set(st.term, node.id);
        this.stats.leaders_elected++;
        if (this.stats.first_leader_ms === null) this.stats.first_leader_ms = this.now_ms;
        // Leader completeness: a new leader holds every entry committed so far.
        for (let i = st.snapshot_index + 1; i <= this.max_commit; i++) {
          const committed = this.applied_log[i];
          const mine = core.entryAt(i);
          if (committed !== undefined && (mine === undefined || !sameEntry(mine, committed))) {
            throw this.failure(
              'leader completeness',
              `${node.id} became leader of term ${st.term} without committed entry ${describeEntry(committed)} (it has ${mine ? describeEntry(mine) : 'nothing'})`,
            );
          }
        }
        if (this.max_commit < st.snapshot_index) {
          throw this.failure('leader completeness', `${node.id} has a snapshot beyond anything committed`);
        }
      } else if (n.leader_mark !== null) {
        // Leader append-only: while leader, nothing it had is removed or replaced.
        const mark = n.leader_mark;
        if (st.log_last_index < mark.index) {
          throw this.failure('leader append-only', `${node.id} (leader, term ${st.term}) log shrank from ${mark.index} to ${st.log_last_index}`);
        }
        if (mark.index > st.snapshot_index && core.entryAt(mark.index) !== mark.entry) {
          throw this.failure('leader append-only', `${node.id} (leader, term ${st.term}) replaced its entry ${mark.index}`);
        }
      }
      n.leader_mark = { index: st.log_last_index, entry: core.entryAt(st.log_last_index) };
    } else {
      n.leader_mark = null;
    }
    n.seen_role = st.role;
    n.seen_term = st.term;
  }

  /** Log matching: if two logs hold an entry with the same index and term, they are identical up to it. */
  private checkLogMatching(): void {
    // Paused nodes too: their logs are in memory and must match as well.
    const live = this.nodes.filter((n) => n.core !== null);
    for (let a = 0; a < live.length; a++) {
      for (let b = a + 1; b < live.length; b++) {
        const x = live[a]!.core!.core;
        const y = live[b]!.core!.core;
        const lo = Math.max(x.state().log_first_index, y.state().log_first_index);
        let j = Math.min(x.lastIndex(), y.lastIndex());
        while (j >= lo && x.termAt(j) !== y.termAt(j)) j--;
        for (let i = lo; i <= j; i++) {
          const ex = x.entryAt(i)!;
          const ey = y.entryAt(i)!;
          if (!sameEntry(ex, ey)) {
            throw this.failure(
              'log matching',
              `${live[a]!.id} and ${live[b]!.id} agree on entry ${j} (term ${x.termAt(j)}) but differ at ${i}: ${describeEntry(ex)} vs ${describeEntry(ey)}`,
            );
          }
        }
      }
    }
  }

  private isConverged(): boolean {
    if (this.clients.some((c) => c.current !== null)) return false;
    const cores = this.nodes.map((n) => (n.status === 'up' ? n.core!.core : null));
    if (cores.some((c) => c === null)) return false;
    const states = cores.map((c) => c!.state());
    const leader = states.find((s) => s.role === 'leader');
    if (!leader) return false;
    const last = leader.log_last_index;
    return states.every((s) => s.term === leader.term && s.commit_index === last && s.last_applied === last);
  }

  private finalChecks(): void {
    this.checkLogMatching();
    const final_commit = this.nodes[0]!.core!.core.state().commit_index;
    this.stats.final_commit_index = final_commit;
    for (const n of this.nodes) {
      if (n.core!.applied !== final_commit) throw this.failure('agreement', `${n.id} applied ${n.core!.applied}, others ${final_commit}`);
    }
    // Replay the agreed log on a fresh state machine.
    const model = new KvStateMachine();
    /** Where and how each command first took effect in the agreed log. */
    const first_result = new Map<string, { result: KvResult; index: number }>();
    const reads = this.history
      .filter((h) => h.op.type === 'read' && h.result !== null && h.served_index !== null)
      .sort((a, b) => a.served_index! - b.served_index!);
    let r = 0;
    const checkReadsAt = (index: number): void => {
      while (r < reads.length && reads[r]!.served_index === index) {
        const read = reads[r++]!;
        // Linearizability of ReadIndex reads: served from a state that includes every write completed
        // before the read began (anything committed anywhere by then), and the value is that state's.
        if (index < read.commit_at_invoke) {
          throw this.failure(
            'linearizability',
            `${read.client} read ${canonicalJson(read.op.key)} at t=${read.invoke_ms}ms from state ${index}, but ${read.commit_at_invoke} was already committed (stale read)`,
          );
        }
        const expected = model.read(read.op.key);
        if (canonicalJson(expected) !== canonicalJson(read.result)) {
          throw this.failure(
            'linearizability',
            `${read.client} read ${canonicalJson(read.result)} at index ${index}, the agreed state there is ${canonicalJson(expected)}`,
          );
        }
      }
    };
    checkReadsAt(0);
    for (let i = 1; i <= final_commit; i++) {
      const e = this.applied_log[i];
      if (e === undefined) throw this.failure('agreement', `no node applied committed index ${i}`);
      if (e.op !== null) {
        const { result, duplicate } = model.apply(e.op);
        const cmd = e.op as KvCommand;
        if (!duplicate) first_result.set(`${cmd.client}#${cmd.seq}`, { result, index: i });
      }
      checkReadsAt(i);
    }
    if (r < reads.length) throw this.failure('linearizability', `a read was served from index ${reads[r]!.served_index} beyond the final commit ${final_commit}`);
    const agreed = canonicalJson(model.snapshot());
    for (const n of this.nodes) {
      if (canonicalJson(n.core!.kv.snapshot()) !== agreed) throw this.failure('agreement', `${n.id}'s kv state differs from the agreed log's`);
    }
    // Linearizability of the whole history: the agreed log order, with each read placed at the index
    // it was served from, must respect real time. A read is checked above; a mutating command must
    // take effect after everything committed before it was invoked (and before its answer, which
    // comes from applying it). Every acknowledged one took effect exactly once, with the result the
    // client was given.
    for (const h of this.history) {
      if (h.op.type === 'read') continue;
      const effect = first_result.get(`${h.client}#${h.seq}`);
      if (effect !== undefined && effect.index <= h.commit_at_invoke) {
        throw this.failure(
          'linearizability',
          `${h.client} seq ${h.seq} took effect at index ${effect.index}, but ${h.commit_at_invoke} was committed before it was invoked`,
        );
      }
      if (h.result === null) continue;
      if (effect === undefined) {
        throw this.failure('lost write', `${h.client} seq ${h.seq} ${canonicalJson(h.op)} was acknowledged but is not in the agreed log`);
      }
      if (canonicalJson(effect.result) !== canonicalJson(h.result)) {
        throw this.failure('lost write', `${h.client} seq ${h.seq} was answered ${canonicalJson(h.result)} but took effect as ${canonicalJson(effect.result)}`);
      }
    }
  }

  private describeNodes(): string {
    return this.nodes
      .map((n) => {
        if (n.core === null) return `${n.id}: down`;
        const s = n.core.core.state();
        return `${n.id}${n.status === 'paused' ? ' (paused)' : ''}: ${s.role} t${s.term} commit ${s.commit_index} last ${s.log_last_index} leader ${s.leader ?? '-'}`;
      })
      .join('; ');
  }

  private failure(kind: string, detail: string): SimulationFailure {
    return new SimulationFailure(this.config.seed, kind, `${detail} [t=${this.now_ms}ms, event ${this.scheduler.events_run}]`);
  }
}

function sameEntry(a: LogEntry, b: LogEntry): boolean {
  // A JSON round trip keeps key order, so plain JSON text is enough once the references differ.
  return a.index === b.index && a.term === b.term && (a.op === b.op || JSON.stringify(a.op) === JSON.stringify(b.op));
}

function describeEntry(e: LogEntry): string {
  return `#${e.index} t${e.term} ${e.op === null ? 'noop' : canonicalJson(e.op)}`;
}
