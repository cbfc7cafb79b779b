// A deterministic simulator for the Raft core: N RaftCore nodes in one process, virtual time, one
// seeded PRNG, a network that partitions, loses, duplicates, delays and reorders, crashes that keep
// only what a node persisted through Ready, leadership transfers, and clients issuing kv operations.
//
// It checks the five safety properties of Raft (Figure 3 of the paper) while it runs, and at the end
// (after healing every fault) that the replicas agree and every acknowledged write is in the agreed
// state. Any failure throws SimulationFailure naming the seed; the same seed replays the same run.

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

// ---- PRNG ---------------------------------------------------------------------------------------

/** mulberry32: a small, fast 32-bit generator; good enough for schedules, fully reproducible. */
export class SimRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }
}

// ---- limits -------------------------------------------------------------------------------------

/** Clients start their first operation within this window. */
const client_start_ms_max = 50;
/** A client told "not the leader" retries after a short random pause. */
const client_retry_backoff_ms_min = 5;
const client_retry_backoff_ms_max = 30;
/** How often the end phase checks whether the replicas agree. */
const converge_check_interval_ms = 20;
/** Readys one input may cause (a compaction adds one); more means the core is looping. */
const readys_per_input_max = 16;

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
  message_delay_ms_min: number;
  message_delay_ms_max: number;
  message_loss_rate: number;
  message_duplicate_rate: number;
  nemesis_interval_ms_min: number;
  nemesis_interval_ms_max: number;
  partitions: boolean;
  crashes: boolean;
  transfers: boolean;
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
  const r = new SimRandom(seed ^ 0x5bd1e995);
  const election_min = r.int(100, 150);
  const append_max = r.pick([1, 2, 4, 64]);
  const both = r.chance(0.75);
  const delay_min = r.int(1, 5);
  const nemesis_min = r.int(20, 300);
  return {
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
  };
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

type SimEvent =
  | { kind: 'deliver'; from: number; to: number; body: RaftMessage }
  | { kind: 'timer'; node: number; gen: number }
  | { kind: 'client_start'; client: number }
  | { kind: 'client_retry'; client: number; seq: number; attempt: number; timed_out: boolean }
  | { kind: 'client_deadline'; client: number; seq: number }
  | { kind: 'nemesis' }
  | { kind: 'restart'; node: number }
  | { kind: 'heal_all' }
  | { kind: 'clients_stop' }
  | { kind: 'converge_check' };

interface Queued {
  at: number;
  seq: number;
  event: SimEvent;
}

/** Binary min-heap on (at, seq): equal times run in insertion order, so runs are deterministic. */
class EventQueue {
  private heap: Queued[] = [];
  private next_seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(at: number, event: SimEvent): void {
    const item = { at, seq: this.next_seq++, event };
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  pop(): Queued | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined) return undefined;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function less(a: Queued, b: Queued): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

interface Durable {
  hard_state: HardState;
  snapshot: Snapshot | null;
  entries: LogEntry[];
}

interface SimNode {
  index: number;
  id: string;
  up: boolean;
  core: RaftCore | null;
  kv: KvStateMachine;
  applied: number;
  durable: Durable;
  timer_gen: number;
  timer_at: number;
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

interface SimClient {
  index: number;
  id: string;
  seq: number;
  leader_hint: number | null;
  current: ClientOpRecord | null;
  attempt: number;
  values_written: number;
}

// ---- the simulation -----------------------------------------------------------------------------

export function runSimulation(config: SimConfig): SimResult {
  return new Simulation(config).run();
}

export class Simulation {
  readonly config: SimConfig;
  private readonly rng: SimRandom;
  private readonly queue = new EventQueue();
  private now_ms = 0;
  private readonly nodes: SimNode[] = [];
  private readonly clients: SimClient[] = [];
  private readonly history: ClientOpRecord[] = [];
  /** Partition group per node; nodes talk only within a group. */
  private group: number[] = [];
  private loss_rate: number;
  private duplicate_rate: number;
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
    this.rng = new SimRandom(config.seed);
    this.loss_rate = config.message_loss_rate;
    this.duplicate_rate = config.message_duplicate_rate;
    for (let i = 0; i < config.node_count; i++) {
      this.nodes.push({
        index: i,
        id: `n${i + 1}`,
        up: false,
        core: null,
        kv: new KvStateMachine(),
        applied: 0,
        durable: { hard_state: { term: 0, voted_for: null }, snapshot: null, entries: [] },
        timer_gen: 0,
        timer_at: Number.POSITIVE_INFINITY,
        pending_writes: new Map(),
        pending_reads: new Map(),
        seen_role: 'follower',
        seen_term: 0,
        leader_mark: null,
      });
      this.group.push(0);
    }
    for (let c = 0; c < config.client_count; c++) {
      this.clients.push({ index: c, id: `c${c + 1}`, seq: 0, leader_hint: null, current: null, attempt: 0, values_written: 0 });
    }
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
    return { seed: this.config.seed, config: this.config, history: this.history, stats: this.stats };
  }

