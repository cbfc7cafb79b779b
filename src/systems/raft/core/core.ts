// The Raft protocol core: a deterministic state machine with no I/O, no clock and no global randomness.
//
// Inputs are method calls (step, tick, propose, readIndex, transferLeadership, compact); outputs collect
// until the runtime takes them with ready(). The runtime must handle a Ready in this order:
//   1. persist hard_state, snapshot and log changes (fsync),
//   2. send messages,
//   3. restore the state machine from apply_snapshot, then apply committed entries in order,
//   4. answer read_states (their index is <= last_applied once step 3 is done) and fail reads_dropped.
// Persisting before sending is what makes a vote or an acknowledged entry survive a crash.
//
// Design follows the Raft paper (Ongaro & Ousterhout, extended version) and Ongaro's thesis
// (PreVote 9.6, CheckQuorum 6.2, ReadIndex 6.4, leadership transfer 3.10), with etcd/raft's
// progress tracking (probe / replicate / snapshot) for replication.

import { InvariantError } from '../../../lib/util/errors.js';

export type NodeId = string;

export interface LogEntry {
  readonly index: number;
  readonly term: number;
  /** Opaque command. null is the no-op a new leader appends; the runtime applies nothing for it. */
  readonly op: unknown;
}

export interface Snapshot {
  /** Last log index the snapshot covers. */
  readonly index: number;
  /** Term of the entry at index. */
  readonly term: number;
  /** Opaque state-machine image, produced by the application. */
  readonly data: unknown;
}

export interface HardState {
  readonly term: number;
  readonly voted_for: NodeId | null;
}

/** What a node finds on disk at start (all empty for a new node). */
export interface PersistedState {
  hard_state: HardState;
  snapshot: Snapshot | null;
  /** Log entries after the snapshot; entries at or below snapshot.index are ignored. */
  entries: readonly LogEntry[];
}

export type Role = 'follower' | 'pre_candidate' | 'candidate' | 'leader';

// ---- limits (each with its unit last) -------------------------------------------------------------

/** Defaults chosen for a local cluster; the runtime may pass its own in config. */
export const election_timeout_ms_min = 300;
export const election_timeout_ms_max = 600;
export const heartbeat_interval_ms = 75;
/** Entries carried by one append_entries message (batching). */
export const append_entries_max = 64;
/** Entries sent to one follower and not yet acknowledged (pipelining window). */
export const append_inflight_entries_max = 256;
/** Proposals accepted by a leader and not yet committed; beyond this propose() answers busy. */
export const uncommitted_entries_max = 1024;
/** ReadIndex requests waiting at a leader; beyond this readIndex() answers busy. */
export const read_requests_pending_max = 1024;

export interface RaftConfig {
  election_timeout_ms_min: number;
  election_timeout_ms_max: number;
  heartbeat_interval_ms: number;
  /** Thesis 9.6: ask for votes without bumping the term first, so a node that cannot win does not disrupt. */
  pre_vote: boolean;
  /** Thesis 6.2: a leader that has not heard from a quorum within an election timeout steps down,
   * and followers that heard from a leader within an election timeout ignore vote requests. */
  check_quorum: boolean;
  append_entries_max: number;
  append_inflight_entries_max: number;
  uncommitted_entries_max: number;
  read_requests_pending_max: number;
  /** Serve reads from a leader lease (no quorum round per read). Needs check_quorum, whose vote
   * stickiness is what stops a new leader from being elected while the lease runs. */
  lease_reads: boolean;
}

export const default_raft_config: Readonly<RaftConfig> = {
  election_timeout_ms_min,
  election_timeout_ms_max,
  heartbeat_interval_ms,
  pre_vote: true,
  check_quorum: true,
  append_entries_max,
  append_inflight_entries_max,
  uncommitted_entries_max,
  read_requests_pending_max,
  lease_reads: false,
};

/** Part of the election timeout a lease gives up, for clock-rate differences between nodes. */
export const lease_clock_drift_fraction = 0.1;
/** Heartbeat rounds remembered while waiting for a quorum to acknowledge them. */
const lease_rounds_max = 32;

// ---- messages (bodies are plain JSON; the sender is the envelope's source) ------------------------

export type RaftMessage =
  | { type: 'pre_vote'; term: number; last_log_index: number; last_log_term: number }
  | { type: 'pre_vote_ok'; term: number; vote_granted: boolean }
  | { type: 'request_vote'; term: number; last_log_index: number; last_log_term: number; transfer: boolean }
  | { type: 'request_vote_ok'; term: number; vote_granted: boolean }
  | {
      type: 'append_entries';
      term: number;
      prev_log_index: number;
      prev_log_term: number;
      entries: LogEntry[];
      leader_commit: number;
      /** Echoed in the reply; a reply confirms leadership for ReadIndex requests registered up to it. */
      read_seq: number;
    }
  | {
      type: 'append_entries_ok';
      term: number;
      success: boolean;
      /** On success: the follower's log matches the leader's up to here. */
      match_index: number;
      /** The prev_log_index of the request answered (lets the leader ignore stale rejections). */
      prev_log_index: number;
      /** On rejection: where the leader should look next (fast back-up). */
      conflict_index: number;
      /** On rejection: the follower's term at prev_log_index, or null if its log is shorter. */
      conflict_term: number | null;
      read_seq: number;
    }
  | { type: 'install_snapshot'; term: number; snapshot: Snapshot; read_seq: number }
  | { type: 'install_snapshot_ok'; term: number; match_index: number; read_seq: number }
  | { type: 'timeout_now'; term: number };

export type RaftMessageType = RaftMessage['type'];

export const raft_message_types: readonly RaftMessageType[] = [
  'pre_vote',
  'pre_vote_ok',
  'request_vote',
  'request_vote_ok',
  'append_entries',
  'append_entries_ok',
  'install_snapshot',
  'install_snapshot_ok',
  'timeout_now',
];

export interface Outgoing {
  to: NodeId;
  body: RaftMessage;
}

export type ReadRequestId = string | number;

