// A Zab ensemble under the simulator: many pure cores in one process on virtual time, with seeded faults
// and Zab's checks. No real I/O, clock or randomness: a seed replays a run.

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
//
// The run itself (fault sources, clients' timeouts and retries, heal, convergence, seed replay) is the
// shared ClusterSimulation (src/lib/sim/cluster-sim.ts); this file is Zab's model and checks.

import {
  ClusterSimFailure,
  ClusterSimulation,
  drawFaultSchedule,
  drawNemesisSchedule,
  fault_counters_zero,
  fault_free_overrides,
  fixed_schedule_fields,
  message_loss_counters_zero,
  type ClusterSimConfig,
  type ClusterSimStats,
  type FaultScheduleRanges,
  type SimClient,
} from '../../lib/sim/cluster-sim.js';
import type { CoreStart, SimNode } from '../../lib/sim/host.js';
import { createRng, draws } from '../../lib/util/prng.js';
import { ZabCore, ZabInvariantError, type LoggedTxn, type PlantedBug, type Ready, type ServerConfig, type Snapshot, type ZabConfig, type ZabMessage } from './core/core.js';
import { DigestMachine, type DigestImage } from './core/state-machine.js';
import type { SessionTracker } from './core/sessions.js';
import type { TreeImage, ZkTxn } from './core/tree.js';
import { ZkReplica } from './core/watches.js';
import { compareZxid, formatZxid, zxid_zero, zxidEquals, type Zxid } from './core/zxid.js';
import { ZkWorkload, type ZkWorkloadStats } from './zk-sim.js';

// ---- limits -------------------------------------------------------------------------------------

/** The nemesis interval schedules that run `dslab nemesis` use. */
const nemesis_schedule_interval_ms_min = 100;
const nemesis_schedule_interval_ms_max = 400;
/** The final leader crash keeps the leader down at most this long (a quick re-election with every server back). */
const final_leader_crash_down_ms_max = 80;
/** A recovery crash comes this soon after the new epoch or the sync it interrupts. */
const recovery_crash_delay_ms_max = 15;

// ---- configuration ------------------------------------------------------------------------------

