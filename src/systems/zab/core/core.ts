// The Zab protocol core: a deterministic state machine with no I/O, no clock and no global randomness.
//
// Inputs are method calls: step (a message), tick (time is now), propose (a client's write at this
// server), compact (the application's snapshot). Outputs collect until the runtime takes them with
// ready(), and the runtime must handle a Ready in this order:
//   1. persist accepted_epoch and current_epoch (two separate values, as ZooKeeper keeps two files),
//      the snapshot, then the log change (drop txns after log_truncate_after, append log_append), fsync;
//   2. send messages;
//   3. restore the state machine from apply_snapshot, then apply committed txns in order.
// Persisting before sending is what makes an ACKEPOCH, a NEWLEADER acknowledgement or a proposal's
// ACK mean "this is on disk".
//
// The protocol follows ZooKeeper's Zab as its internals document and the Zab paper (Junqueira, Reed,
// Serafini: "Zab: High-performance broadcast for primary-backup systems") describe it, in four
// phases: Fast Leader Election, discovery, synchronization and broadcast. Where this core's network
// differs from ZooKeeper's TCP (it may lose, duplicate and reorder), see messages.ts.

import { InvariantError } from '../../../lib/util/errors.js';
import type { LoggedTxn, ServerState, Snapshot, SyncMode, Vote, ZabMessage } from './messages.js';
import { compareZxid, formatZxid, maxZxid, minZxid, zxid, zxid_counter_max, zxid_epoch_max, zxid_zero, zxidEquals, type Zxid } from './zxid.js';

export type { LoggedTxn, ServerState, Snapshot, SyncMode, Vote, ZabMessage } from './messages.js';

// ---- limits (each with its unit last) -------------------------------------------------------------

/** FLE: once a quorum agrees, wait this long for a better vote before deciding (ZooKeeper's finalizeWait). */
export const finalize_wait_ms = 30;
/** FLE: resend the current vote this often while looking, doubling up to the max (lost notifications). */
export const notification_interval_ms_min = 50;
export const notification_interval_ms_max = 400;
/** Discovery and synchronization must finish within this (ZooKeeper's initLimit, in ms). */
export const init_limit_ms = 600;
/** In broadcast, a leader that has not heard from a quorum, or a learner that has not heard from its
 * leader, for this long goes back to looking (ZooKeeper's syncLimit, in ms). */
export const sync_limit_ms = 240;
/** The leader pings its learners this often (ZooKeeper pings every half tick). */
export const ping_interval_ms = 40;
/** A learner resends its last handshake message this often until the leader answers. */
export const learner_retry_ms = 40;
/** Proposals a leader has made and not yet committed; beyond this propose() answers busy. */
export const outstanding_proposals_max = 1000;
/** Txns kept in memory after the snapshot; beyond this a leader refuses writes until the application compacts. */
export const log_txns_max = 100_000;
/** Proposals (or informs) resent to one lagging learner per ping. */
export const resend_txns_per_ping_max = 64;
/** Proposals a learner holds that arrived before the one they follow (out of order on the network). */
export const reorder_buffer_txns_max = 64;

/**
 * Bugs a test can plant to check that the simulation catches them (never set outside tests):
 * - one_epoch: acceptedEpoch and currentEpoch are one value (a learner takes the new epoch as current
 *   when it accepts LEADERINFO, before it is synced);
 * - ack_before_persist: a learner acknowledges NEWLEADER (and later proposals) before the synced txns
 *   and its new epoch are on disk; it writes them only when UPTODATE arrives (ZOOKEEPER-3911);
 * - id_before_zxid: the election compares server ids before zxids;
 * - trunc_only_past_log: the leader sends TRUNC only to a learner past its whole log, never to one that
 *   holds txns of an older epoch inside it (ZOOKEEPER-1154);
 * - propose_only_acked: the leader sends proposals only to followers that acknowledged NEWLEADER, so
 *   a follower misses what was proposed between its sync and its acknowledgement; and, as ZooKeeper's
 *   learner trusts its leader's TCP stream to have no gap, the follower appends the next proposal
 *   without checking that it follows its last txn (without that, this core's gap check and resends
 *   would hide the leader's mistake). The leader's resend from the follower's acknowledged zxid can
 *   still fill the gap first: when its ping comes before the next proposal and the gap fits one resend
 *   (resend_txns_per_ping_max), so a test that catches it proposes more than that in the window.
 */
export type PlantedBug = 'one_epoch' | 'ack_before_persist' | 'id_before_zxid' | 'trunc_only_past_log' | 'propose_only_acked';

export interface ZabConfig {
  finalize_wait_ms: number;
  notification_interval_ms_min: number;
  notification_interval_ms_max: number;
  init_limit_ms: number;
  sync_limit_ms: number;
  ping_interval_ms: number;
  learner_retry_ms: number;
  outstanding_proposals_max: number;
  log_txns_max: number;
  resend_txns_per_ping_max: number;
  reorder_buffer_txns_max: number;
  test_planted_bug: PlantedBug | null;
}

export const default_zab_config: Readonly<ZabConfig> = {
  finalize_wait_ms,
  notification_interval_ms_min,
  notification_interval_ms_max,
  init_limit_ms,
  sync_limit_ms,
  ping_interval_ms,
  learner_retry_ms,
  outstanding_proposals_max,
  log_txns_max,
  resend_txns_per_ping_max,
  reorder_buffer_txns_max,
  test_planted_bug: null,
};

/** A member of the ensemble, as ZooKeeper's server.N lines list them. sid orders equal votes. */
export interface ServerConfig {
  id: string;
  sid: number;
  observer: boolean;
}

/** What a server finds on disk at start (all empty for a new one). */
export interface PersistedState {
  accepted_epoch: number;
  current_epoch: number;
  snapshot: Snapshot | null;
  /** Txns after the snapshot, in zxid order; those at or below snapshot.zxid are ignored. */
  log: readonly LoggedTxn[];
}

export type Phase = 'election' | 'discovery' | 'synchronization' | 'broadcast';

export interface Outgoing {
  to: string;
  body: ZabMessage;
}

export interface StateReport {
  /**
   * ZooKeeper's server state, except that a prospective leader (elected, but without a quorum synced
   * to its new epoch yet) reports looking: until then it leads no epoch, and its current epoch is the
   * one it last followed, which an established leader may still be leading.
   */
  role: ServerState;
  phase: Phase;
  accepted_epoch: number;
  current_epoch: number;
  /** "epoch:counter" */
  last_zxid: string;
  committed_zxid: string;
  leader: string | null;
  election_round: number;
  /** A learner's mode at its last join; null for a leader or before the first. */
  sync_mode: SyncMode | null;
  /** A leader's learners and the mode each joined with: "n2=DIFF n3=SNAP". */
  learner_sync_modes: string;
  /** Joins this server completed as a learner (a rise is a new synchronization, even in the same mode). */
  syncs: number;
  /** Txns the last join's TRUNC cut (0 for DIFF and SNAP). */
  truncated_txns: number;
  /** A leader that has its NEWLEADER quorum (it may propose). */
  established: boolean;
}

