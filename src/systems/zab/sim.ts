// A Zab ensemble under the simulator (src/lib/sim): voters and observers as ZabCore instances in one
// process, virtual time, one seeded PRNG, the router's FaultModel on the network, crashes that keep only
// what a server persisted through Ready, pauses, and clients writing through any server (a learner
// forwards to the leader; the client's answer comes when its server delivers the txn, as in ZooKeeper).
// Faults come from a Zab-aimed source (it crashes, isolates and pauses the leader more often than
// chance would) or from the very schedule `dslab nemesis --seed S` runs against real processes.
//
// Checks, while it runs: at most one established leader per epoch; every server's delivered txns are
// a prefix of one sequence (agreement and total order), and that sequence only grows in zxid order
// with each epoch's counters 1, 2, 3, ... (primary order: a leader's txns in the order it proposed
// them, after everything delivered in earlier epochs); a new leader's history holds everything
// delivered anywhere (no committed txn lost); every txn delivered is one a leader proposed at that
// zxid; no acknowledgement (ACKEPOCH, NEWLEADER's ACK, a proposal's ACK) runs ahead of the disk.
// At the end (every fault healed, every server up): one leader, everyone synced and delivered the
// whole sequence, every write acknowledged to a client in it. A failure names the seed that replays it.

import type { ControlAction } from '../../lib/control/api.js';
import { nemesisSchedule } from '../../lib/faults/nemesis.js';
import { applySimFault, SimNemesis, type FaultOutcome, type SimFaultHooks } from '../../lib/sim/faults.js';
import { SimHost, type CoreStart, type SimDriver, type SimNode } from '../../lib/sim/host.js';
import { Scheduler } from '../../lib/sim/scheduler.js';
import { createRng, draws, type Draws } from '../../lib/util/prng.js';
import { ZabCore, ZabInvariantError, type LoggedTxn, type PlantedBug, type Ready, type ServerConfig, type Snapshot, type ZabConfig, type ZabMessage } from './core/core.js';
import { DigestMachine, type DigestImage } from './core/state-machine.js';
import type { SessionTracker } from './core/sessions.js';
import type { TreeImage, ZkTxn } from './core/tree.js';
import { ZkReplica } from './core/watches.js';
import { compareZxid, formatZxid, zxid_zero, zxidEquals, type Zxid } from './core/zxid.js';
import { ZkWorkload, type ZkWorkloadStats } from './zk-sim.js';

// ---- limits -------------------------------------------------------------------------------------

/** Clients start their first write within this window. */
const client_start_ms_max = 50;
/** A client refused by a server (not ready) tries another after a short random pause. */
const client_retry_backoff_ms_min = 5;
const client_retry_backoff_ms_max = 30;
/** How often the end phase checks whether the ensemble converged. */
const converge_check_interval_ms = 20;
/** Share of schedules that run `dslab nemesis`'s own fault schedule instead of the Zab-aimed faults. */
const nemesis_schedule_share = 0.3;
const nemesis_schedule_interval_ms_min = 100;
const nemesis_schedule_interval_ms_max = 400;

// ---- configuration ------------------------------------------------------------------------------

export interface ZabSimConfig {
  seed: number;
  voter_count: number;
  observer_count: number;
  zab: Partial<ZabConfig>;
  /** Faults happen during this phase; then everything heals and crashed servers restart. */
  fault_phase_ms: number;
  /** Fault-free time after the fault phase; clients stop issuing new writes halfway through. */
  settle_ms: number;
  /** After settle_ms, how long the ensemble may take to converge before it counts as a liveness failure. */
  converge_ms_max: number;
  message_delay_ms_min: number;
  message_delay_ms_max: number;
  message_loss_rate: number;
  message_duplicate_rate: number;
  nemesis_interval_ms_min: number;
  nemesis_interval_ms_max: number;
  partitions: boolean;
  crashes: boolean;
  pauses: boolean;
  crash_down_ms_min: number;
  crash_down_ms_max: number;
  pause_ms_min: number;
  pause_ms_max: number;
  /** Instead of the Zab-aimed faults, run `dslab nemesis --seed <seed> --interval <interval_ms>`'s schedule. */
  nemesis_schedule: { seed: number; interval_ms: number } | null;
  client_count: number;
  client_think_ms_max: number;
  /** A client that hears nothing for this long writes again (a new txn: the first may still commit). */
  client_attempt_timeout_ms: number;
  /** A client gives up on a write after this long; its outcome is then unknown. */
  client_op_timeout_ms: number;
  /** Servers snapshot once this many txns were delivered since the last one (0: never). */
  compact_after_txns: number;
  /** Round-trip every message and the durable state through JSON, as a real runtime would. */
  serialize: boolean;
  /** Check that no acknowledgement leaves before what it acknowledges is on disk. */
  check_acks_against_disk: boolean;
  /** Kill the leader once more shortly after the heal (and restart it): a re-election with every
   * server back, some of them lagging, which must still end with one leader and everyone synced. */
  final_leader_crash: boolean;
  /** With crashes on: the chance that a leader that just chose a new epoch, or a learner that just
   * synced, is killed a few ms later (recovery interrupted, where Zab's subtle bugs live). */
  recovery_crash_chance: number;
  /** Clients hold ZooKeeper sessions, write znode txns and read with watches (zk-sim.ts); off, their
   * writes carry no znode txn and every server's tree stays empty. */
  zk_clients: boolean;
}