export interface ReadState {
  request_id: ReadRequestId;
  /** Serve the read once the state machine has applied this index (ready() guarantees it has). */
  index: number;
}

export interface StateReport {
  role: Role;
  term: number;
  leader: NodeId | null;
  voted_for: NodeId | null;
  commit_index: number;
  last_applied: number;
  log_first_index: number;
  log_last_index: number;
  snapshot_index: number;
}

export interface Ready {
  /** Persist if not null (before sending messages). */
  hard_state: HardState | null;
  /** Persist atomically if not null; durable entries at or below snapshot.index may then be dropped. */
  snapshot: Snapshot | null;
  /** If not null: drop durable entries with index >= this, then append `entries`. */
  log_truncate_from: number | null;
  /** Append to the durable log (after the truncation above). Contiguous. */
  entries: LogEntry[];
  /** Send after persisting. */
  messages: Outgoing[];
  /** Restore the state machine from this (before applying committed). */
  apply_snapshot: Snapshot | null;
  /** Apply in order (skip op === null). They count as applied once handed out here. */
  committed: LogEntry[];
  /** Linearizable reads now safe to serve from local state. */
  read_states: ReadState[];
  /** Reads this node gave up on (lost leadership); the client may retry elsewhere. */
  reads_dropped: ReadRequestId[];
  state: StateReport;
}

export type ProposeResult =
  | { ok: true; index: number; term: number }
  | { ok: false; error: 'not_leader'; leader: NodeId | null }
  | { ok: false; error: 'transferring' | 'busy'; leader: NodeId | null };

export type ReadIndexResult =
  | { ok: true }
  | { ok: false; error: 'not_leader'; leader: NodeId | null }
  | { ok: false; error: 'transferring' | 'busy'; leader: NodeId | null };

export type TransferResult =
  | { ok: true }
  | { ok: false; error: 'not_leader' | 'unknown_node' | 'already_leader'; leader: NodeId | null };

export interface RaftCoreOptions {
  id: NodeId;
  /** The other members (not including id). */
  peers: readonly NodeId[];
  config?: Partial<RaftConfig>;
  persisted?: PersistedState;
  /** Uniform in [0, 1); the only source of randomness (election timeouts). */
  random: () => number;
  /** The time the node starts at; later times come through tick(). */
  now_ms?: number;
}

export class RaftInvariantError extends InvariantError {
  override name = 'RaftInvariantError';
}

function invariant(condition: unknown, what: string): asserts condition {
  if (!condition) throw new RaftInvariantError(`raft invariant broken: ${what}`);
}

interface Progress {
  match_index: number;
  next_index: number;
  /** probe: one append at a time until the follower's position is known; replicate: pipelined;
   * snapshot: an install_snapshot is outstanding. */
  mode: 'probe' | 'replicate' | 'snapshot';
  /** probe mode: an append is outstanding; wait for its reply or the next heartbeat. */
  probe_sent: boolean;
  /** snapshot mode: the index of the snapshot sent. */
  snapshot_index: number;
  /** CheckQuorum: heard from this follower since the last check. */
  recent_active: boolean;
}

interface PendingRead {
  request_ids: ReadRequestId[];
  index: number;
  seq: number;
  acks: Set<NodeId>;
}

export class RaftCore {
  readonly id: NodeId;
  readonly peers: readonly NodeId[];
  readonly config: Readonly<RaftConfig>;
  private readonly random: () => number;
  private now_ms: number;

  // Persistent state (reaches disk through Ready).
  private term = 0;
  private voted_for: NodeId | null = null;
  /** entries[k].index === snapshot_index + 1 + k */
  private entries: LogEntry[] = [];
  private snapshot: Snapshot | null = null;
  private snapshot_index = 0;
  private snapshot_term = 0;

  // Volatile state.
  private role: Role = 'follower';
  private leader: NodeId | null = null;
  private commit_index = 0;
  private last_applied = 0;
  private election_deadline_ms = 0;
  private leader_contact_ms = Number.NEGATIVE_INFINITY;
  private votes = new Map<NodeId, boolean>();

  // Leader state.
  private progress = new Map<NodeId, Progress>();
  private heartbeat_deadline_ms = Number.POSITIVE_INFINITY;
  private check_quorum_deadline_ms = Number.POSITIVE_INFINITY;
  private transfer_target: NodeId | null = null;
  private transfer_deadline_ms = Number.POSITIVE_INFINITY;
  /** Index of the no-op this leader appended; reads wait until it commits (thesis 6.4 step 1). */
  private term_start_index = 0;
  private read_seq = 0;
  private reads_pending: PendingRead[] = [];
  private reads_waiting: ReadRequestId[] = [];
  /** Lease reads: heartbeat rounds sent and who acknowledged them; the lease runs to lease_until_ms. */
  private lease_rounds: { seq: number; sent_ms: number; acks: Set<NodeId> }[] = [];
  private lease_until_ms = Number.NEGATIVE_INFINITY;

  // Outputs collected for the next Ready.
  private out_messages: Outgoing[] = [];
  private hard_state_dirty = false;
  private unstable_from = Number.POSITIVE_INFINITY;
  private snapshot_to_persist: Snapshot | null = null;
  private snapshot_to_apply: Snapshot | null = null;
  private out_read_states: ReadState[] = [];
  private out_reads_dropped: ReadRequestId[] = [];

  private last_checked_term = 0;

  /** Messages ignored because they were malformed or from an unknown node (operating errors). */
  dropped_messages = 0;