/** What happened, for a runtime's event log (elections, epochs, sync modes, truncations). */
export type ZabEvent =
  | { type: 'looking'; round: number; reason: string }
  | { type: 'elected'; leader: string; round: number; role: ServerState }
  | { type: 'new_epoch'; epoch: number }
  | { type: 'learner_synced'; learner: string; mode: SyncMode; from_zxid: string }
  | { type: 'synced'; leader: string; mode: SyncMode; truncated_txns: number; epoch: number }
  | { type: 'established'; epoch: number; zxid: string };

export interface Ready {
  /** Persist if not null (before sending messages). */
  accepted_epoch: number | null;
  /** Persist if not null (a separate value from accepted_epoch). */
  current_epoch: number | null;
  /** Persist atomically if not null; durable txns at or below its zxid may then be dropped. */
  snapshot: Snapshot | null;
  /** If not null: drop durable txns with a zxid after this, then append log_append. */
  log_truncate_after: Zxid | null;
  /** Append to the durable log, in zxid order. */
  log_append: LoggedTxn[];
  /** Send after persisting. */
  messages: Outgoing[];
  /** Restore the state machine from this before applying committed. */
  apply_snapshot: Snapshot | null;
  /** Apply in order; they count as delivered once handed out here. */
  committed: LoggedTxn[];
  events: ZabEvent[];
  state: StateReport;
}

export type ProposeResult =
  | { ok: true; zxid: Zxid | null; forwarded_to: string | null }
  | { ok: false; error: 'not_ready' | 'busy'; leader: string | null }
  /** The leader's prepare hook refused the txn (reason says why); nothing was proposed. */
  | { ok: false; error: 'rejected'; leader: string | null; reason: string };

/**
 * The leader's last word on a txn before it gets a zxid, as ZooKeeper's leader prepares each request
 * (stamping its time and a new session's id): called for the leader's own writes and for those
 * learners forward, never on a learner. Returns the txn to propose, or why it is refused. It must not
 * call back into the core.
 */
export type PrepareTxn = (txn: unknown, context: { epoch: number }) => { ok: true; txn: unknown } | { ok: false; reason: string };

export interface ZabCoreOptions {
  id: string;
  /** Every member, this server included. */
  servers: readonly ServerConfig[];
  config?: Partial<ZabConfig>;
  persisted?: PersistedState;
  /** Uniform in [0, 1); the only randomness (learner session numbers). */
  random: () => number;
  now_ms?: number;
  /** The leader's stamping of each txn it proposes; without it txns are proposed as given. */
  prepare?: PrepareTxn;
}

export class ZabInvariantError extends InvariantError {
  override name = 'ZabInvariantError';
}

function invariant(condition: unknown, what: string): asserts condition {
  if (!condition) throw new ZabInvariantError(`zab invariant broken: ${what}`);
}

/** A leader's view of one learner (follower or observer) in the current session. */
interface LearnerRecord {
  id: string;
  observer: boolean;
  session: number;
  accepted_epoch: number;
  /** info: FOLLOWERINFO came; epoch_acked: ACKEPOCH came; synced: sync and NEWLEADER sent; acked: NEWLEADER acknowledged. */
  phase: 'info' | 'epoch_acked' | 'synced' | 'acked';
  current_epoch: number;
  last_zxid: Zxid;
  /** The last zxid it acknowledged having on disk (set once it acknowledged NEWLEADER). */
  acked: Zxid | null;
  sync_mode: SyncMode | null;
  last_heard_ms: number;
}

interface LeaderState {
  /** The new epoch, once a quorum's FOLLOWERINFO decided it. */
  epoch: number | null;
  phase: 'discovery' | 'synchronization' | 'broadcast';
  learners: Map<string, LearnerRecord>;
  /** The leader's (current epoch, last zxid) when it started leading: no follower may be ahead of it. */
  summary: { current_epoch: number; last_zxid: Zxid };
  started_ms: number;
  next_ping_ms: number;
  /** The counter of the last zxid proposed in this epoch. */
  counter: number;
}

interface LearnerState {
  leader: string;
  session: number;
  /** discovery: FOLLOWERINFO sent; await_sync: ACKEPOCH sent; synced: sync applied; acked: NEWLEADER
   * acknowledged; broadcast: UPTODATE came. */
  phase: 'discovery' | 'await_sync' | 'synced' | 'acked' | 'broadcast';
  epoch: number | null;
  last_heard_ms: number;
  retry_at_ms: number;
  /** The highest commit the leader told us of; applied up to our last zxid once in broadcast. */
  leader_commit: Zxid;
  /** Proposals or informs that arrived before the txn they follow, keyed by that txn's zxid. */
  buffered: Map<string, LoggedTxn>;
  /** The current epoch ACKEPOCH reports: the one this learner had when it accepted the new epoch. */
  reported_current_epoch: number;
}

interface ElectionState {
  proposal: Vote | null;
  /** Votes of looking voters in this round. */
  recv: Map<string, Vote>;
  /** Votes of voters that are following or leading (a running ensemble). */
  out: Map<string, { vote: Vote; state: ServerState }>;
  finalize_at_ms: number;
  notify_at_ms: number;
  notify_interval_ms: number;
}

export class ZabCore {
  readonly id: string;
  readonly sid: number;
  readonly observer: boolean;
  readonly config: Readonly<ZabConfig>;
  private readonly servers = new Map<string, ServerConfig>();
  /** Voting members (participants), this server included if it is one. */
  private readonly voters: string[];
  private readonly random: () => number;
  private readonly prepare: PrepareTxn | null;
  private now_ms: number;

  // Persistent state (reaches disk through Ready).
  private accepted_epoch = 0;
  private current_epoch = 0;
  private snapshot: Snapshot | null = null;
  private snapshot_zxid: Zxid = zxid_zero;
  /** Txns after the snapshot, zxids strictly increasing. */
  private log: LoggedTxn[] = [];

  // Volatile state.
  private state: ServerState = 'looking';
  private round = 0;
  private committed: Zxid = zxid_zero;
  /** The vote this server decided on (what it tells looking servers while following or leading). */
  private vote: Vote | null = null;
  private election: ElectionState | null = null;
  private leading: LeaderState | null = null;
  private learning: LearnerState | null = null;
  private last_sync_mode: SyncMode | null = null;
  private syncs = 0;
  private last_truncated_txns = 0;
  /** The highest accepted epoch any learner reported to us (kept across terms): our next epoch passes it. */
  private learner_accepted_epoch_max = 0;

  // Outputs collected for the next Ready.
  private out_messages: Outgoing[] = [];
  private accepted_dirty = false;
  private current_dirty = false;
  private snapshot_to_persist: Snapshot | null = null;
  /** The durable log must be cut after this zxid and the core's txns after it appended. */
  private unstable_after: Zxid | null = null;
  private snapshot_to_apply: Snapshot | null = null;
  private out_committed: LoggedTxn[] = [];
  private out_events: ZabEvent[] = [];
  private last_state_key = '';
  /** Planted bug ack_before_persist: durable writes held back until UPTODATE. */
  private persistence_deferred = false;

  private checked_accepted = 0;
  private checked_current = 0;

  /** Messages ignored because they were malformed, stale or from an unknown server (operating errors). */
  dropped_messages = 0;