/** A schedule with faults, drawn from the seed. */
export function randomZabSimConfig(seed: number): ZabSimConfig {
  const r = draws(createRng(seed ^ 0x2ab5eed));
  const ping = r.int(20, 40);
  const sync_limit = ping * r.int(4, 6);
  const delay_min = r.int(1, 4);
  const nemesis_min = r.int(30, 300);
  const config: ZabSimConfig = {
    seed,
    voter_count: r.pick([3, 3, 3, 5, 5]),
    observer_count: r.pick([0, 0, 1, 2]),
    zab: {
      ping_interval_ms: ping,
      sync_limit_ms: sync_limit,
      init_limit_ms: sync_limit * 2,
      learner_retry_ms: r.int(20, 40),
      finalize_wait_ms: r.int(10, 40),
      notification_interval_ms_min: r.int(20, 50),
      notification_interval_ms_max: r.int(200, 400),
    },
    fault_phase_ms: r.int(800, 2000),
    settle_ms: 600,
    converge_ms_max: 4000,
    message_delay_ms_min: delay_min,
    message_delay_ms_max: delay_min + r.int(0, 20),
    message_loss_rate: r.pick([0, 0.02, 0.1, 0.2]),
    message_duplicate_rate: r.pick([0, 0.05, 0.2]),
    nemesis_interval_ms_min: nemesis_min,
    nemesis_interval_ms_max: nemesis_min + r.int(60, 900),
    partitions: r.chance(0.8),
    crashes: r.chance(0.8),
    pauses: r.chance(0.5),
    crash_down_ms_min: 20,
    crash_down_ms_max: 500,
    pause_ms_min: 20,
    pause_ms_max: 500,
    nemesis_schedule: null,
    client_count: r.int(1, 3),
    client_think_ms_max: r.int(0, 30),
    client_attempt_timeout_ms: 150,
    client_op_timeout_ms: 500,
    compact_after_txns: r.pick([0, 3, 10, 40]),
    serialize: r.chance(0.2),
    check_acks_against_disk: true,
    final_leader_crash: r.chance(0.5),
    recovery_crash_chance: r.pick([0, 0.1, 0.3, 0.5]),
    zk_clients: false,
  };
  if (r.chance(nemesis_schedule_share)) {
    config.nemesis_schedule = { seed, interval_ms: r.int(nemesis_schedule_interval_ms_min, nemesis_schedule_interval_ms_max) };
    config.partitions = false;
    config.crashes = false;
    config.pauses = false;
    config.message_loss_rate = 0;
    config.message_duplicate_rate = 0;
    // Nothing but the schedule touches the servers.
    config.final_leader_crash = false;
  }
  return config;
}

/** A schedule without any fault: used to check progress (a leader is established, every write commits). */
export function faultFreeZabSimConfig(seed: number): ZabSimConfig {
  return {
    ...randomZabSimConfig(seed),
    message_loss_rate: 0,
    message_duplicate_rate: 0,
    partitions: false,
    crashes: false,
    pauses: false,
    nemesis_schedule: null,
    final_leader_crash: false,
    client_op_timeout_ms: 2000,
  };
}

/** The same schedule with a bug planted in every server's core. */
export function withPlantedBug(config: ZabSimConfig, bug: PlantedBug): ZabSimConfig {
  return { ...config, zab: { ...config.zab, test_planted_bug: bug } };
}

// ---- results ------------------------------------------------------------------------------------

export interface ZabSimStats {
  events: number;
  messages_sent: number;
  messages_lost: number;
  messages_duplicated: number;
  messages_partitioned: number;
  crashes: number;
  restarts: number;
  partitions: number;
  pauses: number;
  nemesis_steps: number;
  nemesis_refused: number;
  elections: number;
  leaders_established: number;
  max_epoch: number;
  syncs_diff: number;
  syncs_trunc: number;
  syncs_snap: number;
  txns_truncated: number;
  compactions: number;
  writes_invoked: number;
  writes_acked: number;
  writes_indeterminate: number;
  txns_delivered: number;
  first_established_ms: number | null;
  end_ms: number;
}

export interface ZabSimResult {
  seed: number;
  config: ZabSimConfig;
  stats: ZabSimStats;
  /** The agreed sequence of delivered txns (zxid "epoch:counter" and the txn). */
  delivered: { zxid: string; txn: unknown }[];
  /** With zk_clients: the sessions, reads and watch events the ZooKeeper clients saw. */
  zk: ZkWorkloadStats | null;
}