  constructor(options: RaftCoreOptions) {
    const config: RaftConfig = { ...default_raft_config, ...options.config };
    invariant(config.election_timeout_ms_min > 0, 'election_timeout_ms_min > 0');
    invariant(config.election_timeout_ms_max >= config.election_timeout_ms_min, 'election timeout range is ordered');
    invariant(config.heartbeat_interval_ms > 0, 'heartbeat_interval_ms > 0');
    invariant(config.heartbeat_interval_ms < config.election_timeout_ms_min, 'heartbeats come faster than elections');
    invariant(config.append_entries_max >= 1, 'append_entries_max >= 1');
    invariant(config.append_inflight_entries_max >= config.append_entries_max, 'inflight window holds one batch');
    invariant(!options.peers.includes(options.id), 'peers excludes self');
    invariant(new Set(options.peers).size === options.peers.length, 'peers are unique');
    this.id = options.id;
    this.peers = [...options.peers];
    this.config = config;
    this.random = options.random;
    this.now_ms = options.now_ms ?? 0;

    const persisted = options.persisted;
    if (persisted) {
      this.term = persisted.hard_state.term;
      this.voted_for = persisted.hard_state.voted_for;
      if (persisted.snapshot) {
        this.snapshot = persisted.snapshot;
        this.snapshot_index = persisted.snapshot.index;
        this.snapshot_term = persisted.snapshot.term;
        // The state machine starts from the snapshot: hand it out in the first Ready.
        this.snapshot_to_apply = persisted.snapshot;
      }
      for (const entry of persisted.entries) {
        if (entry.index <= this.snapshot_index) continue;
        this.appendOne(entry);
      }
      invariant(this.lastTerm() <= this.term, 'persisted log has no entry from a future term');
    }
    this.commit_index = this.snapshot_index;
    this.last_applied = this.snapshot_index;
    this.resetElectionTimer();
  }

  // ---- queries ------------------------------------------------------------------------------------

  state(): StateReport {
    return {
      role: this.role,
      term: this.term,
      leader: this.leader,
      voted_for: this.voted_for,
      commit_index: this.commit_index,
      last_applied: this.last_applied,
      log_first_index: this.snapshot_index + 1,
      log_last_index: this.lastIndex(),
      snapshot_index: this.snapshot_index,
    };
  }

  /** The earliest time tick() has something to do. */
  nextTimerMs(): number {
    if (this.role === 'leader') {
      return Math.min(this.heartbeat_deadline_ms, this.check_quorum_deadline_ms, this.transfer_deadline_ms);
    }
    return this.election_deadline_ms;
  }

  termAt(index: number): number | undefined {
    if (index === this.snapshot_index) return this.snapshot_term;
    if (index < this.snapshot_index || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapshot_index - 1]!.term;
  }

  entryAt(index: number): LogEntry | undefined {
    if (index <= this.snapshot_index || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapshot_index - 1];
  }

  lastIndex(): number {
    return this.snapshot_index + this.entries.length;
  }

  lastTerm(): number {
    const last = this.entries[this.entries.length - 1];
    return last ? last.term : this.snapshot_term;
  }

  currentSnapshot(): Snapshot | null {
    return this.snapshot;
  }

  hasReady(): boolean {
    return (
      this.out_messages.length > 0 ||
      this.hard_state_dirty ||
      this.unstable_from !== Number.POSITIVE_INFINITY ||
      this.snapshot_to_persist !== null ||
      this.snapshot_to_apply !== null ||
      this.commit_index > this.last_applied ||
      this.out_read_states.length > 0 ||
      this.out_reads_dropped.length > 0
    );
  }

  /** Take the collected outputs; see the file comment for what the runtime must do with them. */
  ready(): Ready {
    const truncate_from = this.unstable_from === Number.POSITIVE_INFINITY ? null : this.unstable_from;
    const entries = truncate_from === null ? [] : this.slice(Math.max(truncate_from, this.snapshot_index + 1), this.lastIndex());
    const committed = this.slice(this.last_applied + 1, this.commit_index);
    this.last_applied = this.commit_index;
    for (const read of this.out_read_states) invariant(read.index <= this.last_applied, 'reads are served only after their index is applied');
    const ready: Ready = {
      hard_state: this.hard_state_dirty ? { term: this.term, voted_for: this.voted_for } : null,
      snapshot: this.snapshot_to_persist,
      log_truncate_from: truncate_from,
      entries,
      messages: this.out_messages,
      apply_snapshot: this.snapshot_to_apply,
      committed,
      read_states: this.out_read_states,
      reads_dropped: this.out_reads_dropped,
      state: this.state(),
    };
    this.out_messages = [];
    this.hard_state_dirty = false;
    this.unstable_from = Number.POSITIVE_INFINITY;
    this.snapshot_to_persist = null;
    this.snapshot_to_apply = null;
    this.out_read_states = [];
    this.out_reads_dropped = [];
    return ready;
  }

  // ---- inputs -------------------------------------------------------------------------------------

  /** Advance time; fires whichever timers are due. Call it with the current time before each step(). */
  tick(now_ms: number): void {
    invariant(now_ms >= this.now_ms, 'time never goes backwards');
    this.now_ms = now_ms;
    if (this.role === 'leader') {
      if (this.transfer_target !== null && now_ms >= this.transfer_deadline_ms) this.abortTransfer();
      if (now_ms >= this.check_quorum_deadline_ms) {
        this.check_quorum_deadline_ms = now_ms + this.config.election_timeout_ms_min;
        let active = 1;
        for (const pr of this.progress.values()) {
          if (pr.recent_active) active++;
          pr.recent_active = false;
        }
        if (this.config.check_quorum && active < this.quorum()) {
          // Cut off from a majority: stop accepting writes that could never commit and let reads fail over.
          this.becomeFollower(this.term, null);
          this.checkInvariants();
          return;
        }
      }
      if (now_ms >= this.heartbeat_deadline_ms) {
        this.heartbeat_deadline_ms = now_ms + this.config.heartbeat_interval_ms;
        this.broadcastHeartbeat();
      }
    } else if (now_ms >= this.election_deadline_ms) {
      this.campaign(this.config.pre_vote ? 'pre_vote' : 'election', false);
    }
    this.checkInvariants();
  }