  constructor(options: ZabCoreOptions) {
    const config: ZabConfig = { ...default_zab_config, ...options.config };
    invariant(config.finalize_wait_ms >= 0, 'finalize_wait_ms >= 0');
    invariant(config.notification_interval_ms_min > 0 && config.notification_interval_ms_max >= config.notification_interval_ms_min, 'notification interval range');
    invariant(config.ping_interval_ms > 0 && config.ping_interval_ms < config.sync_limit_ms, 'pings come faster than the sync limit');
    invariant(config.learner_retry_ms > 0 && config.learner_retry_ms < config.init_limit_ms, 'learner retries come faster than the init limit');
    invariant(config.resend_txns_per_ping_max >= 1 && config.reorder_buffer_txns_max >= 0, 'resend and reorder bounds');
    this.config = config;
    for (const s of options.servers) {
      invariant(!this.servers.has(s.id), `server ids are unique (${s.id})`);
      this.servers.set(s.id, s);
    }
    invariant(new Set(options.servers.map((s) => s.sid)).size === options.servers.length, 'server sids are unique');
    const me = this.servers.get(options.id);
    invariant(me !== undefined, 'this server is a member');
    this.id = me.id;
    this.sid = me.sid;
    this.observer = me.observer;
    this.voters = options.servers.filter((s) => !s.observer).map((s) => s.id);
    invariant(this.voters.length > 0, 'the ensemble has a voter');
    this.random = options.random;
    this.prepare = options.prepare ?? null;
    this.now_ms = options.now_ms ?? 0;

    const p = options.persisted;
    if (p) {
      invariant(p.current_epoch <= p.accepted_epoch || config.test_planted_bug === 'one_epoch', 'persisted current epoch <= accepted epoch');
      this.accepted_epoch = p.accepted_epoch;
      this.current_epoch = p.current_epoch;
      if (p.snapshot) {
        this.snapshot = p.snapshot;
        this.snapshot_zxid = p.snapshot.zxid;
        this.snapshot_to_apply = p.snapshot;
      }
      for (const t of p.log) {
        if (compareZxid(t.zxid, this.snapshot_zxid) <= 0) continue;
        this.appendOne(t);
      }
    }
    // Only the snapshot is known to be committed; the log's txns wait for a leader to say so.
    this.committed = this.snapshot_zxid;
    this.checked_accepted = this.accepted_epoch;
    this.checked_current = this.current_epoch;
    this.lookForLeader('started');
  }

  // ---- queries ------------------------------------------------------------------------------------

  lastZxid(): Zxid {
    return this.log[this.log.length - 1]?.zxid ?? this.snapshot_zxid;
  }

  committedZxid(): Zxid {
    return this.committed;
  }

  /** The txns in memory after the snapshot (for checks and tests). */
  txns(): readonly LoggedTxn[] {
    return this.log;
  }

  snapshotZxid(): Zxid {
    return this.snapshot_zxid;
  }

  currentSnapshot(): Snapshot | null {
    return this.snapshot;
  }

  epochs(): { accepted_epoch: number; current_epoch: number } {
    return { accepted_epoch: this.accepted_epoch, current_epoch: this.current_epoch };
  }

  /** The epoch this server leads or follows in (null while looking or before LEADERINFO). */
  activeEpoch(): number | null {
    return this.leading?.epoch ?? this.learning?.epoch ?? null;
  }

  isEstablishedLeader(): boolean {
    return this.state === 'leading' && this.leading?.phase === 'broadcast';
  }

  report(): StateReport {
    const learners = this.leading ? [...this.leading.learners.values()].filter((l) => l.sync_mode !== null) : [];
    return {
      role: this.state === 'leading' && !this.isEstablishedLeader() ? 'looking' : this.state,
      phase: this.phase(),
      accepted_epoch: this.accepted_epoch,
      current_epoch: this.current_epoch,
      last_zxid: formatZxid(this.lastZxid()),
      committed_zxid: formatZxid(this.committed),
      leader: this.state === 'looking' ? null : (this.vote?.leader ?? null),
      election_round: this.round,
      sync_mode: this.state === 'following' || this.state === 'observing' ? this.last_sync_mode : null,
      learner_sync_modes: learners
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .map((l) => `${l.id}=${l.sync_mode}`)
        .join(' '),
      syncs: this.syncs,
      truncated_txns: this.last_truncated_txns,
      established: this.isEstablishedLeader(),
    };
  }

  private phase(): Phase {
    if (this.state === 'looking') return 'election';
    if (this.leading) return this.leading.phase;
    const l = this.learning!;
    if (l.phase === 'discovery' || l.phase === 'await_sync') return 'discovery';
    return l.phase === 'broadcast' ? 'broadcast' : 'synchronization';
  }

  /** The earliest time tick() has something to do. */
  nextTimerMs(): number {
    const e = this.election;
    if (e) return Math.min(e.finalize_at_ms, e.notify_at_ms);
    const ld = this.leading;
    if (ld) return ld.phase === 'broadcast' ? ld.next_ping_ms : Math.min(ld.next_ping_ms, ld.started_ms + this.config.init_limit_ms);
    const l = this.learning!;
    const limit = l.phase === 'broadcast' ? this.config.sync_limit_ms : this.config.init_limit_ms;
    const silent_at = l.last_heard_ms + limit + 1;
    return l.phase === 'broadcast' ? silent_at : Math.min(silent_at, l.retry_at_ms);
  }

  hasReady(): boolean {
    return (
      this.out_messages.length > 0 ||
      this.out_committed.length > 0 ||
      this.out_events.length > 0 ||
      this.snapshot_to_apply !== null ||
      (!this.persistence_deferred && (this.accepted_dirty || this.current_dirty || this.snapshot_to_persist !== null || this.unstable_after !== null)) ||
      this.stateKey() !== this.last_state_key
    );
  }

  ready(): Ready {
    this.checkInvariants();
    const persist = !this.persistence_deferred;
    const unstable = persist ? this.unstable_after : null;
    const rd: Ready = {
      accepted_epoch: persist && this.accepted_dirty ? this.accepted_epoch : null,
      current_epoch: persist && this.current_dirty ? this.current_epoch : null,
      snapshot: persist ? this.snapshot_to_persist : null,
      log_truncate_after: unstable,
      log_append: unstable === null ? [] : this.log.slice(this.indexAfter(unstable)),
      messages: this.out_messages,
      apply_snapshot: this.snapshot_to_apply,
      committed: this.out_committed,
      events: this.out_events,
      state: this.report(),
    };
    if (persist) {
      this.accepted_dirty = false;
      this.current_dirty = false;
      this.snapshot_to_persist = null;
      this.unstable_after = null;
    }
    this.out_messages = [];
    this.snapshot_to_apply = null;
    this.out_committed = [];
    this.out_events = [];
    this.last_state_key = this.stateKey();
    return rd;
  }

  private stateKey(): string {
    const ld = this.leading;
    const modes = ld ? [...ld.learners.values()].map((l) => `${l.id}${l.sync_mode}`).join() : '';
    return `${this.state}|${this.phase()}|${this.accepted_epoch}|${this.current_epoch}|${formatZxid(this.lastZxid())}|${formatZxid(this.committed)}|${this.vote?.leader}|${this.round}|${this.last_sync_mode}|${modes}`;
  }

  // ---- inputs -------------------------------------------------------------------------------------