  private runEvents(): void {
    const cfg = this.config;
    for (const n of this.nodes) this.startNode(n);
    for (const c of this.clients) this.queue.push(this.rng.int(0, client_start_ms_max), { kind: 'client_start', client: c.index });
    this.queue.push(this.rng.int(cfg.nemesis_interval_ms_min, cfg.nemesis_interval_ms_max), { kind: 'nemesis' });
    const heal_at = cfg.fault_phase_ms;
    const settle_end = heal_at + cfg.settle_ms;
    this.queue.push(heal_at, { kind: 'heal_all' });
    this.queue.push(heal_at + Math.floor(cfg.settle_ms / 2), { kind: 'clients_stop' });
    this.queue.push(settle_end, { kind: 'converge_check' });
    const deadline = settle_end + cfg.converge_ms_max;
    // Every loop below is bounded: virtual time is capped, and events per ms are finite.
    while (!this.converged) {
      const item = this.queue.pop();
      if (item === undefined) throw this.failure('liveness', 'event queue ran dry');
      if (item.at > deadline) {
        throw this.failure('liveness', `replicas did not converge within ${cfg.converge_ms_max}ms after settling: ${this.describeNodes()}`);
      }
      this.now_ms = item.at;
      this.stats.events++;
      this.handle(item.event);
      if (this.stats.events % cfg.log_matching_check_events === 0) this.checkLogMatching();
    }
    this.stats.end_ms = this.now_ms;
  }

  private handle(ev: SimEvent): void {
    switch (ev.kind) {
      case 'deliver': {
        const to = this.nodes[ev.to]!;
        if (!to.up) return;
        if (this.group[ev.from] !== this.group[ev.to]) {
          this.stats.messages_partitioned++;
          return;
        }
        this.stats.messages_delivered++;
        this.withNode(to, (core) => core.step(this.nodes[ev.from]!.id, ev.body));
        return;
      }
      case 'timer': {
        const n = this.nodes[ev.node]!;
        if (n.up && ev.gen === n.timer_gen) this.withNode(n, () => undefined);
        return;
      }
      case 'client_start':
        this.clientStart(this.clients[ev.client]!);
        return;
      case 'client_retry': {
        const c = this.clients[ev.client]!;
        if (c.current && c.current.seq === ev.seq && c.attempt === ev.attempt) {
          // No answer in time: the node may be cut off from the others, so try another one.
          if (ev.timed_out) c.leader_hint = null;
          this.clientAttempt(c);
        }
        return;
      }
      case 'client_deadline': {
        const c = this.clients[ev.client]!;
        if (c.current && c.current.seq === ev.seq) {
          // The outcome is unknown: a write may still commit later (at most once, thanks to seq).
          c.current.complete_ms = null;
          c.current = null;
          this.stats.ops_indeterminate++;
          this.scheduleNextOp(c);
        }
        return;
      }
      case 'nemesis':
        if (!this.faults_active) return;
        this.nemesis();
        this.queue.push(this.now_ms + this.rng.int(this.config.nemesis_interval_ms_min, this.config.nemesis_interval_ms_max), {
          kind: 'nemesis',
        });
        return;
      case 'restart': {
        const n = this.nodes[ev.node]!;
        if (!n.up) this.startNode(n);
        return;
      }
      case 'heal_all':
        this.faults_active = false;
        this.loss_rate = 0;
        this.duplicate_rate = 0;
        this.group = this.group.map(() => 0);
        for (const n of this.nodes) if (!n.up) this.startNode(n);
        return;
      case 'clients_stop':
        this.clients_stopped = true;
        return;
      case 'converge_check':
        if (this.isConverged()) this.converged = true;
        else this.queue.push(this.now_ms + converge_check_interval_ms, { kind: 'converge_check' });
        return;
    }
  }