  /** A message from another node. Malformed messages or unknown senders are counted and ignored. */
  step(from: NodeId, message: RaftMessage): void {
    if (!this.peers.includes(from) || !isRaftMessage(message)) {
      this.dropped_messages++;
      return;
    }
    const msg_term = message.term;
    if (msg_term > this.term) {
      if (message.type === 'pre_vote' || message.type === 'request_vote') {
        const forced = message.type === 'request_vote' && message.transfer;
        // A follower that hears from a live leader ignores elections: this is what stops a
        // rejoining, partitioned node from deposing a healthy leader.
        const lease_applies = this.config.check_quorum || message.type === 'pre_vote';
        if (lease_applies && !forced && this.inLease()) return;
      }
      if (message.type === 'pre_vote') {
        // A pre-vote never changes our term.
      } else if (message.type === 'pre_vote_ok' && message.vote_granted) {
        // Granted pre-votes carry the term we proposed, not a newer real term.
      } else {
        const leader = message.type === 'append_entries' || message.type === 'install_snapshot' ? from : null;
        this.becomeFollower(msg_term, leader);
      }
    } else if (msg_term < this.term) {
      if (message.type === 'append_entries' || message.type === 'install_snapshot') {
        // Tell a stale leader about the newer term so it steps down (needed with CheckQuorum, where
        // vote requests alone may no longer reach it).
        this.send(from, {
          type: 'append_entries_ok',
          term: this.term,
          success: false,
          match_index: 0,
          prev_log_index: 0,
          conflict_index: 0,
          conflict_term: null,
          read_seq: 0,
        });
      } else if (message.type === 'pre_vote') {
        this.send(from, { type: 'pre_vote_ok', term: this.term, vote_granted: false });
      } else if (message.type === 'request_vote') {
        this.send(from, { type: 'request_vote_ok', term: this.term, vote_granted: false });
      }
      this.checkInvariants();
      return;
    }

    switch (message.type) {
      case 'pre_vote':
        this.handlePreVote(from, message);
        break;
      case 'request_vote':
        this.handleRequestVote(from, message);
        break;
      case 'pre_vote_ok':
        if (this.role === 'pre_candidate') {
          if (message.vote_granted && message.term === this.term + 1) this.recordVote(from, true);
          else if (!message.vote_granted && message.term === this.term) this.recordVote(from, false);
        }
        break;
      case 'request_vote_ok':
        if (this.role === 'candidate' && message.term === this.term) this.recordVote(from, message.vote_granted);
        break;
      case 'append_entries':
        this.acceptLeader(from);
        this.handleAppendEntries(from, message);
        break;
      case 'install_snapshot':
        this.acceptLeader(from);
        this.handleInstallSnapshot(from, message);
        break;
      case 'append_entries_ok':
        if (this.role === 'leader') this.handleAppendEntriesOk(from, message);
        break;
      case 'install_snapshot_ok':
        if (this.role === 'leader') this.handleInstallSnapshotOk(from, message);
        break;
      case 'timeout_now':
        // Leadership transfer: the leader says we are caught up; start a real election right away.
        if (this.role !== 'leader') this.campaign('election', true);
        break;
    }
    this.checkInvariants();
  }

  /** Append a command to the log (leader only). It is committed when it appears in Ready.committed. */
  propose(op: unknown): ProposeResult {
    // undefined would vanish in JSON and make every append carrying it malformed.
    invariant(op !== undefined && op !== null, 'a proposed op is a JSON value (null is reserved for no-ops)');
    if (this.role !== 'leader') return { ok: false, error: 'not_leader', leader: this.leader };
    if (this.transfer_target !== null) return { ok: false, error: 'transferring', leader: this.leader };
    if (this.lastIndex() - this.commit_index >= this.config.uncommitted_entries_max) {
      return { ok: false, error: 'busy', leader: this.leader };
    }
    const entry: LogEntry = { index: this.lastIndex() + 1, term: this.term, op };
    this.appendOne(entry);
    this.unstable_from = Math.min(this.unstable_from, entry.index);
    this.maybeCommit();
    for (const peer of this.peers) this.sendAppend(peer, false);
    this.checkInvariants();
    return { ok: true, index: entry.index, term: entry.term };
  }

  /** Start a linearizable read (thesis 6.4). The read may be served when request_id shows up in
   * Ready.read_states, and must be answered from state at or after that index. */
  readIndex(request_id: ReadRequestId): ReadIndexResult {
    if (this.role !== 'leader') return { ok: false, error: 'not_leader', leader: this.leader };
    if (this.transfer_target !== null) return { ok: false, error: 'transferring', leader: this.leader };
    const pending = this.reads_waiting.length + this.reads_pending.reduce((n, r) => n + r.request_ids.length, 0);
    if (pending >= this.config.read_requests_pending_max) return { ok: false, error: 'busy', leader: this.leader };
    if (this.commit_index < this.term_start_index) {
      // Until our no-op commits we may not know the latest commit index.
      this.reads_waiting.push(request_id);
    } else {
      this.registerReads([request_id]);
    }
    this.checkInvariants();
    return { ok: true };
  }

  /** A read served from the leader lease when it runs (thesis 6.4.1), else through ReadIndex. */
  readLease(request_id: ReadRequestId): ReadIndexResult {
    invariant(this.config.lease_reads && this.config.check_quorum, 'lease reads need lease_reads and check_quorum on');
    if (this.role === 'leader' && this.transfer_target === null && this.commit_index >= this.term_start_index && this.now_ms < this.lease_until_ms) {
      this.out_read_states.push({ request_id, index: this.commit_index });
      return { ok: true };
    }
    return this.readIndex(request_id);
  }

  /** Hand leadership to target once it is caught up (thesis 3.10). Proposals are refused meanwhile. */
  transferLeadership(target: NodeId): TransferResult {
    if (this.role !== 'leader') return { ok: false, error: 'not_leader', leader: this.leader };
    if (target === this.id) return { ok: false, error: 'already_leader', leader: this.leader };
    if (!this.peers.includes(target)) return { ok: false, error: 'unknown_node', leader: this.leader };
    if (this.transfer_target === target) return { ok: true };
    this.transfer_target = target;
    // The target will campaign at once, ignoring vote stickiness: the lease no longer holds.
    this.lease_until_ms = Number.NEGATIVE_INFINITY;
    // Give up after an election timeout: the target may be down or partitioned.
    this.transfer_deadline_ms = this.now_ms + this.config.election_timeout_ms_min;
    const pr = this.progressOf(target);
    if (pr.match_index === this.lastIndex()) {
      this.send(target, { type: 'timeout_now', term: this.term });
    } else {
      pr.probe_sent = false;
      this.sendAppend(target, false);
    }
    this.checkInvariants();
    return { ok: true };
  }