  tick(now_ms: number): void {
    invariant(now_ms >= this.now_ms, 'time never goes backwards');
    this.now_ms = now_ms;
    const e = this.election;
    if (e) {
      if (now_ms >= e.finalize_at_ms && e.proposal) {
        this.decide(e.proposal);
        return;
      }
      if (now_ms >= e.notify_at_ms) {
        this.broadcastNotification();
        e.notify_interval_ms = Math.min(e.notify_interval_ms * 2, this.config.notification_interval_ms_max);
        e.notify_at_ms = now_ms + e.notify_interval_ms;
      }
      return;
    }
    if (this.leading) this.leaderTick();
    else this.learnerTick();
  }

  step(from: string, m: ZabMessage): void {
    if (!this.servers.has(from) || from === this.id) {
      this.dropped_messages++;
      return;
    }
    switch (m.type) {
      case 'notification':
        return this.handleNotification(from, m);
      case 'followerinfo':
        return this.handleFollowerInfo(from, m);
      case 'ackepoch':
        return this.handleAckEpoch(from, m);
      case 'ack':
        return this.handleAck(from, m);
      case 'request':
        return this.handleRequest(from, m);
      default:
        return this.handleFromLeader(from, m);
    }
  }

  /**
   * A client's write at this server. A leader with its quorum proposes it; a learner in broadcast
   * forwards it to the leader. The client's answer comes when this server delivers the txn.
   */
  propose(given: unknown): ProposeResult {
    const leader = this.state === 'looking' ? null : (this.vote?.leader ?? null);
    if (this.state === 'leading') {
      const ld = this.leading!;
      if (ld.phase !== 'broadcast') return { ok: false, error: 'not_ready', leader };
      const outstanding = this.log.length - this.indexAfter(this.committed);
      if (outstanding >= this.config.outstanding_proposals_max || this.log.length >= this.config.log_txns_max) {
        return { ok: false, error: 'busy', leader };
      }
      if (ld.counter >= zxid_counter_max) {
        // ZooKeeper forces a new election when the counter would roll over into the epoch bits.
        this.lookForLeader('zxid counter exhausted');
        return { ok: false, error: 'not_ready', leader: null };
      }
      let txn = given;
      if (this.prepare) {
        const prepared = this.prepare(given, { epoch: ld.epoch! });
        if (!prepared.ok) return { ok: false, error: 'rejected', leader, reason: prepared.reason };
        txn = prepared.txn;
      }
      const prev = this.lastZxid();
      ld.counter += 1;
      const entry: LoggedTxn = { zxid: zxid(ld.epoch!, ld.counter), txn };
      this.appendOne(entry);
      this.markUnstable(prev);
      for (const l of ld.learners.values()) {
        const reached = this.config.test_planted_bug === 'propose_only_acked' ? l.phase === 'acked' : l.phase === 'synced' || l.phase === 'acked';
        if (!l.observer && reached) {
          this.send(l.id, { type: 'proposal', epoch: ld.epoch!, prev, zxid: entry.zxid, txn });
        }
      }
      this.leaderMaybeCommit();
      return { ok: true, zxid: entry.zxid, forwarded_to: null };
    }
    const l = this.learning;
    if (l && l.phase === 'broadcast') {
      this.send(l.leader, { type: 'request', txn: given });
      return { ok: true, zxid: null, forwarded_to: l.leader };
    }
    return { ok: false, error: 'not_ready', leader };
  }

  /**
   * The connection to `peer` closed: its process is gone (the runtime learnt it as a TCP peer learns of a
   * FIN). As ZooKeeper does with a closed socket: a learner whose leader it is looks for a leader at once;
   * a leader forgets that learner and, in broadcast, goes looking if it no longer has a quorum. Anything
   * else (a looking server, a peer it has no part with) ignores it. Silence still ends a connection after
   * the sync limit, so a runtime that never calls this (or a partition, which closes nothing) is safe.
   */
  connectionClosed(peer: string): void {
    if (!this.servers.has(peer) || peer === this.id) return;
    if (this.learning && this.learning.leader === peer) {
      this.lookForLeader(`the connection to leader ${peer} closed`);
      return;
    }
    const ld = this.leading;
    if (!ld || !ld.learners.delete(peer)) return;
    if (ld.phase === 'broadcast' && this.votersIn(['acked']) < this.quorum()) {
      this.lookForLeader(`lost its quorum (the connection to ${peer} closed)`);
    }
  }

  /** The application's snapshot of everything delivered up to zxid: drop the txns it covers. */
  compact(at: Zxid, data: unknown): void {
    invariant(compareZxid(at, this.committed) <= 0, 'compaction covers only delivered txns');
    if (compareZxid(at, this.snapshot_zxid) <= 0) return;
    const i = this.indexOf(at);
    invariant(i >= 0, 'compaction point is a txn in the log');
    this.snapshot = { zxid: at, data };
    this.snapshot_zxid = at;
    this.log = this.log.slice(i + 1);
    this.snapshot_to_persist = this.snapshot;
  }

  // ---- Fast Leader Election -----------------------------------------------------------------------

  private myVote(): Vote {
    return { leader: this.id, zxid: this.lastZxid(), epoch: this.current_epoch };
  }

  /** Goes (back) to looking: a new round, a vote for itself (voters only), notifications out. */
  private lookForLeader(reason: string): void {
    this.state = 'looking';
    this.leading = null;
    this.learning = null;
    this.vote = null;
    this.persistence_deferred = false;
    this.round += 1;
    this.election = {
      proposal: this.observer ? null : this.myVote(),
      recv: new Map(),
      out: new Map(),
      finalize_at_ms: Number.POSITIVE_INFINITY,
      notify_at_ms: this.now_ms + this.config.notification_interval_ms_min,
      notify_interval_ms: this.config.notification_interval_ms_min,
    };
    this.out_events.push({ type: 'looking', round: this.round, reason });
    this.broadcastNotification();
    this.maybeFinalize();
  }

  /** Is vote a better than b? (epoch, zxid, server id), in that order. */
  private better(a: Vote, b: Vote): boolean {
    if (a.epoch !== b.epoch) return a.epoch > b.epoch;
    const za = compareZxid(a.zxid, b.zxid);
    const ids = this.sidOf(a.leader) - this.sidOf(b.leader);
    if (this.config.test_planted_bug === 'id_before_zxid') return ids !== 0 ? ids > 0 : za > 0;
    return za !== 0 ? za > 0 : ids > 0;
  }

  private sidOf(id: string): number {
    return this.servers.get(id)?.sid ?? -1;
  }

  private isVoter(id: string | null): id is string {
    return id !== null && this.servers.has(id) && !this.servers.get(id)!.observer;
  }

  private notification(): ZabMessage {
    const v = this.state === 'looking' ? this.election?.proposal : this.vote;
    return {
      type: 'notification',
      leader: v?.leader ?? null,
      zxid: v?.zxid ?? this.lastZxid(),
      epoch: v?.epoch ?? this.current_epoch,
      round: this.round,
      state: this.state,
    };
  }

  private broadcastNotification(): void {
    const n = this.notification();
    for (const v of this.voters) if (v !== this.id) this.send(v, n);
  }