export class ZabSimulationFailure extends Error {
  constructor(
    readonly seed: number,
    readonly kind: string,
    detail: string,
  ) {
    super(`zab simulation seed ${seed} failed (${kind}): ${detail}`);
    this.name = 'ZabSimulationFailure';
  }
}

// ---- internals ----------------------------------------------------------------------------------

interface Durable {
  accepted_epoch: number;
  current_epoch: number;
  snapshot: Snapshot | null;
  log: LoggedTxn[];
}

/** A client write: who wrote it, which write, which attempt, through which server. */
interface WriteTxn {
  c: string;
  s: number;
  a: number;
  o: string;
  /** The znode txn the write carries (zk_clients). */
  zk?: ZkTxn;
}

interface ZabProcess {
  id: string;
  core: ZabCore;
  sm: DigestMachine;
  /** Where in the agreed sequence this process's next delivery goes. */
  position: number;
  /** Writes this server accepted from clients: `${client}#${seq}#${attempt}` -> client index. */
  pending: Map<string, number>;
  delivered_since_snapshot: number;
  /** The znode tree and this server's watches, driven by the same deliveries. */
  zk: ZkReplica;
  zk_connection: number;
  tracker: SessionTracker | null;
}

type ZabNode = SimNode<ZabProcess, Durable>;

interface SimClient {
  index: number;
  id: string;
  seq: number;
  attempt: number;
  /** The write in progress: its seq and when it was invoked. */
  current: { seq: number; invoke_ms: number; zk: ZkTxn | undefined } | null;
}

export function runZabSimulation(config: ZabSimConfig): ZabSimResult {
  return new ZabSimulation(config).run();
}

export class ZabSimulation implements SimDriver<ZabProcess, ZabMessage, Ready, Durable> {
  readonly config: ZabSimConfig;
  private readonly scheduler: Scheduler;
  private readonly rng: Draws;
  private readonly host: SimHost<ZabProcess, ZabMessage, Ready, Durable>;
  private readonly nodes: ZabNode[];
  private readonly servers: ServerConfig[];
  private readonly clients: SimClient[] = [];
  private readonly hooks: SimFaultHooks;
  private nemesis: SimNemesis | null = null;
  private faults_active = true;
  private clients_stopped = false;
  private converged = false;

  // Global knowledge for the checks.
  /** The agreed sequence: every server's deliveries must be a prefix of it. */
  private readonly sequence: LoggedTxn[] = [];
  private readonly sequence_text: string[] = [];
  private readonly position_of = new Map<string, number>();
  /** The state machine's digest after each position of the sequence. */
  private readonly digest_at: number[] = [];
  /** The znode tree's digest after each position of the sequence. */
  private readonly tree_digest_at: number[] = [];
  private readonly zk: ZkWorkload<ZabProcess> | null;
  private zk_connections = 0;
  private expiries_proposed = 0;
  /** What each zxid's leader proposed. */
  private readonly proposed = new Map<string, string>();
  private readonly established_by = new Map<number, string>();
  /** Writes acknowledged to clients: `${client}#${seq}#${attempt}`. */
  private readonly acked_writes: string[] = [];

  readonly stats: ZabSimStats = {
    events: 0,
    messages_sent: 0,
    messages_lost: 0,
    messages_duplicated: 0,
    messages_partitioned: 0,
    crashes: 0,
    restarts: 0,
    partitions: 0,
    pauses: 0,
    nemesis_steps: 0,
    nemesis_refused: 0,
    elections: 0,
    leaders_established: 0,
    max_epoch: 0,
    syncs_diff: 0,
    syncs_trunc: 0,
    syncs_snap: 0,
    txns_truncated: 0,
    compactions: 0,
    writes_invoked: 0,
    writes_acked: 0,
    writes_indeterminate: 0,
    txns_delivered: 0,
    first_established_ms: null,
    end_ms: 0,
  };

  constructor(config: ZabSimConfig) {
    this.config = config;
    this.scheduler = new Scheduler(config.seed);
    this.rng = draws(this.scheduler.rng);
    const voters = Array.from({ length: config.voter_count }, (_, i) => `n${i + 1}`);
    const observers = Array.from({ length: config.observer_count }, (_, i) => `o${i + 1}`);
    const ids = [...voters, ...observers];
    this.servers = ids.map((id, i) => ({ id, sid: i + 1, observer: i >= voters.length }));
    this.host = new SimHost(this.scheduler, ids, this, {
      network: { latency_ms_min: config.message_delay_ms_min, latency_ms_max: config.message_delay_ms_max, serialize: config.serialize },
    });
    this.nodes = this.host.nodes;
    for (let c = 0; c < config.client_count; c++) this.clients.push({ index: c, id: `c${c + 1}`, seq: 0, attempt: 0, current: null });
    this.hooks = { leader: () => this.leader() };
    this.zk = config.zk_clients
      ? new ZkWorkload<ZabProcess>(
          {
            now: () => this.now_ms,
            after: (ms, run) => this.scheduler.after(ms, run),
            draw: this.rng,
            serverIds: ids,
            onServer: (id, fn) => this.host.input(id, fn) === 'handled',
            leaderIdOf: (p) => p.core.report().leader,
            done: () => this.converged,
            failure: (kind, detail) => this.failure(kind, detail),
          },
          this.clients.map((c) => c.id),
        )
      : null;
  }

