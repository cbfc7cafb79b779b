// Raft under the simulator: many pure cores in one process on virtual time, with seeded faults and
// Raft's safety checks. No real I/O, clock or randomness: a seed replays a run.

// The Raft kv store under the simulator (src/lib/sim): N RaftCore nodes in one process, virtual
// time, one seeded PRNG, the router's FaultModel on the network, crashes that keep only what a node
// persisted through Ready, pauses, leadership transfers, and clients issuing kv operations. Faults come
// either from a fault source aimed at Raft (it crashes, isolates and pauses the leader more often than
// chance would) or from the very schedule `dslab nemesis --seed S` runs against real processes: the
// same control actions, applied with the supervisor's rules to the same FaultModel.
//
// The run itself (fault sources, clients' timeouts and retries, heal, convergence, seed replay) is the
// shared ClusterSimulation (src/lib/sim/cluster-sim.ts). This file is Raft's part: how to build a core,
// persist and apply a Ready, what a kv client sends, leadership transfers as one more aimed fault, and
// Raft's checks: the five safety properties of Raft (Figure 3 of the paper) while it runs, and at the
// end (after healing every fault) that the replicas agree and every acknowledged write is in the agreed
// state. Any failure throws SimulationFailure naming the seed; the same seed replays the run.

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
} from './core/core.js';
import { canonicalJson, KvStateMachine, type KvCommand, type KvOp, type KvResult, type KvSnapshot } from './core/kv.js';

// ---- limits -------------------------------------------------------------------------------------

/** The nemesis interval schedules that run `dslab nemesis` use (the control API accepts 100 ms and up). */
const nemesis_schedule_interval_ms_min = 100;
const nemesis_schedule_interval_ms_max = 500;

// ---- configuration ------------------------------------------------------------------------------

export interface SimConfig extends ClusterSimConfig {
  node_count: number;
  raft: Partial<RaftConfig>;
  /** Leadership transfers among the aimed faults (they run beside a `dslab nemesis` schedule too). */
  transfers: boolean;
  key_count: number;
  /** Take a snapshot once this many entries were applied since the last one (0: never). */
  compact_after_entries: number;
  /** Pairwise log-matching check every this many events (it is the most expensive check). */
  log_matching_check_events: number;
}

/** What Raft's random schedules draw the fault phase, the links and the aimed faults' pace from. */
const raft_fault_ranges: FaultScheduleRanges = {
  fault_phase_ms: [1000, 2500],
  settle_ms: 800,
  message_delay_spread_ms_max: 30,
  message_loss_rates: [0, 0.02, 0.1, 0.25],
  // Some schedules change faults every few tens of ms, others hold one for up to ~1.5 s
  // (long enough for a new leader to be elected and commit behind an isolated old one).
  nemesis_interval_spread_ms: [60, 1200],
  crash_chance: 0.7,
};

export function randomSimConfig(seed: number): SimConfig {
  const r = draws(createRng(seed ^ 0x5bd1e995));
  const election_min = r.int(100, 150);
  const append_max = r.pick([1, 2, 4, 64]);
  const both = r.chance(0.75);
  const delay_min = r.int(1, 5);
  const nemesis_min = r.int(20, 300);
  const config: SimConfig = {
    seed,
    ...fixed_schedule_fields,
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
    ...drawFaultSchedule(r, raft_fault_ranges, delay_min, nemesis_min),
    transfers: r.chance(0.5),
    crash_down_ms_max: 600,
    client_count: r.int(1, 3),
    client_think_ms_max: r.int(0, 40),
    key_count: r.int(1, 3),
    compact_after_entries: r.pick([0, 2, 5, 20]),
    log_matching_check_events: 200,
    serialize: r.chance(0.2),
    // Drawn last, so every field above keeps the value it had before these existed.
    pauses: r.chance(0.5),
    pause_ms_max: 600,
  };
  drawNemesisSchedule(config, r, nemesis_schedule_interval_ms_min, nemesis_schedule_interval_ms_max);
  return config;
}