  private handleNotification(from: string, n: Extract<ZabMessage, { type: 'notification' }>): void {
    const sender_is_voter = this.isVoter(from);
    if (this.state !== 'looking') {
      // A running ensemble tells a looking server (a restarted one, an observer) whom it follows.
      if (n.state === 'looking') this.send(from, this.notification());
      return;
    }
    const e = this.election!;
    if (!sender_is_voter) return; // an observer's notification counts for nothing
    if (n.leader !== null && !this.isVoter(n.leader)) {
      this.dropped_messages++;
      return;
    }
    if (n.state === 'looking') {
      if (this.observer || n.leader === null) return;
      const theirs: Vote = { leader: n.leader, zxid: n.zxid, epoch: n.epoch };
      if (n.round > this.round) {
        this.round = n.round;
        e.recv.clear();
        const mine = this.myVote();
        e.proposal = this.better(theirs, mine) ? theirs : mine;
        e.finalize_at_ms = Number.POSITIVE_INFINITY;
        this.broadcastNotification();
      } else if (n.round < this.round) {
        this.send(from, this.notification());
        return;
      } else if (this.better(theirs, e.proposal!)) {
        e.proposal = theirs;
        e.finalize_at_ms = Number.POSITIVE_INFINITY;
        this.broadcastNotification();
      }
      e.recv.set(from, theirs);
      this.maybeFinalize();
      return;
    }
    // FOLLOWING or LEADING: the sender is in a running ensemble; join it if a quorum is and its leader is alive.
    if (n.leader === null) return;
    const vote: Vote = { leader: n.leader, zxid: n.zxid, epoch: n.epoch };
    e.out.set(from, { vote, state: n.state });
    if (vote.leader === this.id) return; // a stale belief that we lead: we do not, we are looking
    // Count by leader, not by the whole vote: a learner may have carried its session over into its
    // leader's next term of office (a re-election it never noticed) and still report the older vote.
    // Joining is safe either way (discovery decides); the quorum only keeps us from joining a leader
    // that lost its ensemble, and the leader's own LEADING that it is alive.
    let agree = 0;
    let leader_vote: Vote | null = null;
    for (const [id, o] of e.out) {
      if (o.vote.leader !== vote.leader) continue;
      agree++;
      if (id === vote.leader && o.state === 'leading') leader_vote = o.vote;
    }
    if (agree >= this.quorum() && leader_vote !== null) {
      this.round = Math.max(this.round, n.round);
      this.decide(leader_vote);
    }
  }

  /** A quorum agrees with our proposal: decide now if every voter does, else after the finalize wait. */
  private maybeFinalize(): void {
    const e = this.election!;
    if (!e.proposal) return;
    let agree = 1; // ourselves
    for (const v of e.recv.values()) if (sameVote(v, e.proposal)) agree++;
    if (agree >= this.voters.length) {
      this.decide(e.proposal);
      return;
    }
    if (agree >= this.quorum() && !Number.isFinite(e.finalize_at_ms)) e.finalize_at_ms = this.now_ms + this.config.finalize_wait_ms;
  }

  private decide(vote: Vote): void {
    this.election = null;
    this.vote = vote;
    if (vote.leader === this.id) {
      invariant(!this.observer, 'observers never lead');
      this.becomeLeader();
    } else {
      this.becomeLearner(vote.leader);
    }
    this.out_events.push({ type: 'elected', leader: vote.leader, round: this.round, role: this.state });
    // Tell the others at once: looking servers learn the outcome, and a joining one counts it.
    this.broadcastNotification();
  }

  // ---- leader: discovery, synchronization, broadcast ----------------------------------------------

  private becomeLeader(): void {
    this.state = 'leading';
    this.leading = {
      epoch: null,
      phase: 'discovery',
      learners: new Map(),
      summary: { current_epoch: this.current_epoch, last_zxid: this.lastZxid() },
      started_ms: this.now_ms,
      next_ping_ms: this.now_ms + this.config.ping_interval_ms,
      counter: 0,
    };
    this.leaderMaybeDecideEpoch();
  }

  private votersIn(phases: readonly LearnerRecord['phase'][]): number {
    let n = this.observer ? 0 : 1;
    for (const l of this.leading!.learners.values()) if (!l.observer && phases.includes(l.phase)) n++;
    return n;
  }

  private handleFollowerInfo(from: string, m: Extract<ZabMessage, { type: 'followerinfo' }>): void {
    const ld = this.leading;
    if (this.state !== 'leading' || !ld) return;
    this.learner_accepted_epoch_max = Math.max(this.learner_accepted_epoch_max, m.accepted_epoch);
    const known = ld.learners.get(from);
    if (known && known.session === m.session) {
      known.last_heard_ms = this.now_ms;
      if (ld.epoch !== null && known.phase === 'info') this.sendLeaderInfo(known);
      return;
    }
    const rec: LearnerRecord = {
      id: from,
      observer: this.servers.get(from)!.observer,
      session: m.session,
      accepted_epoch: m.accepted_epoch,
      phase: 'info',
      current_epoch: 0,
      last_zxid: zxid_zero,
      acked: null,
      sync_mode: null,
      last_heard_ms: this.now_ms,
    };
    ld.learners.set(from, rec);
    if (ld.epoch === null) {
      this.leaderMaybeDecideEpoch();
      return;
    }
    if (m.accepted_epoch > ld.epoch) {
      // The learner promised a newer epoch and can never join this one: elect again (our next epoch is higher).
      this.lookForLeader(`${from} accepted epoch ${m.accepted_epoch} > ${ld.epoch}`);
      return;
    }
    if (m.accepted_epoch === ld.epoch && ld.phase === 'discovery') return; // it may join once we have our quorum
    this.sendLeaderInfo(rec);
  }

  private sendLeaderInfo(rec: LearnerRecord): void {
    const ld = this.leading!;
    if (rec.accepted_epoch > ld.epoch! || (rec.accepted_epoch === ld.epoch && ld.phase === 'discovery')) return;
    this.send(rec.id, { type: 'leaderinfo', session: rec.session, epoch: ld.epoch!, late: ld.phase !== 'discovery' });
  }

  /** A quorum's FOLLOWERINFO is in: the new epoch is one more than any epoch any of them accepted. */
  private leaderMaybeDecideEpoch(): void {
    const ld = this.leading!;
    if (ld.epoch !== null || this.votersIn(['info', 'epoch_acked', 'synced', 'acked']) < this.quorum()) return;
    let max = Math.max(this.accepted_epoch, this.learner_accepted_epoch_max);
    for (const l of ld.learners.values()) max = Math.max(max, l.accepted_epoch);
    invariant(max < zxid_epoch_max, 'epochs fit in 32 bits');
    ld.epoch = max + 1;
    this.accepted_epoch = ld.epoch;
    this.accepted_dirty = true;
    if (this.config.test_planted_bug === 'one_epoch') this.setCurrentEpoch(ld.epoch);
    this.out_events.push({ type: 'new_epoch', epoch: ld.epoch });
    for (const l of ld.learners.values()) this.sendLeaderInfo(l);
    this.leaderMaybeEndDiscovery();
  }