  // ---- nodes ------------------------------------------------------------------------------------

  private startNode(n: SimNode): void {
    if (n.core !== null) this.stats.restarts++;
    const d = n.durable;
    n.core = new RaftCore({
      id: n.id,
      peers: this.nodes.filter((p) => p !== n).map((p) => p.id),
      config: this.config.raft,
      persisted: this.config.serialize
        ? (JSON.parse(JSON.stringify(d)) as Durable)
        : { hard_state: d.hard_state, snapshot: d.snapshot, entries: d.entries.slice() },
      random: () => this.rng.next(),
      now_ms: this.now_ms,
    });
    n.up = true;
    n.kv = new KvStateMachine();
    n.applied = 0;
    n.pending_writes.clear();
    n.pending_reads.clear();
    n.seen_role = 'follower';
    n.seen_term = d.hard_state.term;
    n.leader_mark = null;
    n.timer_at = Number.POSITIVE_INFINITY;
    this.drain(n);
  }

  private crash(n: SimNode): void {
    n.up = false;
    n.timer_gen++;
    // Everything not persisted through Ready is gone; the core object is kept only to count restarts.
    n.pending_writes.clear();
    n.pending_reads.clear();
    this.stats.crashes++;
  }

  private withNode(n: SimNode, input: (core: RaftCore) => void): void {
    const core = n.core!;
    core.tick(this.now_ms);
    input(core);
    this.drain(n);
  }

  /** Handle Readys the way a real runtime must: persist, send, apply, answer reads. */
  private drain(n: SimNode): void {
    const core = n.core!;
    let rounds = 0;
    while (core.hasReady()) {
      if (++rounds > readys_per_input_max) throw this.failure('runtime', `${n.id} kept producing Readys`);
      const rd = core.ready();
      this.persist(n, rd);
      for (const m of rd.messages) this.send(n.index, this.nodeIndex(m.to), m.body);
      if (rd.apply_snapshot) this.installSnapshot(n, rd.apply_snapshot);
      for (const e of rd.committed) this.applyEntry(n, e);
      for (const r of rd.read_states) this.serveRead(n, r);
      for (const id of rd.reads_dropped) n.pending_reads.delete(String(id));
      this.observe(n, rd.state);
      const cfg = this.config;
      if (cfg.compact_after_entries > 0 && n.applied - core.state().snapshot_index >= cfg.compact_after_entries) {
        const data = n.kv.snapshot();
        this.recordState(n.applied, data, `${n.id} compaction`);
        core.compact(n.applied, data);
        this.stats.compactions++;
      }
    }
    const at = core.nextTimerMs();
    if (at !== n.timer_at) {
      n.timer_at = at;
      n.timer_gen++;
      if (Number.isFinite(at)) this.queue.push(Math.max(at, this.now_ms + 1), { kind: 'timer', node: n.index, gen: n.timer_gen });
    }
  }