  /** The application took a snapshot of its state after applying index; drop the log up to there. */
  compact(index: number, data: unknown): void {
    invariant(index <= this.last_applied, 'snapshots cover applied entries only');
    invariant(data !== undefined, 'snapshot data is a JSON value');
    if (index <= this.snapshot_index) return; // an older snapshot than we already hold
    invariant(index < this.unstable_from, 'compacted entries were already persisted');
    const term = this.termAt(index);
    invariant(term !== undefined, 'compaction index is in the log');
    this.entries = this.entries.slice(index - this.snapshot_index);
    this.snapshot = { index, term, data };
    this.snapshot_index = index;
    this.snapshot_term = term;
    this.snapshot_to_persist = this.snapshot;
    this.checkInvariants();
  }

  // ---- elections ----------------------------------------------------------------------------------

  private campaign(kind: 'pre_vote' | 'election', transfer: boolean): void {
    this.votes = new Map([[this.id, true]]);
    this.leader = null;
    this.resetElectionTimer();
    if (kind === 'pre_vote') {
      this.role = 'pre_candidate';
      for (const peer of this.peers) {
        this.send(peer, { type: 'pre_vote', term: this.term + 1, last_log_index: this.lastIndex(), last_log_term: this.lastTerm() });
      }
    } else {
      this.clearLeaderState();
      this.role = 'candidate';
      this.term += 1;
      this.voted_for = this.id;
      this.hard_state_dirty = true;
      for (const peer of this.peers) {
        this.send(peer, {
          type: 'request_vote',
          term: this.term,
          last_log_index: this.lastIndex(),
          last_log_term: this.lastTerm(),
          transfer,
        });
      }
    }
    this.tallyVotes();
  }

  private recordVote(from: NodeId, granted: boolean): void {
    if (!this.votes.has(from)) this.votes.set(from, granted);
    this.tallyVotes();
  }

  private tallyVotes(): void {
    let granted = 0;
    let rejected = 0;
    for (const v of this.votes.values()) {
      if (v) granted++;
      else rejected++;
    }
    if (granted >= this.quorum()) {
      if (this.role === 'pre_candidate') this.campaign('election', false);
      else if (this.role === 'candidate') this.becomeLeader();
    } else if (rejected >= this.quorum()) {
      this.becomeFollower(this.term, null);
    }
  }

  private isUpToDate(last_log_index: number, last_log_term: number): boolean {
    // Election restriction (paper 5.4.1): the voter's log must not be more up-to-date than the candidate's.
    const my_term = this.lastTerm();
    return last_log_term > my_term || (last_log_term === my_term && last_log_index >= this.lastIndex());
  }

  private handlePreVote(from: NodeId, m: Extract<RaftMessage, { type: 'pre_vote' }>): void {
    const granted = m.term > this.term && this.isUpToDate(m.last_log_index, m.last_log_term);
    this.send(from, { type: 'pre_vote_ok', term: granted ? m.term : this.term, vote_granted: granted });
  }

  private handleRequestVote(from: NodeId, m: Extract<RaftMessage, { type: 'request_vote' }>): void {
    invariant(m.term === this.term, 'vote requests are handled at their own term');
    // One vote per term; and no vote while we know this term's leader.
    const can_vote = this.voted_for === from || (this.voted_for === null && this.leader === null);
    const granted = can_vote && this.isUpToDate(m.last_log_index, m.last_log_term);
    if (granted) {
      invariant(this.role === 'follower' || this.role === 'pre_candidate', 'leaders and candidates voted for themselves');
      if (this.role === 'pre_candidate') this.becomeFollower(this.term, null);
      this.voted_for = from;
      this.hard_state_dirty = true;
      this.resetElectionTimer();
    }
    this.send(from, { type: 'request_vote_ok', term: this.term, vote_granted: granted });
  }

  private becomeFollower(term: number, leader: NodeId | null): void {
    invariant(term >= this.term, 'terms never decrease');
    if (term > this.term) {
      this.term = term;
      this.voted_for = null;
      this.hard_state_dirty = true;
    }
    this.clearLeaderState();
    this.role = 'follower';
    this.leader = leader;
    if (leader !== null) this.leader_contact_ms = this.now_ms;
    this.resetElectionTimer();
  }

  private becomeLeader(): void {
    invariant(this.role === 'candidate' && this.voted_for === this.id, 'leaders were candidates that voted for themselves');
    this.role = 'leader';
    this.leader = this.id;
    this.progress = new Map();
    for (const peer of this.peers) {
      this.progress.set(peer, {
        match_index: 0,
        next_index: this.lastIndex() + 1,
        mode: 'probe',
        probe_sent: false,
        snapshot_index: 0,
        recent_active: false,
      });
    }
    this.heartbeat_deadline_ms = this.now_ms + this.config.heartbeat_interval_ms;
    this.check_quorum_deadline_ms = this.now_ms + this.config.election_timeout_ms_min;
    // A no-op in our term lets us commit (Figure 8 rule) everything earlier leaders left behind.
    const noop: LogEntry = { index: this.lastIndex() + 1, term: this.term, op: null };
    this.appendOne(noop);
    this.unstable_from = Math.min(this.unstable_from, noop.index);
    this.term_start_index = noop.index;
    this.maybeCommit();
    for (const peer of this.peers) this.sendAppend(peer, true);
  }

  /** append_entries or install_snapshot at our term: the sender is this term's leader. */
  private acceptLeader(from: NodeId): void {
    invariant(this.role !== 'leader', 'election safety: at most one leader per term');
    invariant(this.leader === null || this.leader === from, 'one leader per term');
    if (this.role !== 'follower') this.becomeFollower(this.term, from);
    this.leader = from;
    this.leader_contact_ms = this.now_ms;
    this.resetElectionTimer();
  }