  private handleAckEpoch(from: string, m: Extract<ZabMessage, { type: 'ackepoch' }>): void {
    const ld = this.leading;
    const rec = ld?.learners.get(from);
    if (!ld || !rec || rec.session !== m.session || m.epoch !== ld.epoch) return;
    rec.last_heard_ms = this.now_ms;
    if (rec.phase === 'synced') {
      // Its sync or NEWLEADER was lost: send both again (it ignores a second sync once it applied one).
      this.sendSync(rec);
      return;
    }
    if (rec.phase !== 'info') return;
    rec.phase = 'epoch_acked';
    rec.current_epoch = m.current_epoch;
    rec.last_zxid = m.last_zxid;
    if (ld.phase === 'discovery') {
      const s = ld.summary;
      const ahead = m.current_epoch > s.current_epoch || (m.current_epoch === s.current_epoch && compareZxid(m.last_zxid, s.last_zxid) > 0);
      if (!rec.observer && ahead) {
        // The election should have picked the most up-to-date server; this one is not (ZooKeeper gives up too).
        this.lookForLeader(`${from} is ahead of the leader (${m.current_epoch}, ${formatZxid(m.last_zxid)})`);
        return;
      }
      this.leaderMaybeEndDiscovery();
    } else {
      this.sendSync(rec);
    }
  }

  /** A quorum acknowledged the new epoch: it becomes current, and the learners are synchronized. */
  private leaderMaybeEndDiscovery(): void {
    const ld = this.leading!;
    if (ld.phase !== 'discovery' || ld.epoch === null) return;
    if (this.votersIn(['epoch_acked', 'synced', 'acked']) < this.quorum()) return;
    ld.phase = 'synchronization';
    this.setCurrentEpoch(ld.epoch);
    for (const l of ld.learners.values()) if (l.phase === 'epoch_acked') this.sendSync(l);
    this.leaderMaybeEstablish();
  }

  /**
   * How a learner catches up, by ZooKeeper's rules, from the last zxid it reported:
   * - it is up to date: DIFF with nothing;
   * - it is below the leader's log window (compacted into the snapshot): SNAP;
   * - it is past the end of the leader's log: TRUNC to the leader's last zxid;
   * - its last zxid is in the leader's log: DIFF with what follows;
   * - its last zxid is inside the window but not in the leader's log (txns of an older epoch the leader
   *   never had): TRUNC to the leader's txn before it, then DIFF from there.
   * Observers get only committed txns once the leader is established (they never see a proposal).
   */
  private sendSync(rec: LearnerRecord): void {
    const ld = this.leading!;
    const epoch = ld.epoch!;
    const upto = rec.observer && ld.phase === 'broadcast' ? this.committed : this.lastZxid();
    const z = rec.last_zxid;
    let mode: SyncMode;
    let trunc_to: Zxid | null = null;
    let snapshot: Snapshot | null = null;
    let base: Zxid;
    if (zxidEquals(z, upto)) {
      mode = 'DIFF';
      base = z;
    } else if (compareZxid(z, this.snapshot_zxid) < 0) {
      mode = 'SNAP';
      invariant(this.snapshot !== null, 'a learner below the log window means there is a snapshot');
      snapshot = this.snapshot;
      base = this.snapshot_zxid;
    } else if (compareZxid(z, upto) > 0) {
      mode = 'TRUNC';
      trunc_to = upto;
      base = upto;
    } else if (zxidEquals(z, this.snapshot_zxid) || this.indexOf(z) >= 0 || this.config.test_planted_bug === 'trunc_only_past_log') {
      mode = 'DIFF';
      base = z;
    } else {
      mode = 'TRUNC';
      trunc_to = this.lastBefore(z);
      base = trunc_to;
    }
    const from = this.indexAfter(base);
    const to = this.indexAfter(upto);
    const txns = this.log.slice(from, to);
    this.send(rec.id, { type: 'sync', session: rec.session, epoch, mode, trunc_to, snapshot, base, txns });
    this.send(rec.id, { type: 'newleader', session: rec.session, epoch, zxid: zxid(epoch, 0) });
    rec.phase = 'synced';
    if (rec.sync_mode === null) this.out_events.push({ type: 'learner_synced', learner: rec.id, mode, from_zxid: formatZxid(z) });
    rec.sync_mode = mode;
  }

  private handleAck(from: string, m: Extract<ZabMessage, { type: 'ack' }>): void {
    const ld = this.leading;
    const rec = ld?.learners.get(from);
    if (!ld || !rec || rec.session !== m.session || m.epoch !== ld.epoch) return;
    if (rec.phase !== 'synced' && rec.phase !== 'acked') return;
    rec.last_heard_ms = this.now_ms;
    invariant(compareZxid(m.zxid, this.lastZxid()) <= 0, `${from} acknowledged ${formatZxid(m.zxid)}, past the leader's log`);
    rec.phase = 'acked';
    rec.acked = rec.acked === null ? m.zxid : maxZxid(rec.acked, m.zxid);
    if (ld.phase === 'synchronization') {
      this.leaderMaybeEstablish();
      return;
    }
    if (ld.phase === 'broadcast') {
      if (!m.uptodate) this.send(from, { type: 'uptodate', session: rec.session, epoch: ld.epoch!, commit: this.committed });
      if (!rec.observer) this.leaderMaybeCommit();
    }
  }

  /** A quorum acknowledged NEWLEADER: the leader's whole history is committed and it may propose. */
  private leaderMaybeEstablish(): void {
    const ld = this.leading!;
    if (ld.phase !== 'synchronization' || this.votersIn(['acked']) < this.quorum()) return;
    ld.phase = 'broadcast';
    invariant(this.lastZxid().epoch < ld.epoch!, 'a new leader has no txn of its own epoch yet');
    this.deliverUpTo(this.lastZxid());
    this.out_events.push({ type: 'established', epoch: ld.epoch!, zxid: formatZxid(this.lastZxid()) });
    for (const l of ld.learners.values()) {
      if (l.phase === 'acked') this.send(l.id, { type: 'uptodate', session: l.session, epoch: ld.epoch!, commit: this.committed });
    }
  }

  /** Commits up to the highest zxid a quorum (the leader included) has on disk. */
  private leaderMaybeCommit(): void {
    const ld = this.leading!;
    if (ld.phase !== 'broadcast') return;
    const acked: Zxid[] = [this.lastZxid()];
    for (const l of ld.learners.values()) if (!l.observer && l.phase === 'acked' && l.acked) acked.push(l.acked);
    if (acked.length < this.quorum()) return;
    acked.sort((a, b) => compareZxid(b, a));
    const q = acked[this.quorum() - 1]!;
    if (compareZxid(q, this.committed) <= 0) return;
    const from = this.indexAfter(this.committed);
    this.deliverUpTo(q);
    const newly = this.log.slice(from, this.indexAfter(q));
    for (const l of ld.learners.values()) {
      if (l.phase !== 'synced' && l.phase !== 'acked') continue;
      if (!l.observer) {
        this.send(l.id, { type: 'commit', epoch: ld.epoch!, zxid: q });
        continue;
      }
      let prev = newly.length > 0 ? this.zxidBefore(from) : q;
      for (const t of newly) {
        this.send(l.id, { type: 'inform', epoch: ld.epoch!, prev, zxid: t.zxid, txn: t.txn });
        prev = t.zxid;
      }
    }
  }

  private handleRequest(_from: string, m: Extract<ZabMessage, { type: 'request' }>): void {
    // Refused writes are dropped: the client hears nothing and retries.
    if (this.isEstablishedLeader()) this.propose(m.txn);
  }