  private persist(n: SimNode, rd: Ready): void {
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
    // The durable state must now equal the core's: that is what a restart will see.
    const core = n.core!;
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

  private installSnapshot(n: SimNode, s: Snapshot): void {
    const data = s.data as KvSnapshot | null;
    n.kv = KvStateMachine.restore(data);
    if (s.index < n.applied) throw this.failure('state machine safety', `${n.id} restored snapshot ${s.index} behind applied ${n.applied}`);
    if (n.applied > 0 || s.index > 0) this.stats.snapshots_installed++;
    n.applied = s.index;
    this.recordState(s.index, data, `${n.id} snapshot restore`);
  }

  private recordState(index: number, data: KvSnapshot | null, what: string): void {
    if (data === null) return;
    const text = canonicalJson(data);
    const seen = this.state_at.get(index);
    if (seen === undefined) this.state_at.set(index, text);
    else if (seen !== text) throw this.failure('state machine safety', `${what}: state at index ${index} differs between replicas`);
  }

  private applyEntry(n: SimNode, e: LogEntry): void {
    if (e.index !== n.applied + 1) throw this.failure('runtime', `${n.id} got committed entry ${e.index} after applying ${n.applied}`);
    const seen = this.applied_log[e.index];
    if (seen === undefined) this.applied_log[e.index] = e;
    else if (!sameEntry(seen, e)) {
      throw this.failure(
        'state machine safety',
        `${n.id} applied ${describeEntry(e)} at index ${e.index}, another node applied ${describeEntry(seen)}`,
      );
    }
    n.applied = e.index;
    if (e.op === null) return;
    const { result } = n.kv.apply(e.op);
    const cmd = e.op as KvCommand;
    const key = `${cmd.client}#${cmd.seq}`;
    const client = n.pending_writes.get(key);
    if (client !== undefined) {
      n.pending_writes.delete(key);
      this.complete(this.clients[client]!, cmd.seq, result, null);
    }
  }

  private serveRead(n: SimNode, r: ReadState): void {
    const pending = n.pending_reads.get(String(r.request_id));
    if (!pending) return;
    n.pending_reads.delete(String(r.request_id));
    if (n.applied < r.index) throw this.failure('runtime', `${n.id} read ready at ${r.index} before applying it (applied ${n.applied})`);
    this.complete(this.clients[pending.client]!, pending.seq, n.kv.read(pending.key), n.applied);
  }

  private send(from: number, to: number, body: RaftMessage): void {
    this.stats.messages_sent++;
    if (this.rng.chance(this.loss_rate)) {
      this.stats.messages_lost++;
      return;
    }
    if (this.config.serialize) body = JSON.parse(JSON.stringify(body)) as RaftMessage;
    const copies = this.rng.chance(this.duplicate_rate) ? 2 : 1;
    if (copies === 2) this.stats.messages_duplicated++;
    for (let k = 0; k < copies; k++) {
      const delay = this.rng.int(this.config.message_delay_ms_min, this.config.message_delay_ms_max);
      this.queue.push(this.now_ms + delay, { kind: 'deliver', from, to, body });
    }
  }

  private nodeIndex(id: string): number {
    const i = this.nodes.findIndex((n) => n.id === id);
    if (i < 0) throw this.failure('runtime', `message to unknown node ${id}`);
    return i;
  }

  // ---- faults -----------------------------------------------------------------------------------

  private nemesis(): void {
    const cfg = this.config;
    const actions: string[] = ['none'];
    if (cfg.partitions) actions.push('partition', 'isolate', 'heal', 'heal');
    if (cfg.crashes) actions.push('crash', 'crash');
    if (cfg.transfers) actions.push('transfer');
    const action = this.rng.pick(actions);
    const n = this.nodes.length;
    switch (action) {
      case 'partition':
        this.group = this.nodes.map(() => this.rng.int(0, 1));
        this.stats.partitions++;
        break;
      case 'isolate': {
        // Isolating the leader is the interesting case (stale leaders, stale reads): do it half the time.
        const leaders = this.nodes.filter((x) => x.up && x.core!.state().role === 'leader');
        const lone = leaders.length > 0 && this.rng.chance(0.5) ? this.rng.pick(leaders).index : this.rng.int(0, n - 1);
        this.group = this.nodes.map((_, i) => (i === lone ? 1 : 0));
        this.stats.partitions++;
        break;
      }
      case 'heal':
        this.group = this.group.map(() => 0);
        break;
      case 'crash': {
        const up = this.nodes.filter((x) => x.up);
        if (up.length === 0) break;
        // Prefer the leader half the time: that is where crashes hurt most.
        const leaders = up.filter((x) => x.core!.state().role === 'leader');
        const victim = leaders.length > 0 && this.rng.chance(0.5) ? this.rng.pick(leaders) : this.rng.pick(up);
        this.crash(victim);
        this.queue.push(this.now_ms + this.rng.int(cfg.crash_down_ms_min, cfg.crash_down_ms_max), { kind: 'restart', node: victim.index });
        break;
      }
      case 'transfer': {
        const leaders = this.nodes.filter((x) => x.up && x.core!.state().role === 'leader');
        if (leaders.length === 0 || n < 2) break;
        const leader = this.rng.pick(leaders);
        const target = this.rng.pick(this.nodes.filter((x) => x !== leader));
        this.stats.transfers_requested++;
        this.withNode(leader, (core) => {
          core.transferLeadership(target.id);
        });
        break;
      }
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
    this.queue.push(this.now_ms + this.config.client_op_timeout_ms, { kind: 'client_deadline', client: c.index, seq: c.seq });
    this.clientAttempt(c);
  }

  private latestValueSeen(key: number): unknown {
    // The value at the most up-to-date live replica (a cheap guess; correctness does not depend on it).
    let best: SimNode | null = null;
    for (const n of this.nodes) if (n.up && (best === null || n.applied > best.applied)) best = n;
    return best?.kv.get(key) ?? null;
  }

  private clientAttempt(c: SimClient): void {
    const op = c.current!;
    c.attempt += 1;
    const attempt = c.attempt;
    const target =
      c.leader_hint !== null && this.rng.chance(0.9) ? this.nodes[c.leader_hint]! : this.rng.pick(this.nodes);
    if (!target.up) {
      // No answer from a dead node: the client notices only by its attempt timeout.
      this.queue.push(this.now_ms + this.config.client_attempt_timeout_ms, { kind: 'client_retry', client: c.index, seq: op.seq, attempt, timed_out: true });
      return;
    }
    let refused: { leader: string | null } | null = null;
    this.withNode(target, (core) => {
      if (op.op.type === 'read') {
        const request_id = `${c.id}#${op.seq}#${attempt}`;
        const r = core.readIndex(request_id);
        if (r.ok) target.pending_reads.set(request_id, { client: c.index, seq: op.seq, key: op.op.key });
        else refused = { leader: r.leader };
      } else {
        const command: KvCommand = { client: c.id, seq: op.seq, op: op.op };
        const r = core.propose(command);
        if (r.ok) target.pending_writes.set(`${c.id}#${op.seq}`, c.index);
        else refused = { leader: r.leader };
      }
    });
    if (c.current !== op || c.attempt !== attempt) return; // answered synchronously (one-node cluster)
    if (refused !== null) {
      const leader: string | null = (refused as { leader: string | null }).leader;
      c.leader_hint = leader === null ? null : this.nodeIndex(leader);
      this.queue.push(this.now_ms + this.rng.int(client_retry_backoff_ms_min, client_retry_backoff_ms_max), { kind: 'client_retry', client: c.index, seq: op.seq, attempt, timed_out: false });
    } else {
      c.leader_hint = target.index;
      this.queue.push(this.now_ms + this.config.client_attempt_timeout_ms, { kind: 'client_retry', client: c.index, seq: op.seq, attempt, timed_out: true });
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
    this.queue.push(this.now_ms + this.rng.int(0, this.config.client_think_ms_max), { kind: 'client_start', client: c.index });
  }

  // ---- safety checks ----------------------------------------------------------------------------

  private observe(n: SimNode, st: StateReport): void {
    const core = n.core!;
    if (st.term > this.stats.max_term) this.stats.max_term = st.term;
    if (st.commit_index > this.max_commit) this.max_commit = st.commit_index;
    if (st.role === 'leader') {
      // Election safety: at most one leader per term.
      const other = this.leader_of_term.get(st.term);
      if (other !== undefined && other !== n.id) {
        throw this.failure('election safety', `${n.id} and ${other} are both leaders of term ${st.term}`);
      }
      const newly = n.seen_role !== 'leader' || n.seen_term !== st.term;
      if (newly) {
        this.leader_of_term.set(st.term, n.id);
        this.stats.leaders_elected++;
        if (this.stats.first_leader_ms === null) this.stats.first_leader_ms = this.now_ms;
        // Leader completeness: a new leader holds every entry committed so far.
        for (let i = st.snapshot_index + 1; i <= this.max_commit; i++) {
          const committed = this.applied_log[i];
          const mine = core.entryAt(i);
          if (committed !== undefined && (mine === undefined || !sameEntry(mine, committed))) {
            throw this.failure(
              'leader completeness',
              `${n.id} became leader of term ${st.term} without committed entry ${describeEntry(committed)} (it has ${mine ? describeEntry(mine) : 'nothing'})`,
            );
          }
        }
        if (this.max_commit < st.snapshot_index) {
          throw this.failure('leader completeness', `${n.id} has a snapshot beyond anything committed`);
        }
      } else if (n.leader_mark !== null) {
        // Leader append-only: while leader, nothing it had is removed or replaced.
        const mark = n.leader_mark;
        if (st.log_last_index < mark.index) {
          throw this.failure('leader append-only', `${n.id} (leader, term ${st.term}) log shrank from ${mark.index} to ${st.log_last_index}`);
        }
        if (mark.index > st.snapshot_index && core.entryAt(mark.index) !== mark.entry) {
          throw this.failure('leader append-only', `${n.id} (leader, term ${st.term}) replaced its entry ${mark.index}`);
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
    const live = this.nodes.filter((n) => n.up);
    for (let a = 0; a < live.length; a++) {
      for (let b = a + 1; b < live.length; b++) {
        const x = live[a]!.core!;
        const y = live[b]!.core!;
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
    const cores = this.nodes.map((n) => (n.up ? n.core : null));
    if (cores.some((c) => c === null)) return false;
    const states = cores.map((c) => c!.state());
    const leader = states.find((s) => s.role === 'leader');
    if (!leader) return false;
    const last = leader.log_last_index;
    return states.every((s) => s.term === leader.term && s.commit_index === last && s.last_applied === last);
  }

  private finalChecks(): void {
    this.checkLogMatching();
    const final_commit = this.nodes[0]!.core!.state().commit_index;
    this.stats.final_commit_index = final_commit;
    for (const n of this.nodes) {
      if (n.applied !== final_commit) throw this.failure('agreement', `${n.id} applied ${n.applied}, others ${final_commit}`);
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
      if (canonicalJson(n.kv.snapshot()) !== agreed) throw this.failure('agreement', `${n.id}'s kv state differs from the agreed log's`);
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
        if (!n.up) return `${n.id}: down`;
        const s = n.core!.state();
        return `${n.id}: ${s.role} t${s.term} commit ${s.commit_index} last ${s.log_last_index} leader ${s.leader ?? '-'}`;
      })
      .join('; ');
  }

  private failure(kind: string, detail: string): SimulationFailure {
    return new SimulationFailure(this.config.seed, kind, `${detail} [t=${this.now_ms}ms, event ${this.stats.events}]`);
  }
}

function sameEntry(a: LogEntry, b: LogEntry): boolean {
  // A JSON round trip keeps key order, so plain JSON text is enough once the references differ.
  return a.index === b.index && a.term === b.term && (a.op === b.op || JSON.stringify(a.op) === JSON.stringify(b.op));
}

function describeEntry(e: LogEntry): string {
  return `#${e.index} t${e.term} ${e.op === null ? 'noop' : canonicalJson(e.op)}`;
}