  private inLease(): boolean {
    if (this.leader === null) return false;
    if (this.role === 'leader') return true;
    return this.now_ms - this.leader_contact_ms < this.config.election_timeout_ms_min;
  }

  private resetElectionTimer(): void {
    const r = this.random();
    invariant(r >= 0 && r < 1, 'random() is in [0, 1)');
    const span = this.config.election_timeout_ms_max - this.config.election_timeout_ms_min;
    this.election_deadline_ms = this.now_ms + this.config.election_timeout_ms_min + Math.floor(r * span);
  }

  private clearLeaderState(): void {
    if (this.role === 'leader') this.dropReads();
    this.progress = new Map();
    this.heartbeat_deadline_ms = Number.POSITIVE_INFINITY;
    this.check_quorum_deadline_ms = Number.POSITIVE_INFINITY;
    this.transfer_target = null;
    this.transfer_deadline_ms = Number.POSITIVE_INFINITY;
    this.term_start_index = 0;
    this.lease_rounds = [];
    this.lease_until_ms = Number.NEGATIVE_INFINITY;
  }

  private abortTransfer(): void {
    this.transfer_target = null;
    this.transfer_deadline_ms = Number.POSITIVE_INFINITY;
  }

  // ---- replication: follower side -----------------------------------------------------------------

  private handleAppendEntries(from: NodeId, m: Extract<RaftMessage, { type: 'append_entries' }>): void {
    const reject = (conflict_index: number, conflict_term: number | null): void => {
      this.send(from, {
        type: 'append_entries_ok',
        term: this.term,
        success: false,
        match_index: 0,
        prev_log_index: m.prev_log_index,
        conflict_index,
        conflict_term,
        read_seq: m.read_seq,
      });
    };
    const accept = (match_index: number): void => {
      this.send(from, {
        type: 'append_entries_ok',
        term: this.term,
        success: true,
        match_index,
        prev_log_index: m.prev_log_index,
        conflict_index: 0,
        conflict_term: null,
        read_seq: m.read_seq,
      });
    };

    let prev = m.prev_log_index;
    let prev_term = m.prev_log_term;
    let entries = m.entries;
    if (prev < this.commit_index) {
      // Our committed prefix matches the leader's log (Log Matching + Leader Completeness); skip it.
      const skip = Math.min(entries.length, this.commit_index - prev);
      for (let k = 0; k < skip; k++) {
        const e = entries[k]!;
        const local = this.termAt(e.index);
        invariant(local === undefined || local === e.term, 'a committed entry never differs from the leader\'s');
      }
      if (skip === entries.length) {
        accept(this.commit_index);
        return;
      }
      entries = entries.slice(skip);
      prev = this.commit_index;
      prev_term = this.termAt(prev)!;
      invariant(entries[0]!.index === prev + 1, 'append_entries entries are contiguous');
    }

    const local_prev_term = this.termAt(prev);
    if (local_prev_term === undefined) {
      // Our log is shorter: the leader should continue right after our last entry.
      reject(this.lastIndex() + 1, null);
      return;
    }
    if (local_prev_term !== prev_term) {
      invariant(prev > this.commit_index, 'committed entries match the leader\'s');
      // Fast back-up: point at the first entry of the conflicting term so the leader skips it whole.
      let first = prev;
      while (first - 1 > this.commit_index && this.termAt(first - 1) === local_prev_term) first--;
      reject(first, local_prev_term);
      return;
    }

    for (let k = 0; k < entries.length; k++) {
      const e = entries[k]!;
      invariant(e.index === prev + 1 + k, 'append_entries entries are contiguous');
      const local = this.termAt(e.index);
      if (local === e.term) continue; // already have it (a duplicate or reordered message)
      if (local !== undefined) this.truncateFrom(e.index);
      for (let j = k; j < entries.length; j++) this.appendOne(entries[j]!);
      this.unstable_from = Math.min(this.unstable_from, e.index);
      break;
    }

    const last_new = prev + entries.length;
    const commit = Math.min(m.leader_commit, last_new);
    if (commit > this.commit_index) this.commit_index = commit;
    accept(last_new);
  }

  private handleInstallSnapshot(from: NodeId, m: Extract<RaftMessage, { type: 'install_snapshot' }>): void {
    const s = m.snapshot;
    let match: number;
    if (s.index <= this.commit_index) {
      match = this.commit_index;
    } else if (this.termAt(s.index) === s.term) {
      // We hold the entries the snapshot covers: just learn that they are committed.
      this.commit_index = s.index;
      match = s.index;
    } else {
      this.snapshot = s;
      this.snapshot_index = s.index;
      this.snapshot_term = s.term;
      this.entries = [];
      this.commit_index = s.index;
      this.last_applied = s.index;
      this.snapshot_to_persist = s;
      this.snapshot_to_apply = s;
      // Drop the whole durable log: entries after the snapshot may conflict with the leader's.
      this.unstable_from = Math.min(this.unstable_from, s.index + 1);
      match = s.index;
    }
    this.send(from, { type: 'install_snapshot_ok', term: this.term, match_index: match, read_seq: m.read_seq });
  }

  private appendOne(entry: LogEntry): void {
    invariant(entry.index === this.lastIndex() + 1, 'the log is contiguous');
    invariant(entry.term >= this.lastTerm(), 'terms in the log never decrease');
    invariant(entry.term <= this.term, 'no entry from a future term');
    this.entries.push(entry);
  }

  private truncateFrom(index: number): void {
    invariant(this.role !== 'leader', 'leader append-only: a leader never truncates its log');
    invariant(index > this.commit_index, 'committed entries are never truncated');
    invariant(index > this.snapshot_index, 'truncation stays after the snapshot');
    this.entries.length = index - this.snapshot_index - 1;
    this.unstable_from = Math.min(this.unstable_from, index);
  }

  // ---- replication: leader side -------------------------------------------------------------------