  private leaderTick(): void {
    const ld = this.leading!;
    const now = this.now_ms;
    if (ld.phase !== 'broadcast' && now >= ld.started_ms + this.config.init_limit_ms) {
      this.lookForLeader(`no quorum synchronized within ${this.config.init_limit_ms}ms`);
      return;
    }
    if (now < ld.next_ping_ms) return;
    ld.next_ping_ms = now + this.config.ping_interval_ms;
    if (ld.phase === 'broadcast') {
      let heard = this.observer ? 0 : 1;
      for (const l of ld.learners.values()) {
        if (!l.observer && l.phase === 'acked' && now - l.last_heard_ms <= this.config.sync_limit_ms) heard++;
      }
      if (heard < this.quorum()) {
        this.lookForLeader(`lost its quorum (heard from ${heard} within ${this.config.sync_limit_ms}ms)`);
        return;
      }
    }
    for (const l of [...ld.learners.values()]) {
      if (l.phase !== 'acked') continue;
      this.send(l.id, { type: 'ping', session: l.session, epoch: ld.epoch!, commit: this.committed });
      if (ld.phase === 'broadcast') this.resendMissing(l);
    }
  }

  /** Fills a learner's gap (lost or reordered proposals) from its last acknowledged zxid. */
  private resendMissing(l: LearnerRecord): void {
    const ld = this.leading!;
    const target = l.observer ? this.committed : this.lastZxid();
    if (l.acked === null || compareZxid(l.acked, target) >= 0) return;
    if (compareZxid(l.acked, this.snapshot_zxid) < 0) {
      // What it lacks was compacted away: drop it; it stops hearing pings, looks again and rejoins with a SNAP.
      ld.learners.delete(l.id);
      return;
    }
    let i = this.indexAfter(l.acked);
    const end = Math.min(this.indexAfter(target), i + this.config.resend_txns_per_ping_max);
    let prev = l.acked;
    for (; i < end; i++) {
      const t = this.log[i]!;
      const type = l.observer ? 'inform' : 'proposal';
      this.send(l.id, { type, epoch: ld.epoch!, prev, zxid: t.zxid, txn: t.txn });
      prev = t.zxid;
    }
  }

  // ---- learner (follower or observer) --------------------------------------------------------------

  private becomeLearner(leader: string): void {
    this.state = this.observer ? 'observing' : 'following';
    this.learning = {
      leader,
      session: Math.floor(this.random() * 2 ** 31),
      phase: 'discovery',
      epoch: null,
      last_heard_ms: this.now_ms,
      retry_at_ms: this.now_ms + this.config.learner_retry_ms,
      leader_commit: zxid_zero,
      buffered: new Map(),
      reported_current_epoch: this.current_epoch,
    };
    this.send(leader, { type: 'followerinfo', session: this.learning.session, accepted_epoch: this.accepted_epoch });
  }

  private handleFromLeader(from: string, m: ZabMessage): void {
    const l = this.learning;
    if (!l || from !== l.leader) return;
    switch (m.type) {
      case 'leaderinfo': {
        if (m.session !== l.session) return;
        l.last_heard_ms = this.now_ms;
        if (l.phase !== 'discovery') {
          if (l.phase === 'await_sync' && m.epoch === l.epoch) this.sendAckEpoch();
          return;
        }
        if (!(m.epoch > this.accepted_epoch || (m.epoch === this.accepted_epoch && m.late))) {
          this.lookForLeader(`leader's epoch ${m.epoch} is not newer than accepted epoch ${this.accepted_epoch}`);
          return;
        }
        l.reported_current_epoch = this.current_epoch;
        if (m.epoch > this.accepted_epoch) {
          this.accepted_epoch = m.epoch;
          this.accepted_dirty = true;
          if (this.config.test_planted_bug === 'one_epoch') this.setCurrentEpoch(m.epoch);
        }
        l.epoch = m.epoch;
        l.phase = 'await_sync';
        this.sendAckEpoch();
        return;
      }
      case 'sync':
        if (m.session !== l.session || m.epoch !== l.epoch) return;
        l.last_heard_ms = this.now_ms;
        if (l.phase === 'await_sync') this.applySync(m);
        return;
      case 'newleader':
        if (m.session !== l.session || m.epoch !== l.epoch) return;
        l.last_heard_ms = this.now_ms;
        if (l.phase === 'synced') {
          invariant(this.accepted_epoch === m.epoch, 'NEWLEADER is for the epoch this learner accepted');
          this.setCurrentEpoch(m.epoch);
          l.phase = 'acked';
          this.appendBuffered();
          this.sendAck();
        } else if (l.phase === 'acked' || l.phase === 'broadcast') {
          this.sendAck();
        }
        return;
      case 'uptodate':
        if (m.session !== l.session || m.epoch !== l.epoch) return;
        l.last_heard_ms = this.now_ms;
        if (l.phase !== 'acked') return;
        l.phase = 'broadcast';
        this.persistence_deferred = false;
        l.leader_commit = maxZxid(l.leader_commit, m.commit);
        this.learnerApplyCommits();
        return;
      case 'proposal':
      case 'inform': {
        if (m.epoch !== l.epoch || (l.phase !== 'synced' && l.phase !== 'acked' && l.phase !== 'broadcast')) return;
        if ((m.type === 'inform') !== this.observer) return;
        l.last_heard_ms = this.now_ms;
        this.receiveTxn({ zxid: m.zxid, txn: m.txn }, m.prev);
        if (m.type === 'inform') l.leader_commit = maxZxid(l.leader_commit, m.zxid);
        this.learnerApplyCommits();
        if (l.phase !== 'synced') this.sendAck();
        return;
      }
      case 'commit':
        if (m.epoch !== l.epoch) return;
        l.last_heard_ms = this.now_ms;
        l.leader_commit = maxZxid(l.leader_commit, m.zxid);
        this.learnerApplyCommits();
        return;
      case 'ping':
        if (m.session !== l.session || m.epoch !== l.epoch) return;
        l.last_heard_ms = this.now_ms;
        l.leader_commit = maxZxid(l.leader_commit, m.commit);
        this.learnerApplyCommits();
        if (l.phase === 'acked' || l.phase === 'broadcast') this.sendAck();
        return;
      default:
        this.dropped_messages++;
    }
  }

  private sendAckEpoch(): void {
    const l = this.learning!;
    this.send(l.leader, { type: 'ackepoch', session: l.session, epoch: l.epoch!, current_epoch: l.reported_current_epoch, last_zxid: this.lastZxid() });
  }

  private sendAck(): void {
    const l = this.learning!;
    this.send(l.leader, { type: 'ack', session: l.session, epoch: l.epoch!, zxid: this.lastZxid(), uptodate: l.phase === 'broadcast' });
  }