/** A schedule without any fault: used to check progress (a leader is elected, writes commit). */
export function faultFreeSimConfig(seed: number): SimConfig {
  return { ...randomSimConfig(seed), ...fault_free_overrides, transfers: false };
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

export interface SimStats extends ClusterSimStats {
  messages_delivered: number;
  max_term: number;
  leaders_elected: number;
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
}

export interface SimResult {
  seed: number;
  config: SimConfig;
  history: ClientOpRecord[];
  stats: SimStats;
}

export class SimulationFailure extends ClusterSimFailure {
  constructor(seed: number, kind: string, detail: string) {
    super('raft', seed, kind, detail);
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

interface RaftClient extends SimClient<ClientOpRecord> {
  leader_hint: string | null;
  values_written: number;
}

interface RaftSim {
  config: SimConfig;
  message: RaftMessage;
  ready: Ready;
  process: RaftProcess;
  durable: Durable;
  stats: SimStats;
  op: ClientOpRecord;
  client: RaftClient;
  failure: SimulationFailure;
  result: SimResult;
}

// ---- the simulation -----------------------------------------------------------------------------

export function runSimulation(config: SimConfig): SimResult {
  return new Simulation(config).run();
}

export class Simulation extends ClusterSimulation<RaftSim> {
  // Global knowledge for the safety checks.
  private readonly history: ClientOpRecord[] = [];
  private readonly leader_of_term = new Map<number, string>();
  /** The entry applied at each index by whichever node applied it first. */
  private readonly applied_log: (LogEntry | undefined)[] = [];
  /** canonical kv snapshot per index at which some node took or installed one. */
  private readonly state_at = new Map<number, string>();
  private max_commit = 0;

  override readonly stats: SimStats = {
    events: 0,
    messages_sent: 0,
    messages_delivered: 0,
    ...message_loss_counters_zero,
    max_term: 0,
    leaders_elected: 0,
    ...fault_counters_zero,
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
    super(config, {
      node_ids: Array.from({ length: config.node_count }, (_, i) => `n${i + 1}`),
      converge_subject: 'replicas',
      crash_weight: 2,
      // Transfers are not in the nemesis's repertoire, so they keep coming beside its schedule.
      aimed_faults_beside_nemesis_schedule: true,
      core_invariant_error: RaftInvariantError,
    });
  }

  protected override newClient(base: SimClient<ClientOpRecord>): RaftClient {
    return { ...base, leader_hint: null, values_written: 0 };
  }

  protected override result(): SimResult {
    return { seed: this.config.seed, config: this.config, history: this.history, stats: this.stats };
  }

  protected override unexpected(err: unknown): SimulationFailure {
    // Raft's failures have always named the time in the detail as well; kept, so replays read the same.
    return super.unexpected(err, ` at t=${this.now_ms}ms`);
  }

  protected override newFailure(kind: string, detail: string): SimulationFailure {
    return new SimulationFailure(this.config.seed, kind, detail);
  }

  protected override afterEvent(): void {
    if (this.scheduler.events_run % this.config.log_matching_check_events === 0) this.checkLogMatching();
  }

  protected override collectStats(): void {
    super.collectStats();
    this.stats.messages_delivered = this.host.network.stats.delivered - this.host.stats.dropped_down;
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
      persisted: this.durableForStart(d, (d) => ({ hard_state: d.hard_state, snapshot: d.snapshot, entries: d.entries.slice() })),
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
      this.answer(this.clients[client]!, cmd.seq, result, null);
    }
  }

  private serveRead(n: RaftNode, p: RaftProcess, r: ReadState): void {
    const pending = p.pending_reads.get(String(r.request_id));
    if (!pending) return;
    p.pending_reads.delete(String(r.request_id));
    if (p.applied < r.index) throw this.failure('runtime', `${n.id} read ready at ${r.index} before applying it (applied ${p.applied})`);
    this.answer(this.clients[pending.client]!, pending.seq, p.kv.read(pending.key), p.applied);
  }

  // ---- faults -----------------------------------------------------------------------------------

  /** The up node reporting leader with the highest term (the supervisor's rule for `leader`). */
  protected override leader(): string | null {
    let best: { id: string; term: number } | null = null;
    for (const n of this.nodes) {
      if (n.status !== 'up') continue;
      const st = n.core!.core.state();
      if (st.role === 'leader' && (best === null || st.term > best.term)) best = { id: n.id, term: st.term };
    }
    return best?.id ?? null;
  }

  /** Asks the leader (as `dslab transfer` does) to hand leadership to target. */
  protected override transfer(target: string): true | string {
    const leader = this.leader();
    if (leader === null) return 'no node reports itself leader right now';
    if (leader === target) return `${target} is already the leader`;
    this.stats.transfers_requested++;
    this.host.input(leader, (p) => {
      p.core.transferLeadership(target);
    });
    return true;
  }

  protected override reportsLeader(p: RaftProcess): boolean {
    return p.core.state().role === 'leader';
  }

  /** Leadership transfers, to a random other node, as one more aimed fault. */
  protected override systemFaults(): Record<string, () => void> {
    return this.config.transfers ? { transfer: () => this.transferToAnyOther() } : {};
  }

  private transferToAnyOther(): void {
    const leader = this.leader();
    if (leader === null || this.nodes.length < 2) return;
    this.fault({ type: 'transfer', node: this.rng.pick(this.nodes.filter((x) => x.id !== leader)).id });
  }

  // ---- clients ----------------------------------------------------------------------------------

  protected override invoke(c: RaftClient): ClientOpRecord {
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
    this.history.push(record);
    this.stats.ops_invoked++;
    return record;
  }

  protected override gaveUp(op: ClientOpRecord): void {
    // A write may still commit later (at most once, thanks to seq).
    op.complete_ms = null;
    this.stats.ops_indeterminate++;
  }

  private latestValueSeen(key: number): unknown {
    // The value at the most up-to-date live replica (a cheap guess; correctness does not depend on it).
    let best: RaftProcess | null = null;
    for (const n of this.nodes) if (n.core !== null && (best === null || n.core.applied > best.applied)) best = n.core;
    return best?.kv.get(key) ?? null;
  }

  private clientRetry(c: RaftClient, seq: number, attempt: number, timed_out: boolean): void {
    if (c.current && c.current.seq === seq && c.attempt === attempt) {
      // No answer in time: the node may be cut off from the others, so try another one.
      if (timed_out) c.leader_hint = null;
      this.clientAttempt(c);
    }
  }

  protected override clientAttempt(c: RaftClient): void {
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
      const backoff = this.retryBackoffMs();
      this.scheduler.after(backoff, () => this.clientRetry(c, op.seq, attempt, false));
    } else {
      c.leader_hint = target.id;
      this.scheduler.after(this.config.client_attempt_timeout_ms, timeout);
    }
  }

  private answer(c: RaftClient, seq: number, result: KvResult, served_index: number | null): void {
    const op = this.complete(c, seq);
    if (op === null) return; // a late answer to an operation the client gave up on
    op.complete_ms = this.now_ms;
    op.result = result;
    op.served_index = served_index;
    this.stats.ops_acked++;
    if (op.op.type === 'read') this.stats.reads_acked++;
    else if (result.type !== 'error') this.stats.writes_acked++;
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

  protected override isConverged(): boolean {
    const cores = this.nodes.map((n) => (n.status === 'up' ? n.core!.core : null));
    if (cores.some((c) => c === null)) return false;
    const states = cores.map((c) => c!.state());
    const leader = states.find((s) => s.role === 'leader');
    if (!leader) return false;
    const last = leader.log_last_index;
    return states.every((s) => s.term === leader.term && s.commit_index === last && s.last_applied === last);
  }

  protected override finalChecks(): void {
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

  protected override describeNodes(): string {
    return this.nodes
      .map((n) => {
        if (n.core === null) return `${n.id}: down`;
        const s = n.core.core.state();
        return `${n.id}${n.status === 'paused' ? ' (paused)' : ''}: ${s.role} t${s.term} commit ${s.commit_index} last ${s.log_last_index} leader ${s.leader ?? '-'}`;
      })
      .join('; ');
  }
}

function sameEntry(a: LogEntry, b: LogEntry): boolean {
  // A JSON round trip keeps key order, so plain JSON text is enough once the references differ.
  return a.index === b.index && a.term === b.term && (a.op === b.op || JSON.stringify(a.op) === JSON.stringify(b.op));
}

function describeEntry(e: LogEntry): string {
  return `#${e.index} t${e.term} ${e.op === null ? 'noop' : canonicalJson(e.op)}`;
}