  private progressOf(peer: NodeId): Progress {
    const pr = this.progress.get(peer);
    invariant(pr !== undefined, 'leader tracks every peer');
    return pr;
  }

  private broadcastHeartbeat(): void {
    if (this.config.lease_reads) {
      // Each round carries a fresh read_seq, so its acknowledgements can extend the lease.
      this.read_seq += 1;
      this.lease_rounds.push({ seq: this.read_seq, sent_ms: this.now_ms, acks: new Set([this.id]) });
      if (this.lease_rounds.length > lease_rounds_max) this.lease_rounds.shift();
    }
    for (const peer of this.peers) {
      const pr = this.progressOf(peer);
      if (pr.mode === 'replicate' && pr.match_index < this.lastIndex()) {
        // Unacknowledged entries after a heartbeat interval: assume loss and resend from the last match.
        pr.mode = 'probe';
        pr.next_index = pr.match_index + 1;
      }
      pr.probe_sent = false;
      this.sendAppend(peer, true);
    }
  }

  /** Send entries from next_index (or a snapshot). heartbeat: send even if there is nothing new. */
  private sendAppend(peer: NodeId, heartbeat: boolean): void {
    const pr = this.progressOf(peer);
    if (pr.mode === 'snapshot') {
      // Resend on each heartbeat until it is acknowledged (it may have been lost).
      if (heartbeat) this.sendSnapshot(peer);
      return;
    }
    if (pr.mode === 'probe' && pr.probe_sent && !heartbeat) return;
    const prev = pr.next_index - 1;
    const prev_term = this.termAt(prev);
    if (prev_term === undefined) {
      invariant(prev < this.snapshot_index, 'next_index is within the log');
      this.sendSnapshot(peer);
      return;
    }
    let count = Math.min(this.lastIndex() - prev, this.config.append_entries_max);
    if (pr.mode === 'replicate') {
      const inflight = prev - pr.match_index;
      count = Math.min(count, Math.max(0, this.config.append_inflight_entries_max - inflight));
    }
    if (count === 0 && !heartbeat) return;
    this.send(peer, {
      type: 'append_entries',
      term: this.term,
      prev_log_index: prev,
      prev_log_term: prev_term,
      entries: this.slice(prev + 1, prev + count),
      leader_commit: this.commit_index,
      read_seq: this.read_seq,
    });
    if (pr.mode === 'replicate') pr.next_index = prev + count + 1;
    else pr.probe_sent = true;
  }

  private sendSnapshot(peer: NodeId): void {
    const pr = this.progressOf(peer);
    invariant(this.snapshot !== null, 'a compacted log has a snapshot');
    pr.mode = 'snapshot';
    pr.snapshot_index = this.snapshot.index;
    this.send(peer, { type: 'install_snapshot', term: this.term, snapshot: this.snapshot, read_seq: this.read_seq });
  }

  private handleAppendEntriesOk(from: NodeId, m: Extract<RaftMessage, { type: 'append_entries_ok' }>): void {
    const pr = this.progressOf(from);
    pr.recent_active = true;
    this.ackReads(from, m.read_seq);
    if (m.success) {
      invariant(m.match_index <= this.lastIndex(), 'followers never match beyond the leader\'s log');
      this.advanceMatch(from, pr, m.match_index);
      return;
    }
    if (pr.mode === 'snapshot') return; // waiting for the snapshot; this rejection predates it
    if (m.prev_log_index <= pr.match_index) return; // stale: we already know more
    if (pr.mode === 'probe' && m.prev_log_index !== pr.next_index - 1) return; // not the probe outstanding
    let next = m.conflict_index;
    if (m.conflict_term !== null) {
      const last_of_term = this.lastIndexOfTerm(m.conflict_term, m.prev_log_index);
      if (last_of_term > 0) next = last_of_term + 1;
    }
    // Always move backwards, and never below what is known to match.
    next = Math.max(pr.match_index + 1, Math.min(next, m.prev_log_index));
    pr.next_index = next;
    pr.mode = 'probe';
    pr.probe_sent = false;
    this.sendAppend(from, false);
  }

  private handleInstallSnapshotOk(from: NodeId, m: Extract<RaftMessage, { type: 'install_snapshot_ok' }>): void {
    const pr = this.progressOf(from);
    pr.recent_active = true;
    this.ackReads(from, m.read_seq);
    this.advanceMatch(from, pr, m.match_index);
  }

  private advanceMatch(peer: NodeId, pr: Progress, match_index: number): void {
    if (match_index > pr.match_index) pr.match_index = match_index;
    if (pr.next_index < pr.match_index + 1) pr.next_index = pr.match_index + 1;
    if (pr.mode === 'snapshot') {
      if (pr.match_index >= pr.snapshot_index) {
        pr.mode = 'probe';
        pr.next_index = pr.match_index + 1;
      }
    } else if (pr.mode === 'probe') {
      pr.mode = 'replicate';
      pr.next_index = pr.match_index + 1;
    }
    pr.probe_sent = false;
    this.maybeCommit();
    if (this.role !== 'leader') return;
    if (this.transfer_target === peer && pr.match_index === this.lastIndex()) {
      this.send(peer, { type: 'timeout_now', term: this.term });
    }
    if (pr.mode !== 'snapshot' && pr.next_index <= this.lastIndex()) this.sendAppend(peer, false);
  }

  /** Last index in our log (at or before upto) holding an entry of term, or 0. */
  private lastIndexOfTerm(term: number, upto: number): number {
    for (let i = Math.min(upto, this.lastIndex()); i >= this.snapshot_index; i--) {
      const t = this.termAt(i)!;
      if (t === term) return i;
      if (t < term) return 0;
    }
    return 0;
  }

  private canCommit(index: number): boolean {
    // Figure 8: only entries of the current term are committed by counting replicas.
    return this.termAt(index) === this.term;
  }