  private get now_ms(): number {
    return this.scheduler.now_ms;
  }

  run(): ZabSimResult {
    try {
      this.runEvents();
      this.finalChecks();
    } catch (err) {
      if (err instanceof ZabSimulationFailure) throw err;
      if (err instanceof ZabInvariantError) throw this.failure('core invariant', err.message);
      throw this.failure('exception', err instanceof Error ? (err.stack ?? err.message) : String(err));
    }
    this.collectStats();
    return {
      seed: this.config.seed,
      config: this.config,
      stats: this.stats,
      delivered: this.sequence.map((t) => ({ zxid: formatZxid(t.zxid), txn: t.txn })),
      zk: this.zk?.stats ?? null,
    };
  }

  private runEvents(): void {
    const cfg = this.config;
    const at = (time: number, run: () => void): void => this.scheduler.at(time, run);
    this.setBackgroundLinkFaults();
    for (const n of this.nodes) this.host.start(n.id);
    for (const c of this.clients) at(this.rng.int(0, client_start_ms_max), () => this.clientStart(c));
    if (cfg.nemesis_schedule) {
      const { seed, interval_ms } = cfg.nemesis_schedule;
      const steps = nemesisSchedule(seed, this.host.nodeIds, interval_ms, cfg.fault_phase_ms - 1);
      this.nemesis = new SimNemesis(this.scheduler, steps, (action) => this.fault(action), 0);
    } else {
      at(this.rng.int(cfg.nemesis_interval_ms_min, cfg.nemesis_interval_ms_max), () => this.nemesisTick());
    }
    const heal_at = cfg.fault_phase_ms;
    const settle_end = heal_at + cfg.settle_ms;
    at(heal_at, () => this.healAll());
    if (cfg.final_leader_crash) {
      at(heal_at + Math.floor(cfg.settle_ms / 5), () => {
        const leader = this.leader();
        if (leader === null) return;
        this.fault({ type: 'kill', node: leader });
        this.scheduler.after(this.rng.int(cfg.crash_down_ms_min, 80), () => this.fault({ type: 'restart', node: leader }));
      });
    }
    at(heal_at + Math.floor(cfg.settle_ms / 2), () => {
      this.clients_stopped = true;
    });
    at(settle_end, () => this.convergeCheck());
    const deadline = settle_end + cfg.converge_ms_max;
    while (!this.converged) {
      if (!this.scheduler.step(deadline)) {
        if (this.scheduler.pending === 0) throw this.failure('liveness', 'event queue ran dry');
        throw this.failure('liveness', `the ensemble did not converge within ${cfg.converge_ms_max}ms after settling: ${this.describeNodes()}${this.describeLeftoverSessions()}`);
      }
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
    this.stats.messages_lost = net.dropped_loss + net.dropped_overflow + host.dropped_inbox_full;
    this.stats.messages_duplicated = net.duplicated;
    this.stats.messages_partitioned = net.dropped_partition;
    this.stats.crashes = host.crashes;
    this.stats.restarts = host.starts - this.nodes.length;
    this.stats.pauses = host.pauses;
    this.stats.nemesis_steps = this.nemesis?.counters.steps ?? 0;
    this.stats.nemesis_refused = this.nemesis?.counters.refused ?? 0;
    this.stats.txns_delivered = this.sequence.length;
  }

  // ---- the driver: how the generic host runs a Zab server ---------------------------------------

  emptyDurable(): Durable {
    return { accepted_epoch: 0, current_epoch: 0, snapshot: null, log: [] };
  }

  start(start: CoreStart<Durable>): ZabProcess {
    const d = this.config.serialize ? (JSON.parse(JSON.stringify(start.durable)) as Durable) : { ...start.durable, log: start.durable.log.slice() };
    const core = new ZabCore({ id: start.id, servers: this.servers, config: this.config.zab, persisted: d, random: start.random, now_ms: start.now_ms });
    return { id: start.id, core, sm: new DigestMachine(), position: 0, pending: new Map(), delivered_since_snapshot: 0, zk: new ZkReplica(), zk_connection: ++this.zk_connections, tracker: null };
  }

  tick(p: ZabProcess, now_ms: number): void {
    p.core.tick(now_ms);
    this.zk?.onTick(p, p.core.isEstablishedLeader(), (zk) => {
      const txn: WriteTxn = { c: 'expire', s: ++this.expiries_proposed, a: 1, o: p.id, zk };
      return p.core.propose(txn).ok;
    });
  }

  step(p: ZabProcess, from: string, message: ZabMessage): void {
    p.core.step(from, message);
  }

  ready(p: ZabProcess): Ready | null {
    return p.core.hasReady() ? p.core.ready() : null;
  }

  messages(rd: Ready): Ready['messages'] {
    return rd.messages;
  }

  nextTimerMs(p: ZabProcess): number {
    return p.core.nextTimerMs();
  }

  /** The Ready's durable writes, in the order a real runtime makes them; then no ack may claim more than the disk holds. */
  persist(n: ZabNode, rd: Ready): void {
    const d = n.durable;
    if (rd.accepted_epoch !== null) {
      if (rd.accepted_epoch < d.accepted_epoch) throw this.failure('persistence', `${n.id} persisted a lower accepted epoch`);
      d.accepted_epoch = rd.accepted_epoch;
    }
    if (rd.current_epoch !== null) {
      if (rd.current_epoch < d.current_epoch) throw this.failure('persistence', `${n.id} persisted a lower current epoch`);
      d.current_epoch = rd.current_epoch;
    }
    if (rd.snapshot) {
      const s = rd.snapshot;
      d.snapshot = s;
      d.log = d.log.filter((t) => compareZxid(t.zxid, s.zxid) > 0);
    }
    if (rd.log_truncate_after !== null) {
      const cut = rd.log_truncate_after;
      let keep = d.log.length;
      while (keep > 0 && compareZxid(d.log[keep - 1]!.zxid, cut) > 0) keep--;
      d.log.length = keep;
      for (const t of rd.log_append) {
        const last = d.log[d.log.length - 1]?.zxid ?? d.snapshot?.zxid ?? zxid_zero;
        if (compareZxid(t.zxid, last) <= 0) throw this.failure('persistence', `${n.id} appends ${formatZxid(t.zxid)} after ${formatZxid(last)}`);
        d.log.push(t);
      }
    } else if (rd.log_append.length > 0) {
      throw this.failure('persistence', `${n.id} Ready appends without log_truncate_after`);
    }
    if (rd.state.role === 'leading') this.recordProposals(n, rd);
    if (this.config.check_acks_against_disk) this.checkAcksOnDisk(n, rd);
  }

  /** An acknowledgement is a promise about the disk: ACKEPOCH (the epoch accepted), ACK (current epoch and txns logged). */
  private checkAcksOnDisk(n: ZabNode, rd: Ready): void {
    const d = n.durable;
    const last = d.log[d.log.length - 1]?.zxid ?? d.snapshot?.zxid ?? zxid_zero;
    for (const m of rd.messages) {
      const b = m.body;
      if (b.type === 'ackepoch' && d.accepted_epoch < b.epoch) {
        throw this.failure('durability', `${n.id} sent ACKEPOCH for epoch ${b.epoch} with accepted epoch ${d.accepted_epoch} on disk`);
      }
      if (b.type === 'ack' && (d.current_epoch < b.epoch || compareZxid(last, b.zxid) < 0)) {
        throw this.failure(
          'durability',
          `${n.id} acknowledged ${formatZxid(b.zxid)} in epoch ${b.epoch} with current epoch ${d.current_epoch} and last zxid ${formatZxid(last)} on disk`,
        );
      }
    }
  }

  /** A leader's own new txns: what it proposed at each zxid (a zxid proposed twice differently is two leaders in one epoch). */
  private recordProposals(n: ZabNode, rd: Ready): void {
    const epoch = n.core!.core.activeEpoch();
    for (const t of rd.log_append) {
      if (t.zxid.epoch !== epoch) continue;
      const key = formatZxid(t.zxid);
      const text = JSON.stringify(t.txn);
      const seen = this.proposed.get(key);
      if (seen === undefined) this.proposed.set(key, text);
      else if (seen !== text) throw this.failure('one leader per epoch', `zxid ${key} proposed as ${seen} and as ${text} (by ${n.id})`);
    }
  }

  handle(n: ZabNode, rd: Ready): void {
    const p = n.core!;
    if (rd.apply_snapshot) this.restore(n, p, rd.apply_snapshot);
    for (const t of rd.committed) this.deliver(n, p, t);
    for (const e of rd.events) {
      switch (e.type) {
        case 'looking':
          this.stats.elections++;
          break;
        case 'established':
          this.onEstablished(n, p, e.epoch);
          this.zk?.onEstablished(p);
          break;
        case 'new_epoch':
          this.maybeRecoveryCrash(n);
          break;
        case 'synced':
          this.maybeRecoveryCrash(n);
          if (e.mode === 'DIFF') this.stats.syncs_diff++;
          else if (e.mode === 'TRUNC') this.stats.syncs_trunc++;
          else this.stats.syncs_snap++;
          this.stats.txns_truncated += e.truncated_txns;
          break;
        default:
          break;
      }
    }
    this.stats.max_epoch = Math.max(this.stats.max_epoch, rd.state.accepted_epoch);
    const k = this.config.compact_after_txns;
    if (k > 0 && p.delivered_since_snapshot >= k) {
      const image: SimImage = { digest: p.sm.snapshot(), tree: p.zk.tree.snapshot() };
      p.core.compact(p.sm.applied_zxid, image);
      p.delivered_since_snapshot = 0;
      this.stats.compactions++;
    }
  }

  private restore(n: ZabNode, p: ZabProcess, s: Snapshot): void {
    const { digest: image, tree } = s.data as SimImage;
    if (!zxidEquals(image.zxid, s.zxid)) throw this.failure('snapshot', `${n.id} snapshot at ${formatZxid(s.zxid)} holds an image of ${formatZxid(image.zxid)}`);
    const at = this.position_of.get(formatZxid(s.zxid));
    if (at === undefined) throw this.failure('agreement', `${n.id} restored a snapshot at ${formatZxid(s.zxid)}, which no server delivered`);
    if (image.count !== at + 1 || image.digest !== this.digest_at[at]) {
      throw this.failure('agreement', `${n.id} restored a snapshot at ${formatZxid(s.zxid)} whose state differs from the agreed sequence's there`);
    }
    if (at + 1 < p.position) throw this.failure('agreement', `${n.id} restored a snapshot behind what it delivered`);
    const zk = ZkReplica.restore(tree);
    if (zk.tree.digest() !== this.tree_digest_at[at]) throw this.failure('agreement', `${n.id} restored a znode tree at ${formatZxid(s.zxid)} that differs from the agreed tree there`);
    p.sm = DigestMachine.restore(image);
    // The server's watches are gone with its old tree: its clients are disconnected.
    p.zk = zk;
    p.zk_connection = ++this.zk_connections;
    p.position = at + 1;
    p.delivered_since_snapshot = 0;
  }

  /** Agreement, total order and primary order, one delivery at a time. */
  private deliver(n: ZabNode, p: ZabProcess, t: LoggedTxn): void {
    const pos = p.position;
    const agreed_now = pos >= this.sequence.length;
    const key = formatZxid(t.zxid);
    const text = JSON.stringify(t.txn);
    if (pos < this.sequence.length) {
      const agreed = this.sequence[pos]!;
      if (!zxidEquals(agreed.zxid, t.zxid) || this.sequence_text[pos] !== text) {
        throw this.failure('agreement', `${n.id} delivered ${key} ${text} at position ${pos}, where another server delivered ${formatZxid(agreed.zxid)} ${this.sequence_text[pos]}`);
      }
    } else {
      const prev = this.sequence[pos - 1]?.zxid ?? zxid_zero;
      if (compareZxid(t.zxid, prev) <= 0) throw this.failure('total order', `${n.id} delivered ${key} after ${formatZxid(prev)}`);
      const expected = t.zxid.epoch === prev.epoch ? prev.counter + 1 : 1;
      if (t.zxid.counter !== expected) {
        throw this.failure('primary order', `${n.id} delivered ${key} after ${formatZxid(prev)}: a leader's txns skipped or out of the order it proposed them`);
      }
      const proposed = this.proposed.get(key);
      if (proposed !== text) throw this.failure('integrity', `${n.id} delivered ${key} ${text}, but its leader proposed ${proposed ?? 'nothing'} there`);
      this.sequence.push(t);
      this.sequence_text.push(text);
      this.position_of.set(key, pos);
    }
    const digest = p.sm.apply(t);
    if (pos < this.digest_at.length) {
      if (this.digest_at[pos] !== digest) throw this.failure('agreement', `${n.id}'s state after ${key} differs from the agreed state`);
    } else {
      this.digest_at.push(digest);
    }
    const w = t.txn as WriteTxn;
    const applied = p.zk.apply({ zxid: t.zxid, txn: w.zk ?? null });
    const broken = p.zk.tree.checkInvariants();
    if (broken !== null) throw this.failure('znode tree', `${n.id} after ${key}: ${broken}`);
    const tree_digest = p.zk.tree.digest();
    if (pos < this.tree_digest_at.length) {
      if (this.tree_digest_at[pos] !== tree_digest) throw this.failure('agreement', `${n.id}'s znode tree after ${key} differs from the agreed tree`);
    } else {
      this.tree_digest_at.push(tree_digest);
    }
    if (this.zk !== null) {
      if (agreed_now) this.zk.onAgreed(applied);
      this.zk.onDelivered(n.id, p, applied);
    }
    p.position = pos + 1;
    p.delivered_since_snapshot++;
    if (w.o === n.id) {
      const wkey = `${w.c}#${w.s}#${w.a}`;
      const client = p.pending.get(wkey);
      if (client !== undefined) {
        p.pending.delete(wkey);
        this.complete(this.clients[client]!, w.s, wkey);
      }
    }
  }

  /** At most one established leader per epoch, and it holds every txn delivered anywhere so far. */
  private onEstablished(n: ZabNode, p: ZabProcess, epoch: number): void {
    const other = this.established_by.get(epoch);
    if (other !== undefined && other !== n.id) throw this.failure('one leader per epoch', `${n.id} and ${other} both established epoch ${epoch}`);
    this.established_by.set(epoch, n.id);
    this.stats.leaders_established++;
    if (this.stats.first_established_ms === null) this.stats.first_established_ms = this.now_ms;
    const core = p.core;
    const snap = core.snapshotZxid();
    const log = core.txns();
    let i = 0;
    for (let pos = 0; pos < this.sequence.length; pos++) {
      const t = this.sequence[pos]!;
      if (compareZxid(t.zxid, snap) <= 0) continue;
      while (i < log.length && compareZxid(log[i]!.zxid, t.zxid) < 0) i++;
      const mine = log[i];
      if (mine === undefined || !zxidEquals(mine.zxid, t.zxid) || JSON.stringify(mine.txn) !== this.sequence_text[pos]) {
        throw this.failure('lost commit', `${n.id} established epoch ${epoch} without delivered txn ${formatZxid(t.zxid)} ${this.sequence_text[pos]}`);
      }
    }
    if (compareZxid(snap, zxid_zero) > 0 && !this.position_of.has(formatZxid(snap))) {
      throw this.failure('lost commit', `${n.id} established epoch ${epoch} on a snapshot at ${formatZxid(snap)} that no server delivered`);
    }
  }

  // ---- faults -----------------------------------------------------------------------------------

  private fault(action: ControlAction): FaultOutcome {
    const outcome = applySimFault(action, this.host, this.hooks);
    if (outcome.ok && action.type === 'partition') this.stats.partitions++;
    return outcome;
  }

  private setBackgroundLinkFaults(): void {
    const cfg = this.config;
    if (cfg.message_loss_rate + cfg.message_duplicate_rate === 0) return;
    this.fault({ type: 'link_faults', loss: cfg.message_loss_rate, duplicate: cfg.message_duplicate_rate });
  }

  /** The up server leading an established epoch, the highest such (the supervisor's rule for `leader`). */
  private leader(): string | null {
    let best: { id: string; epoch: number } | null = null;
    for (const n of this.nodes) {
      if (n.status !== 'up' || !n.core!.core.isEstablishedLeader()) continue;
      const epoch = n.core!.core.activeEpoch()!;
      if (best === null || epoch > best.epoch) best = { id: n.id, epoch };
    }
    return best?.id ?? null;
  }

  private victim(allowed: (n: ZabNode) => boolean, leader_share = 0.5): ZabNode | null {
    const candidates = this.nodes.filter(allowed);
    if (candidates.length === 0) return null;
    const leaders = candidates.filter((x) => x.status === 'up' && x.core!.core.report().role === 'leading');
    return leaders.length > 0 && this.rng.chance(leader_share) ? this.rng.pick(leaders) : this.rng.pick(candidates);
  }

  private nemesisTick(): void {
    if (!this.faults_active) return;
    this.zabNemesis();
    this.scheduler.after(this.rng.int(this.config.nemesis_interval_ms_min, this.config.nemesis_interval_ms_max), () => this.nemesisTick());
  }

  private zabNemesis(): void {
    const cfg = this.config;
    const actions: string[] = ['none'];
    if (cfg.partitions) actions.push('partition', 'isolate', 'heal', 'heal');
    if (cfg.crashes) actions.push('crash', 'crash', 'crash');
    if (cfg.pauses) actions.push('pause');
    switch (this.rng.pick(actions)) {
      case 'partition':
        this.fault({ type: 'partition', random: true });
        break;
      case 'isolate':
        this.fault({ type: 'partition', isolate: this.victim(() => true, 0.75)!.id });
        break;
      case 'heal':
        this.fault({ type: 'heal' });
        this.setBackgroundLinkFaults();
        break;
      case 'crash': {
        const victim = this.victim((x) => x.status !== 'down');
        if (victim === null) break;
        this.fault({ type: 'kill', node: victim.id });
        this.scheduler.after(this.rng.int(cfg.crash_down_ms_min, cfg.crash_down_ms_max), () => this.fault({ type: 'restart', node: victim.id }));
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
        break;
    }
  }

  private maybeRecoveryCrash(n: ZabNode): void {
    const cfg = this.config;
    if (!this.faults_active || !cfg.crashes || !this.rng.chance(cfg.recovery_crash_chance)) return;
    const starts = n.starts;
    this.scheduler.after(this.rng.int(0, 15), () => {
      if (!this.faults_active || n.starts !== starts || n.status === 'down') return;
      this.fault({ type: 'kill', node: n.id });
      this.scheduler.after(this.rng.int(cfg.crash_down_ms_min, cfg.crash_down_ms_max), () => this.fault({ type: 'restart', node: n.id }));
    });
  }

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

  private clientStart(c: SimClient): void {
    if (this.clients_stopped || c.current !== null) return;
    c.seq += 1;
    c.attempt = 0;
    c.current = { seq: c.seq, invoke_ms: this.now_ms, zk: this.zk?.nextTxn(c.index) };
    this.stats.writes_invoked++;
    const seq = c.seq;
    this.scheduler.after(this.config.client_op_timeout_ms, () => {
      if (c.current?.seq !== seq) return;
      // Unknown outcome: a txn it sent may still commit later.
      c.current = null;
      this.stats.writes_indeterminate++;
      this.scheduleNext(c);
    });
    this.clientAttempt(c);
  }

  private clientAttempt(c: SimClient): void {
    const op = c.current;
    if (op === null) return;
    c.attempt += 1;
    const attempt = c.attempt;
    const target = this.rng.pick(this.nodes);
    const txn: WriteTxn = { c: c.id, s: op.seq, a: attempt, o: target.id, ...(op.zk === undefined ? {} : { zk: op.zk }) };
    let accepted = false;
    const outcome = this.host.input(target.id, (p) => {
      const r = p.core.propose(txn);
      if (r.ok) {
        accepted = true;
        p.pending.set(`${c.id}#${op.seq}#${attempt}`, c.index);
      }
    });
    const retry = (): void => {
      if (c.current === op && c.attempt === attempt) this.clientAttempt(c);
    };
    if (outcome === 'handled' && !accepted) this.scheduler.after(this.rng.int(client_retry_backoff_ms_min, client_retry_backoff_ms_max), retry);
    else this.scheduler.after(this.config.client_attempt_timeout_ms, retry);
  }

  private complete(c: SimClient, seq: number, wkey: string): void {
    if (c.current?.seq !== seq) return; // a late answer to a write the client gave up on or wrote again
    c.current = null;
    this.stats.writes_acked++;
    this.acked_writes.push(wkey);
    this.scheduleNext(c);
  }

  private scheduleNext(c: SimClient): void {
    this.scheduler.after(this.rng.int(0, this.config.client_think_ms_max), () => this.clientStart(c));
  }

  // ---- the end ----------------------------------------------------------------------------------

  private isConverged(): boolean {
    if (this.clients.some((c) => c.current !== null)) return false;
    if (this.nodes.some((n) => n.status !== 'up')) return false;
    const leaders = this.nodes.filter((n) => n.core!.core.isEstablishedLeader());
    if (leaders.length !== 1) return false;
    const leader = leaders[0]!;
    const last = leader.core!.core.lastZxid();
    for (const n of this.nodes) {
      const core = n.core!.core;
      const st = core.report();
      if (n !== leader && (st.phase !== 'broadcast' || st.leader !== leader.id)) return false;
      if (!zxidEquals(core.committedZxid(), last) || n.core!.position !== this.sequence.length) return false;
    }
    // Every session no client uses any more must have expired.
    if (this.zk !== null && this.zk.leftoverSessions(leader.core!.zk) !== null) return false;
    return true;
  }

  private finalChecks(): void {
    const final = new Set(this.sequence.map((t) => { const w = t.txn as WriteTxn; return `${w.c}#${w.s}#${w.a}`; }));
    for (const w of this.acked_writes) if (!final.has(w)) throw this.failure('lost write', `write ${w} was acknowledged but is not in the agreed sequence`);
    const digest = this.digest_at[this.sequence.length - 1];
    for (const n of this.nodes) {
      const sm = n.core!.sm;
      if (sm.applied_count !== this.sequence.length || (digest !== undefined && sm.snapshot().digest !== digest)) {
        throw this.failure('agreement', `${n.id} ended with ${sm.applied_count} txns applied, the agreed sequence has ${this.sequence.length}`);
      }
      const tree_digest = this.tree_digest_at[this.sequence.length - 1];
      if (tree_digest !== undefined && n.core!.zk.tree.digest() !== tree_digest) throw this.failure('agreement', `${n.id} ended with a znode tree that differs from the agreed one`);
    }
  }

  private describeLeftoverSessions(): string {
    const leader = this.leader();
    const left = leader === null || this.zk === null ? null : this.zk.leftoverSessions(this.host.node(leader).core!.zk);
    return left === null ? '' : `; sessions no client uses that never expired: ${left}`;
  }

  private describeNodes(): string {
    return this.nodes
      .map((n) => {
        if (n.core === null) return `${n.id}: down`;
        const s = n.core.core.report();
        return `${n.id}${n.status === 'paused' ? ' (paused)' : ''}: ${s.role}/${s.phase} e${s.accepted_epoch}/${s.current_epoch} last ${s.last_zxid} commit ${s.committed_zxid} leader ${s.leader ?? '-'} round ${s.election_round}`;
      })
      .join('; ');
  }

  private failure(kind: string, detail: string): ZabSimulationFailure {
    return new ZabSimulationFailure(this.config.seed, kind, `${detail} [t=${this.now_ms}ms, event ${this.scheduler.events_run}]`);
  }
}

/** What a server's snapshot holds: the digest machine's image and the znode tree's. */
interface SimImage {
  digest: DigestImage;
  tree: TreeImage;
}

export type { Zxid };