export interface ZabSimConfig extends ClusterSimConfig {
  voter_count: number;
  observer_count: number;
  zab: Partial<ZabConfig>;
  /** Servers snapshot once this many txns were delivered since the last one (0: never). */
  compact_after_txns: number;
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

/** What Zab's random schedules draw the fault phase, the links and the aimed faults' pace from. */
const zab_fault_ranges: FaultScheduleRanges = {
  fault_phase_ms: [800, 2000],
  settle_ms: 600,
  message_delay_spread_ms_max: 20,
  message_loss_rates: [0, 0.02, 0.1, 0.2],
  nemesis_interval_spread_ms: [60, 900],
  crash_chance: 0.8,
};

/** A schedule with faults, drawn from the seed. */
export function randomZabSimConfig(seed: number): ZabSimConfig {
  const r = draws(createRng(seed ^ 0x2ab5eed));
  const ping = r.int(20, 40);
  const sync_limit = ping * r.int(4, 6);
  const delay_min = r.int(1, 4);
  const nemesis_min = r.int(30, 300);
  const config: ZabSimConfig = {
    seed,
    ...fixed_schedule_fields,
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
    ...drawFaultSchedule(r, zab_fault_ranges, delay_min, nemesis_min),
    pauses: r.chance(0.5),
    crash_down_ms_max: 500,
    pause_ms_max: 500,
    client_count: r.int(1, 3),
    client_think_ms_max: r.int(0, 30),
    compact_after_txns: r.pick([0, 3, 10, 40]),
    serialize: r.chance(0.2),
    check_acks_against_disk: true,
    final_leader_crash: r.chance(0.5),
    recovery_crash_chance: r.pick([0, 0.1, 0.3, 0.5]),
    zk_clients: false,
  };
  if (drawNemesisSchedule(config, r, nemesis_schedule_interval_ms_min, nemesis_schedule_interval_ms_max)) {
    // Nothing but the schedule touches the servers.
    config.final_leader_crash = false;
  }
  return config;
}

/** A schedule without any fault: used to check progress (a leader is established, every write commits). */
export function faultFreeZabSimConfig(seed: number): ZabSimConfig {
  return { ...randomZabSimConfig(seed), ...fault_free_overrides, final_leader_crash: false };
}

/** The same schedule with a bug planted in every server's core. */
export function withPlantedBug(config: ZabSimConfig, bug: PlantedBug): ZabSimConfig {
  return { ...config, zab: { ...config.zab, test_planted_bug: bug } };
}

// ---- results ------------------------------------------------------------------------------------

export interface ZabSimStats extends ClusterSimStats {
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

export class ZabSimulationFailure extends ClusterSimFailure {
  constructor(seed: number, kind: string, detail: string) {
    super('zab', seed, kind, detail);
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

/** A client's write in progress: its seq, when it was invoked, the znode txn it carries (zk_clients). */
interface WriteOp {
  seq: number;
  invoke_ms: number;
  zk: ZkTxn | undefined;
}

interface ZabSim {
  config: ZabSimConfig;
  message: ZabMessage;
  ready: Ready;
  process: ZabProcess;
  durable: Durable;
  stats: ZabSimStats;
  op: WriteOp;
  client: SimClient<WriteOp>;
  failure: ZabSimulationFailure;
  result: ZabSimResult;
}

export function runZabSimulation(config: ZabSimConfig): ZabSimResult {
  return new ZabSimulation(config).run();
}

/** Voters n1..nV, then observers o1..oO. */
function serverIds(config: ZabSimConfig): string[] {
  return [...Array.from({ length: config.voter_count }, (_, i) => `n${i + 1}`), ...Array.from({ length: config.observer_count }, (_, i) => `o${i + 1}`)];
}

export class ZabSimulation extends ClusterSimulation<ZabSim> {
  private readonly servers: ServerConfig[];

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

  override readonly stats: ZabSimStats = {
    events: 0,
    messages_sent: 0,
    ...message_loss_counters_zero,
    ...fault_counters_zero,
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
    const ids = serverIds(config);
    super(config, {
      node_ids: ids,
      converge_subject: 'the ensemble',
      crash_weight: 3,
      aimed_faults_beside_nemesis_schedule: false,
      core_invariant_error: ZabInvariantError,
    });
    this.servers = ids.map((id, i) => ({ id, sid: i + 1, observer: i >= config.voter_count }));
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

  protected override newClient(base: SimClient<WriteOp>): SimClient<WriteOp> {
    return base;
  }

  protected override result(): ZabSimResult {
    return {
      seed: this.config.seed,
      config: this.config,
      stats: this.stats,
      delivered: this.sequence.map((t) => ({ zxid: formatZxid(t.zxid), txn: t.txn })),
      zk: this.zk?.stats ?? null,
    };
  }

  protected override newFailure(kind: string, detail: string): ZabSimulationFailure {
    return new ZabSimulationFailure(this.config.seed, kind, detail);
  }

  protected override scheduleAfterHeal(heal_at: number): void {
    if (!this.config.final_leader_crash) return;
    this.scheduler.at(heal_at + Math.floor(this.config.settle_ms / 5), () => {
      const leader = this.leader();
      if (leader !== null) this.crashAndRestart(leader, final_leader_crash_down_ms_max);
    });
  }

  protected override collectStats(): void {
    super.collectStats();
    this.stats.txns_delivered = this.sequence.length;
  }

  // ---- the driver: how the generic host runs a Zab server ---------------------------------------

  emptyDurable(): Durable {
    return { accepted_epoch: 0, current_epoch: 0, snapshot: null, log: [] };
  }

  start(start: CoreStart<Durable>): ZabProcess {
    const d = this.durableForStart(start.durable, (d) => ({ ...d, log: d.log.slice() }));
    const core = new ZabCore({ id: start.id, servers: this.servers, config: this.config.zab, persisted: d, random: start.random, now_ms: start.now_ms });
    return { id: start.id, core, sm: new DigestMachine(), position: 0, pending: new Map(), delivered_since_snapshot: 0, zk: new ZkReplica(), zk_connection: ++this.zk_connections, tracker: null };
  }

  override tick(p: ZabProcess, now_ms: number): void {
    super.tick(p, now_ms);
    this.zk?.onTick(p, p.core.isEstablishedLeader(), (zk) => {
      const txn: WriteTxn = { c: 'expire', s: ++this.expiries_proposed, a: 1, o: p.id, zk };
      return p.core.propose(txn).ok;
    });
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
    // A leader-elect reports looking until its epoch is established, and names itself leader meanwhile.
    if (rd.state.role === 'leading' || (rd.state.leader === n.id && rd.state.phase !== 'election')) this.recordProposals(n, rd);
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
        this.answer(this.clients[client]!, w.s, wkey);
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

  /** The up server leading an established epoch, the highest such (the supervisor's rule for `leader`). */
  protected override leader(): string | null {
    let best: { id: string; epoch: number } | null = null;
    for (const n of this.nodes) {
      if (n.status !== 'up' || !n.core!.core.isEstablishedLeader()) continue;
      const epoch = n.core!.core.activeEpoch()!;
      if (best === null || epoch > best.epoch) best = { id: n.id, epoch };
    }
    return best?.id ?? null;
  }

  protected override reportsLeader(p: ZabProcess): boolean {
    return p.core.report().role === 'leading';
  }

  private maybeRecoveryCrash(n: ZabNode): void {
    const cfg = this.config;
    if (!this.faults_active || !cfg.crashes || !this.rng.chance(cfg.recovery_crash_chance)) return;
    const starts = n.starts;
    this.scheduler.after(this.rng.int(0, recovery_crash_delay_ms_max), () => {
      if (!this.faults_active || n.starts !== starts || n.status === 'down') return;
      this.crashAndRestart(n.id);
    });
  }

  // ---- clients ----------------------------------------------------------------------------------

  protected override invoke(c: SimClient<WriteOp>): WriteOp {
    this.stats.writes_invoked++;
    return { seq: c.seq, invoke_ms: this.now_ms, zk: this.zk?.nextTxn(c.index) };
  }

  protected override gaveUp(): void {
    // Unknown outcome: a txn it sent may still commit later.
    this.stats.writes_indeterminate++;
  }

  protected override clientAttempt(c: SimClient<WriteOp>): void {
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
    if (outcome === 'handled' && !accepted) this.scheduler.after(this.retryBackoffMs(), retry);
    else this.scheduler.after(this.config.client_attempt_timeout_ms, retry);
  }

  private answer(c: SimClient<WriteOp>, seq: number, wkey: string): void {
    if (this.complete(c, seq) === null) return; // a late answer to a write the client gave up on or wrote again
    this.stats.writes_acked++;
    this.acked_writes.push(wkey);
  }

  // ---- the end ----------------------------------------------------------------------------------

  protected override isConverged(): boolean {
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

  protected override finalChecks(): void {
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

  protected override describeNodes(): string {
    return this.nodes
      .map((n) => {
        if (n.core === null) return `${n.id}: down`;
        const s = n.core.core.report();
        return `${n.id}${n.status === 'paused' ? ' (paused)' : ''}: ${s.role}/${s.phase} e${s.accepted_epoch}/${s.current_epoch} last ${s.last_zxid} commit ${s.committed_zxid} leader ${s.leader ?? '-'} round ${s.election_round}`;
      })
      .join('; ') + this.describeLeftoverSessions();
  }
}

/** What a server's snapshot holds: the digest machine's image and the znode tree's. */
interface SimImage {
  digest: DigestImage;
  tree: TreeImage;
}

export type { Zxid };