  private maybeCommit(): void {
    const matches = [this.lastIndex()];
    for (const pr of this.progress.values()) matches.push(pr.match_index);
    matches.sort((a, b) => b - a);
    const quorum_index = matches[this.quorum() - 1]!;
    if (quorum_index <= this.commit_index || !this.canCommit(quorum_index)) return;
    this.commit_index = quorum_index;
    if (this.reads_waiting.length > 0 && this.commit_index >= this.term_start_index) {
      const ids = this.reads_waiting;
      this.reads_waiting = [];
      this.registerReads(ids);
    }
  }

  // ---- ReadIndex ----------------------------------------------------------------------------------

  private registerReads(request_ids: ReadRequestId[]): void {
    invariant(this.role === 'leader' && this.commit_index >= this.term_start_index, 'reads start after the leader commits in its term');
    if (this.peers.length === 0) {
      for (const id of request_ids) this.out_read_states.push({ request_id: id, index: this.commit_index });
      return;
    }
    this.read_seq += 1;
    this.reads_pending.push({ request_ids, index: this.commit_index, seq: this.read_seq, acks: new Set([this.id]) });
    // Confirm we are still the leader: a quorum must answer a message sent after the read arrived.
    for (const peer of this.peers) {
      const pr = this.progressOf(peer);
      if (pr.mode === 'snapshot') this.sendSnapshot(peer);
      else this.sendAppend(peer, true);
    }
  }

  private ackReads(from: NodeId, read_seq: number): void {
    for (let i = this.lease_rounds.length - 1; i >= 0; i--) {
      const round = this.lease_rounds[i]!;
      if (round.seq > read_seq) continue;
      round.acks.add(from);
      if (round.acks.size >= this.quorum()) {
        // A quorum heard from us at or after sent_ms: none of them votes for anyone else for an
        // election timeout after that, so no other leader can exist before the lease ends.
        const lease = round.sent_ms + this.config.election_timeout_ms_min * (1 - lease_clock_drift_fraction);
        this.lease_until_ms = Math.max(this.lease_until_ms, lease);
        this.lease_rounds = this.lease_rounds.slice(i + 1);
        break;
      }
    }
    for (const read of this.reads_pending) {
      if (read.seq <= read_seq) read.acks.add(from);
    }
    while (this.reads_pending.length > 0 && this.reads_pending[0]!.acks.size >= this.quorum()) {
      const read = this.reads_pending.shift()!;
      for (const id of read.request_ids) this.out_read_states.push({ request_id: id, index: read.index });
    }
  }

  private dropReads(): void {
    for (const read of this.reads_pending) this.out_reads_dropped.push(...read.request_ids);
    this.out_reads_dropped.push(...this.reads_waiting);
    this.reads_pending = [];
    this.reads_waiting = [];
  }

  // ---- helpers ------------------------------------------------------------------------------------

  private quorum(): number {
    return Math.floor((this.peers.length + 1) / 2) + 1;
  }

  private send(to: NodeId, body: RaftMessage): void {
    this.out_messages.push({ to, body });
  }

  /** Entries from..to inclusive (both within the log). */
  private slice(from: number, to: number): LogEntry[] {
    if (to < from) return [];
    invariant(from > this.snapshot_index && to <= this.lastIndex(), 'slice is within the log');
    return this.entries.slice(from - this.snapshot_index - 1, to - this.snapshot_index);
  }

  private checkInvariants(): void {
    invariant(this.term >= this.last_checked_term, 'terms never decrease');
    this.last_checked_term = this.term;
    invariant(this.snapshot_index <= this.commit_index, 'the snapshot is committed');
    invariant(this.commit_index <= this.lastIndex(), 'commit index is within the log');
    invariant(this.last_applied <= this.commit_index, 'only committed entries are applied');
    invariant(this.lastTerm() <= this.term, 'no entry from a future term');
    const first = this.entries[0];
    invariant(first === undefined || first.index === this.snapshot_index + 1, 'the log starts right after the snapshot');
    if (this.role === 'leader') {
      invariant(this.leader === this.id && this.voted_for === this.id, 'a leader voted for itself');
    }
    if (this.role === 'candidate') invariant(this.voted_for === this.id, 'a candidate voted for itself');
  }
}

/** Shape check for messages arriving from the network (a malformed one is an operating error). */
export function isRaftMessage(value: unknown): value is RaftMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  if (!raft_message_types.includes(m['type'] as RaftMessageType)) return false;
  if (!isCount(m['term'])) return false;
  switch (m['type'] as RaftMessageType) {
    case 'pre_vote':
      return isCount(m['last_log_index']) && isCount(m['last_log_term']);
    case 'request_vote':
      return isCount(m['last_log_index']) && isCount(m['last_log_term']) && typeof m['transfer'] === 'boolean';
    case 'pre_vote_ok':
    case 'request_vote_ok':
      return typeof m['vote_granted'] === 'boolean';
    case 'append_entries': {
      if (!isCount(m['prev_log_index']) || !isCount(m['prev_log_term']) || !isCount(m['leader_commit'])) return false;
      if (!isCount(m['read_seq']) || !Array.isArray(m['entries'])) return false;
      const prev = m['prev_log_index'] as number;
      return (m['entries'] as unknown[]).every((e, k) => isEntry(e) && e.index === prev + 1 + k);
    }
    case 'append_entries_ok':
      return (
        typeof m['success'] === 'boolean' &&
        isCount(m['match_index']) &&
        isCount(m['prev_log_index']) &&
        isCount(m['conflict_index']) &&
        (m['conflict_term'] === null || isCount(m['conflict_term'])) &&
        isCount(m['read_seq'])
      );
    case 'install_snapshot': {
      const s = m['snapshot'] as Record<string, unknown> | null | undefined;
      return isCount(m['read_seq']) && typeof s === 'object' && s !== null && isCount(s['index']) && isCount(s['term']) && 'data' in s;
    }
    case 'install_snapshot_ok':
      return isCount(m['match_index']) && isCount(m['read_seq']);
    case 'timeout_now':
      return true;
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isEntry(v: unknown): v is LogEntry {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return isCount(e['index']) && isCount(e['term']) && 'op' in e;
}