  private applySync(m: Extract<ZabMessage, { type: 'sync' }>): void {
    const l = this.learning!;
    let truncated = 0;
    if (m.mode === 'SNAP') {
      const s = m.snapshot;
      invariant(s !== null && zxidEquals(s.zxid, m.base), 'SNAP carries the snapshot its txns follow');
      invariant(compareZxid(s.zxid, this.committed) >= 0, 'SNAP never takes back a delivered txn');
      truncated = this.log.filter((t) => compareZxid(t.zxid, s.zxid) > 0).length;
      this.snapshot = s;
      this.snapshot_zxid = s.zxid;
      this.log = [];
      this.committed = s.zxid;
      this.snapshot_to_persist = s;
      this.snapshot_to_apply = s;
      this.markUnstable(s.zxid);
    } else if (m.mode === 'TRUNC') {
      const p = m.trunc_to;
      invariant(p !== null && zxidEquals(p, m.base), 'TRUNC carries the zxid its txns follow');
      invariant(zxidEquals(p, this.snapshot_zxid) || this.indexOf(p) >= 0, `TRUNC target ${formatZxid(p)} is in the learner's history`);
      invariant(compareZxid(this.committed, p) <= 0, `TRUNC to ${formatZxid(p)} never cuts a delivered txn (delivered ${formatZxid(this.committed)})`);
      const keep = this.indexAfter(p);
      truncated = this.log.length - keep;
      this.log.length = keep;
      this.markUnstable(p);
    }
    invariant(zxidEquals(this.lastZxid(), m.base), `sync txns follow the learner's last zxid (${formatZxid(this.lastZxid())} vs ${formatZxid(m.base)})`);
    if (m.txns.length > 0) this.markUnstable(this.lastZxid());
    for (const t of m.txns) this.appendOne(t);
    l.phase = 'synced';
    if (this.config.test_planted_bug === 'ack_before_persist') this.persistence_deferred = true;
    this.last_sync_mode = m.mode;
    this.syncs++;
    this.last_truncated_txns = truncated;
    this.out_events.push({ type: 'synced', leader: l.leader, mode: m.mode, truncated_txns: truncated, epoch: m.epoch });
  }

  /** A proposal or inform: appended if it follows our last txn, held if it arrived early, ignored if old. */
  private receiveTxn(t: LoggedTxn, prev: Zxid): void {
    const l = this.learning!;
    const last = this.lastZxid();
    if (compareZxid(t.zxid, last) <= 0) return;
    const gap = !zxidEquals(prev, last) && this.config.test_planted_bug !== 'propose_only_acked';
    if (l.phase === 'synced' || gap) {
      // Before NEWLEADER (our epoch is not current yet) or ahead of a gap: hold it, within bounds.
      if (l.buffered.size < this.config.reorder_buffer_txns_max) l.buffered.set(formatZxid(prev), t);
      return;
    }
    this.markUnstable(last);
    this.appendOne(t);
    this.appendBuffered();
  }

  private appendBuffered(): void {
    const l = this.learning!;
    for (;;) {
      const last = this.lastZxid();
      const key = formatZxid(last);
      const next = l.buffered.get(key);
      if (next === undefined) break;
      l.buffered.delete(key);
      if (compareZxid(next.zxid, last) <= 0) continue;
      this.markUnstable(last);
      this.appendOne(next);
    }
    // Anything left at or below our last zxid is stale.
    if (l.buffered.size > 0) for (const [k, t] of l.buffered) if (compareZxid(t.zxid, this.lastZxid()) <= 0) l.buffered.delete(k);
  }

  private learnerApplyCommits(): void {
    const l = this.learning!;
    if (l.phase !== 'broadcast') return;
    const target = minZxid(l.leader_commit, this.lastZxid());
    if (compareZxid(target, this.committed) > 0) this.deliverUpTo(target);
  }

  private learnerTick(): void {
    const l = this.learning!;
    const now = this.now_ms;
    const limit = l.phase === 'broadcast' ? this.config.sync_limit_ms : this.config.init_limit_ms;
    if (now - l.last_heard_ms > limit) {
      this.lookForLeader(`nothing from leader ${l.leader} for ${limit}ms`);
      return;
    }
    if (l.phase === 'broadcast' || now < l.retry_at_ms) return;
    l.retry_at_ms = now + this.config.learner_retry_ms;
    switch (l.phase) {
      case 'discovery':
        this.send(l.leader, { type: 'followerinfo', session: l.session, accepted_epoch: this.accepted_epoch });
        break;
      case 'await_sync':
      case 'synced':
        this.sendAckEpoch();
        break;
      case 'acked':
        this.sendAck();
        break;
    }
  }

  // ---- helpers ------------------------------------------------------------------------------------

  private quorum(): number {
    return Math.floor(this.voters.length / 2) + 1;
  }

  private send(to: string, body: ZabMessage): void {
    this.out_messages.push({ to, body });
  }

  private setCurrentEpoch(epoch: number): void {
    if (epoch === this.current_epoch) return;
    invariant(epoch > this.current_epoch, 'the current epoch never goes backwards');
    this.current_epoch = epoch;
    this.current_dirty = true;
  }

  private markUnstable(after: Zxid): void {
    this.unstable_after = this.unstable_after === null ? after : minZxid(this.unstable_after, after);
  }

  private appendOne(t: LoggedTxn): void {
    invariant(compareZxid(t.zxid, this.lastZxid()) > 0, `zxids in the log increase (${formatZxid(t.zxid)} after ${formatZxid(this.lastZxid())})`);
    this.log.push(t);
  }

  /** Hands out every txn up to `to` (in the log) as committed. */
  private deliverUpTo(to: Zxid): void {
    const from = this.indexAfter(this.committed);
    const end = this.indexAfter(to);
    for (let i = from; i < end; i++) this.out_committed.push(this.log[i]!);
    this.committed = maxZxid(this.committed, to);
  }

  /** Index of the first txn with a zxid after z (log.length if none). */
  private indexAfter(z: Zxid): number {
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareZxid(this.log[mid]!.zxid, z) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the txn with zxid z, or -1. */
  private indexOf(z: Zxid): number {
    const i = this.indexAfter(z) - 1;
    return i >= 0 && zxidEquals(this.log[i]!.zxid, z) ? i : -1;
  }

  /** The zxid of the txn before index i (the snapshot's for the first). */
  private zxidBefore(i: number): Zxid {
    return i > 0 ? this.log[i - 1]!.zxid : this.snapshot_zxid;
  }

  /** The last zxid in our history before z. */
  private lastBefore(z: Zxid): Zxid {
    return this.zxidBefore(this.indexAfter(z));
  }

  private checkInvariants(): void {
    invariant(this.accepted_epoch >= this.checked_accepted, 'the accepted epoch never goes backwards');
    invariant(this.current_epoch >= this.checked_current, 'the current epoch never goes backwards');
    this.checked_accepted = this.accepted_epoch;
    this.checked_current = this.current_epoch;
    invariant(this.current_epoch <= this.accepted_epoch, 'current epoch <= accepted epoch');
    invariant(compareZxid(this.snapshot_zxid, this.committed) <= 0, 'the snapshot is delivered');
    invariant(compareZxid(this.committed, this.lastZxid()) <= 0, 'only logged txns are delivered');
    if (this.observer) invariant(this.state !== 'leading', 'observers never lead');
    const ld = this.leading;
    if (ld && ld.phase !== 'discovery') {
      invariant(ld.epoch === this.current_epoch && ld.epoch === this.accepted_epoch, 'a leader past discovery leads in its current epoch');
      invariant(this.lastZxid().epoch <= this.current_epoch, 'a leader has no txn from a later epoch');
    }
  }
}

function sameVote(a: Vote, b: Vote): boolean {
  return a.leader === b.leader && a.epoch === b.epoch && zxidEquals(a.zxid, b.zxid);
}
