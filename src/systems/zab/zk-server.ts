// The ZooKeeper server on a Zab server: client requests, sessions, reads and watches. No I/O of its own:
// the host injects sending, clocks and proposing.

// The ZooKeeper side of a Zab server: what a server does with its clients' messages and with the txns
// its core delivers. It holds the server's replica (data tree and watches), answers reads locally,
// turns writes into txns proposed through the ensemble and answers them when this server applies
// them, relays its clients' pings to its leader, and, while it leads, keeps the session tracker that
// expires silent sessions. No I/O of its own: the host (main.ts, or a test) injects sending, the
// clocks and proposing, and hands it every Ready after persisting it and sending the core's messages.
//
// The client protocol is documented in the README (Zab: client messages).

import { error_codes, type Envelope, type MessageBody } from '../../lib/protocol/messages.js';
import type { LoggedTxn, PrepareTxn, ProposeResult, Ready, StateReport } from './core/core.js';
import { zkError, type ZkError, type ZkErrorName } from '../../lib/zk/errors.js';
import { negotiateSessionTimeout, SessionIdSource, SessionTracker, tracked_session_count_max } from './core/sessions.js';
import { checkPath, multi_ops_max, parseMultiOps, parseZkTxn, type MultiOp, type MultiOpFailure, type MultiOpResult, type Stat, type ZkTxn } from './core/tree.js';
import { ZkReplica, type MultiReadOp, type ZkRead, type ZkReplicaApplied } from './core/watches.js';
import { compareZxid, formatZxid, parseZxid, type Zxid } from './core/zxid.js';

// ---- limits (each with its unit last) -----------------------------------------------------------

/** Client requests waiting for their txn to be applied here; more are refused at the door. */
export const pending_requests_max = 1000;
/** A write not applied here within this is answered ConnectionLoss (indefinite): its leader may have
 * dropped it (busy, or not established when it arrived). */
export const write_wait_ms_max = 10_000;
/** Sessions whose client this server knows (where it sends watch events and session_expired). */
export const connections_max = 10_000;
/** Paths one set_watches may carry, all kinds together. */
export const set_watches_paths_max = 10_000;
/** Ephemerals of the last expired session named in the state report; the rest are counted. */
export const expired_ephemerals_reported_max = 10;
/** Sessions a learner collects between two relays to its leader. */
export const touch_batch_sessions_max = tracked_session_count_max;
/** Sessions one list_sessions reply carries; the rest are counted in `more`. */
export const list_sessions_reply_max = 5000;
/** How often the leader looks for emptied containers to delete (ZooKeeper's ContainerManager: every
 * minute by default; dslab's ensembles are small and tests short, so every few ticks). */
export const container_check_interval_ticks = 10;
/** Containers one look proposes to delete at most (ZooKeeper: znode.container.maxPerMinute). */
export const container_deletions_per_check_max = 100;
/** Planted bug watch_after_reply: events held back, and for how long at most. */
export const deferred_watch_events_max = 10_000;
export const deferred_watch_event_ms_max = 50;
/**
 * Client requests (by their origin: server, incarnation, request number) a server remembers having
 * proposed or applied, so a forwarded request the network delivered twice is proposed once.
 */
export const remembered_requests_max = 100_000;

/** Bugs of the server (not of the core) that a lab can plant through DSLAB_ZAB_PLANTED_BUG. */
export type HostPlantedBug = 'close_lost_keeps_ephemerals' | 'watch_after_reply' | 'sequential_from_children';
export const host_planted_bugs: readonly HostPlantedBug[] = ['close_lost_keeps_ephemerals', 'watch_after_reply', 'sequential_from_children'];

/** What a server's client txns carry besides the tree's fields: who waits for the answer. */
export interface TxnOrigin {
  server: string;
  /** The server process's incarnation: a restarted server never answers its past self's clients. */
  incarnation: number;
  request: number;
}

/** A txn as it travels through the ensemble: the tree's, plus the asking server and a reconnect mark. */
export type ZkProposal = ZkTxn & { via?: TxnOrigin; reconnect?: boolean };

export interface ZkServerOptions {
  id: string;
  incarnation: number;
  /** ZooKeeper's tickTime: session timeouts are negotiated to 2..20 ticks. */
  tick_ms: number;
  /** Monotonic ms: deadlines, the session tracker. */
  now(): number;
  /** Wall-clock ms: the times the leader stamps into txns (ctime, mtime). */
  wall_now(): number;
  /** To a client or to another server. */
  send(to: string, body: MessageBody): void;
  /** The core's propose. */
  propose(txn: unknown): ProposeResult;
  /** Each applied txn, with its position in the one sequence every server applies. */
  report_apply?(index: number, epoch: number, zxid: string, txn: unknown): void;
  /** A line for the server's log (session expiries). */
  log?(line: string): void;
  planted_bug?: HostPlantedBug | null;
  /** How often a learner relays its clients' pings to its leader (ZooKeeper: with each ping reply, every half tick). */
  touch_interval_ms?: number;
}

/** What a server snapshots: the tree and how many txns were applied before it. */
interface ServerImage {
  version: 1;
  count: number;
  tree: unknown;
}

type PendingKind = 'connect' | 'reconnect' | 'close' | 'write' | 'sync';

interface Pending {
  request: Envelope;
  kind: PendingKind;
  deadline_ms: number;
}

/** Reads are served locally; these request types are txns (a multi of reads only is served locally too). */
const write_types = new Set(['create', 'delete', 'set_data', 'set_acl', 'check', 'multi']);
/** The ops a multi that writes may hold. */
const multi_op_types = new Set(['create', 'delete', 'set_data', 'check']);
const read_types = new Set(['exists', 'get_data', 'get_children']);
/** Served by the server asked, from its tree and its watches, with no txn. */
const local_types = new Set(['set_watches', 'remove_watches', 'check_watches', 'get_acl']);
/** Every request a client may send (docs/zab.md, client messages): the host hands each to handleClient. */
export const client_request_types: ReadonlySet<string> = new Set(['connect', 'ping', 'close_session', 'sync', 'list_sessions', ...write_types, ...read_types, ...local_types]);
/** ZooKeeper's open ACL (world:anyone, every permission), the only one a znode here has and set_acl sets. */
const open_acl = [{ scheme: 'world', id: 'anyone', perms: 31 }] as const;

export class ZkServer {
  replica: ZkReplica;
  private readonly o: Required<Omit<ZkServerOptions, 'report_apply' | 'log' | 'planted_bug'>> & Pick<ZkServerOptions, 'report_apply' | 'log'>;
  private readonly bug: HostPlantedBug | null;
  /** Txns applied since the ensemble began. */
  private applied_count = 0;
  private next_request = 0;
  private readonly pending = new Map<number, Pending>();
  /** Origins of requests proposed or applied here, oldest first (remembered_requests_max). */
  private readonly remembered_requests = new Set<string>();
  /** session -> the client this server last heard it from. */
  private readonly connections = new Map<string, string>();
  /**
   * Sessions whose connection this server closed when it replaced its tree with a snapshot (their
   * watches went with the old tree): each request in one is refused with ConnectionLoss until its
   * client reconnects (connect {session}) and sets its watches again (set_watches), as a ZooKeeper
   * server closes its client connections when it resynchronizes. Oldest first, at most connections_max.
   */
  private readonly closed_connections = new Set<string>();

  // What the core last said about this server's place in the ensemble.
  private serving = false;
  private leader: string | null = null;
  private epoch = 0;
  private leading = false;

  // Learner: sessions heard from since the last relay.
  private touch_batch = new Set<string>();
  private next_touch_ms = 0;

  // Leader: the tracker, who relayed each session's last ping and when; the session ids of this epoch.
  private tracker: SessionTracker | null = null;
  private readonly relayed = new Map<string, { server: string; at_ms: number }>();
  private ids: SessionIdSource | null = null;
  private ids_epoch = -1;
  /** Leader: when it next looks for emptied containers, and those whose delete_container it proposed. */
  private next_container_check_ms = 0;
  private readonly containers_proposed = new Set<string>();

  /** Sessions this server expired while it led, and the last of them (the event log tells of each). */
  private expired_count = 0;
  private last_expired: { session: string; ephemerals: readonly string[] } | null = null;

  /** Planted bug watch_after_reply: events waiting for the next read reply (or the deadline). */
  private deferred: Array<{ to: string; body: MessageBody; at_ms: number }> = [];

  constructor(options: ZkServerOptions) {
    this.o = { touch_interval_ms: options.tick_ms / 2, ...options };
    this.bug = options.planted_bug ?? null;
    this.replica = this.restoreReplica(null);
  }

  // ---- queries ----------------------------------------------------------------------------------

  get session_count(): number {
    return this.replica.tree.session_count;
  }

  get znode_count(): number {
    return this.replica.tree.znode_count;
  }

  get applied_zxid(): Zxid {
    return this.replica.applied_zxid;
  }

  get isServing(): boolean {
    return this.serving;
  }

  /**
   * For the state report: how many sessions this server expired as leader, the last one, and its
   * ephemerals that the expiry deleted ("/a, /b", the first expired_ephemerals_reported_max, then a count).
   */
  expiries(): { sessions_expired: number; last_expired_session: string | null; last_expired_ephemerals: string | null } {
    const last = this.last_expired;
    if (last === null) return { sessions_expired: this.expired_count, last_expired_session: null, last_expired_ephemerals: null };
    const shown = last.ephemerals.slice(0, expired_ephemerals_reported_max).join(', ');
    const more = last.ephemerals.length - expired_ephemerals_reported_max;
    return { sessions_expired: this.expired_count, last_expired_session: last.session, last_expired_ephemerals: more > 0 ? `${shown} and ${more} more` : shown };
  }

  /** The tracker's sessions, on the established leader (null elsewhere). */
  trackedSessions(): string[] | null {
    if (!this.tracker) return null;
    return this.replica.tree
      .sessionList()
      .map((s) => s.session)
      .filter((s) => this.tracker!.deadlineOf(s) !== null);
  }

  /** The image core.compact() takes. */
  snapshot(): ServerImage {
    return { version: 1, count: this.applied_count, tree: this.replica.snapshot() };
  }

  // ---- the leader's stamping --------------------------------------------------------------------

  /** The core's prepare hook: the leader's time in every txn, and a fresh id for a new session. */
  readonly prepare: PrepareTxn = (txn, { epoch }) => {
    if (typeof txn !== 'object' || txn === null) return { ok: false, reason: 'not a znode txn' };
    // A learner forwards each request once; a second copy is the network's (a duplicated message).
    const via = (txn as ZkProposal).via;
    if (via && !this.rememberRequest(via)) return { ok: false, reason: `request ${via.request} from ${via.server} was already proposed` };
    const stamped: Record<string, unknown> = { ...(txn as Record<string, unknown>), time: Math.max(0, Math.round(this.o.wall_now())) };
    if (stamped.type === 'create_session') {
      if (this.ids_epoch !== epoch) {
        this.ids = new SessionIdSource(epoch);
        this.ids_epoch = epoch;
      }
      stamped.session = this.ids!.next();
    }
    if (parseZkTxn(stamped) === null) return { ok: false, reason: `not a well-formed znode txn: ${JSON.stringify(txn).slice(0, 200)}` };
    return { ok: true, txn: stamped };
  };

  // ---- from the core ----------------------------------------------------------------------------

  /** Everything a Ready means for the tree and the clients (after the host persisted it and sent its messages). */
  onReady(ready: Ready): void {
    if (ready.apply_snapshot) {
      this.replica = this.restoreReplica(ready.apply_snapshot.data);
      // Watches were in the replica: this server's clients must reconnect and set them again.
      this.closeConnections();
    }
    for (const entry of ready.committed) this.apply(entry);
    this.onState(ready.state);
  }

  private closeConnections(): void {
    for (const session of this.connections.keys()) {
      this.closed_connections.delete(session);
      this.closed_connections.add(session);
      if (this.closed_connections.size > connections_max) this.closed_connections.delete(this.closed_connections.values().next().value!);
    }
    this.connections.clear();
  }

  private restoreReplica(image: unknown): ZkReplica {
    const options = { planted_bug: this.bug === 'sequential_from_children' ? ('suffix_from_child_count' as const) : null };
    if (image === null || image === undefined) {
      this.applied_count = 0;
      return ZkReplica.restore(null, options);
    }
    const img = image as ServerImage;
    if (img.version !== 1) throw new Error(`unknown zab server image version ${String(img.version)}`);
    this.applied_count = img.count;
    return ZkReplica.restore(img.tree, options);
  }

  /** False when the request was seen before; remembers it otherwise (the oldest forgotten past the limit). */
  private rememberRequest(via: TxnOrigin): boolean {
    const key = `${via.server}#${via.incarnation}#${via.request}`;
    if (this.remembered_requests.has(key)) return false;
    this.remembered_requests.add(key);
    if (this.remembered_requests.size > remembered_requests_max) this.remembered_requests.delete(this.remembered_requests.values().next().value!);
    return true;
  }

  private apply(entry: LoggedTxn): void {
    // Every server remembers what it applied, so a leader elected later refuses a late copy too.
    const origin = (entry.txn as ZkProposal | null)?.via;
    if (origin) this.rememberRequest(origin);
    const applied = this.replica.apply(entry);
    this.applied_count += 1;
    this.o.report_apply?.(this.applied_count, entry.zxid.epoch, formatZxid(entry.zxid), entry.txn);
    // Events first: a client hears of a change before any reply that reflects it.
    for (const e of applied.events) {
      const to = this.connections.get(e.session);
      if (to === undefined) continue;
      this.sendEvent(to, { type: 'watch_event', session: e.session, path: e.path, event: e.type, zxid: formatZxid(e.zxid) });
    }
    this.sessionBookkeeping(applied, entry.txn as ZkProposal);
    const via = (entry.txn as ZkProposal | null)?.via;
    if (via && via.server === this.o.id && via.incarnation === this.o.incarnation) {
      const waiting = this.pending.get(via.request);
      if (waiting) {
        this.pending.delete(via.request);
        this.answer(waiting, applied);
      }
    }
  }

  private sessionBookkeeping(applied: ZkReplicaApplied, txn: ZkProposal): void {
    if (applied.txn?.type === 'delete_container') this.containers_proposed.delete(applied.txn.path);
    const o = applied.outcome;
    if (!o.ok) return;
    const now = this.o.now();
    if (o.type === 'create_session') {
      if (this.tracker?.add(o.session, o.timeout_ms, now)) this.relayed.set(o.session, { server: txn.via?.server ?? this.o.id, at_ms: now });
    } else if (o.type === 'close_session' || o.type === 'expire_session') {
      this.closed_connections.delete(o.session);
      this.tracker?.remove(o.session);
      this.relayed.delete(o.session);
      this.touch_batch.delete(o.session);
      const client = this.connections.get(o.session);
      if (o.type === 'expire_session') {
        if (client !== undefined) this.o.send(client, { type: 'session_expired', session: o.session });
        if (this.leading) {
          this.expired_count += 1;
          this.last_expired = { session: o.session, ephemerals: o.deleted };
          this.o.log?.(`session ${o.session} expired${o.deleted.length ? `; its ephemerals ${o.deleted.join(', ')} are gone` : ''}`);
        }
      }
      // A close is answered below, to the client that is still in `connections` until then.
      if (o.type === 'expire_session') this.connections.delete(o.session);
    } else if (o.type === 'sync' && txn.reconnect && txn.via && txn.via.server !== this.o.id) {
      // The session moved to another server: its client no longer listens here.
      this.connections.delete(o.session);
      this.closed_connections.delete(o.session);
      this.replica.watches.dropSession(o.session);
    }
  }

  /** The reply to a request whose txn this server applied. */
  private answer(waiting: Pending, applied: ZkReplicaApplied): void {
    const req = waiting.request;
    const o = applied.outcome;
    const zxid = formatZxid(applied.zxid);
    if (!o.ok) {
      this.replyError(req, o.error, undefined, o.results);
      return;
    }
    switch (o.type) {
      case 'create_session':
        this.connect(o.session, req.src);
        this.reply(req, { type: 'connect_ok', session: o.session, timeout_ms: o.timeout_ms, server: this.o.id, server_incarnation: this.o.incarnation, zxid });
        return;
      case 'sync':
        if (waiting.kind === 'reconnect') {
          // A new connection starts without watches: the client sets those it still holds (set_watches).
          this.replica.watches.dropSession(o.session);
          this.closed_connections.delete(o.session);
          this.connect(o.session, req.src);
          this.reply(req, { type: 'connect_ok', session: o.session, timeout_ms: o.timeout_ms, server: this.o.id, server_incarnation: this.o.incarnation, zxid });
        } else this.reply(req, { type: 'sync_ok', zxid });
        return;
      case 'close_session':
        this.reply(req, { type: 'close_session_ok', session: o.session });
        this.connections.delete(o.session);
        return;
      case 'expire_session':
      case 'delete_container':
        return; // never a client's own txn
      case 'create':
        this.reply(req, { type: 'create_ok', path: o.path, stat: statBody(o.stat) });
        return;
      case 'delete':
        this.reply(req, { type: 'delete_ok', path: o.path });
        return;
      case 'set_data':
        this.reply(req, { type: 'set_data_ok', stat: statBody(o.stat) });
        return;
      case 'set_acl':
        this.reply(req, { type: 'set_acl_ok', stat: statBody(o.stat) });
        return;
      case 'check':
        this.reply(req, { type: 'check_ok', path: o.path });
        return;
      case 'multi':
        this.reply(req, { type: 'multi_ok', results: o.results.map(multiResultBody) });
        return;
    }
  }

  private onState(s: StateReport): void {
    const serving = s.phase === 'broadcast' && s.role !== 'looking';
    const leading = serving && s.role === 'leading' && s.established;
    const same = serving && this.serving && s.leader === this.leader && s.current_epoch === this.epoch;
    if (this.serving && !same) this.lostLeader(s.leader === null ? 'this server lost its leader' : `this server's leader changed to ${s.leader}`);
    this.serving = serving;
    this.leader = serving ? s.leader : null;
    this.epoch = s.current_epoch;
    if (leading && !this.tracker) {
      // A new leader follows every session its tree holds, each with a whole timeout from now.
      this.tracker = new SessionTracker();
      const now = this.o.now();
      const sessions = this.replica.tree.sessionList();
      this.tracker.adopt(sessions, now);
      this.relayed.clear();
      for (const x of sessions) if (this.tracker.deadlineOf(x.session) !== null) this.relayed.set(x.session, { server: this.o.id, at_ms: now });
      this.containers_proposed.clear();
      this.next_container_check_ms = now + container_check_interval_ticks * this.o.tick_ms;
    } else if (!leading && this.tracker) {
      this.tracker = null;
      this.relayed.clear();
      this.containers_proposed.clear();
    }
    this.leading = leading;
  }

  /** The server stopped serving: what waits here can no longer be answered from here. */
  private lostLeader(why: string): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      // A write handed to the ensemble may still commit; a sync or a reconnect changes nothing.
      const indefinite = p.kind === 'write' || p.kind === 'connect' || p.kind === 'close';
      this.replyError(p.request, zkError('ConnectionLoss', `${why} with the request in flight${indefinite ? '; it may still be applied' : ''}`), indefinite ? undefined : error_codes.temporarily_unavailable);
    }
    this.touch_batch.clear();
  }

  // ---- time -------------------------------------------------------------------------------------

  /** The earliest time tick() has something to do. */
  nextTimerMs(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const p of this.pending.values()) next = Math.min(next, p.deadline_ms);
    if (this.touch_batch.size > 0) next = Math.min(next, this.next_touch_ms);
    // The tracker's deadlines move with every ping: look every half tick rather than track the earliest.
    if (this.tracker && this.tracker.size > 0) next = Math.min(next, this.o.now() + this.o.tick_ms / 2);
    if (this.tracker) next = Math.min(next, this.next_container_check_ms);
    if (this.deferred.length > 0) next = Math.min(next, this.deferred[0]!.at_ms + deferred_watch_event_ms_max);
    return next;
  }

  tick(): void {
    const now = this.o.now();
    for (const [id, p] of this.pending) {
      if (p.deadline_ms > now) continue;
      this.pending.delete(id);
      const indefinite = p.kind === 'write' || p.kind === 'connect' || p.kind === 'close';
      this.replyError(
        p.request,
        zkError('ConnectionLoss', `not applied here within ${write_wait_ms_max}ms${indefinite ? '; it may still be applied' : ''}`),
        indefinite ? undefined : error_codes.temporarily_unavailable,
      );
    }
    if (now >= this.next_touch_ms) this.flushTouches(now);
    if (this.tracker) {
      for (const session of this.tracker.tick(now)) {
        const r = this.o.propose({ type: 'expire_session', session, time: 0 } satisfies ZkProposal);
        if (!r.ok) this.tracker.retryExpiry(session);
      }
      if (now >= this.next_container_check_ms) this.deleteEmptiedContainers(now);
    }
    if (this.deferred.length > 0 && now >= this.deferred[0]!.at_ms + deferred_watch_event_ms_max) this.flushDeferred();
  }

  /** Leader: proposes a delete_container for each container that has had children and has none (ZooKeeper's ContainerManager). */
  private deleteEmptiedContainers(now: number): void {
    this.next_container_check_ms = now + container_check_interval_ticks * this.o.tick_ms;
    const due = this.replica.tree.emptiedContainers(container_deletions_per_check_max + this.containers_proposed.size).filter((p) => !this.containers_proposed.has(p));
    for (const path of due.slice(0, container_deletions_per_check_max)) {
      // A proposal a failover drops is proposed again by the next leader's look.
      if (this.o.propose({ type: 'delete_container', path, time: 0 } satisfies ZkProposal).ok) this.containers_proposed.add(path);
    }
  }

  private flushTouches(now: number): void {
    this.next_touch_ms = now + this.o.touch_interval_ms;
    if (this.touch_batch.size === 0) return;
    if (this.serving && this.leader !== null && !this.leading) {
      this.o.send(this.leader, { type: 'zk_touch', server: this.o.id, sessions: [...this.touch_batch] });
    }
    this.touch_batch = new Set();
  }

  /** A session is alive: the leader hears of it now, a learner relays it with its next batch. */
  private touch(session: string): void {
    const now = this.o.now();
    if (this.tracker) {
      if (this.tracker.touch(session, now)) this.relayed.set(session, { server: this.o.id, at_ms: now });
      return;
    }
    if (!this.serving || (this.touch_batch.size >= touch_batch_sessions_max && !this.touch_batch.has(session))) return;
    if (this.touch_batch.size === 0) this.next_touch_ms = Math.max(this.next_touch_ms, now);
    this.touch_batch.add(session);
  }

  // ---- from other servers -----------------------------------------------------------------------

  /** zk_touch {server, sessions, closing?} from a learner: its clients' pings (closing: planted bug only). */
  onServerMessage(from: string, body: MessageBody): void {
    if (body.type !== 'zk_touch' || !this.tracker) return;
    const now = this.o.now();
    const sessions = Array.isArray(body.sessions) ? body.sessions.slice(0, tracked_session_count_max) : [];
    for (const s of sessions) {
      if (typeof s === 'string' && this.tracker.touch(s, now)) this.relayed.set(s, { server: from, at_ms: now });
    }
    if (Array.isArray(body.closing)) {
      for (const s of body.closing) {
        if (typeof s !== 'string') continue;
        this.tracker.remove(s);
        this.relayed.delete(s);
      }
    }
  }

  // ---- from clients -----------------------------------------------------------------------------

  handleClient(request: Envelope): void {
    const b = request.body;
    const type = b.type;
    if (type === 'list_sessions') return this.listSessions(request);
    if (!client_request_types.has(type)) {
      this.replyError(request, zkError('Unimplemented', `${type} is not a request this coordinator serves`));
      return;
    }
    if (!this.serving) {
      this.replyError(request, zkError('ConnectionLoss', this.notServingText()), error_codes.temporarily_unavailable);
      return;
    }
    if (type === 'connect') return this.connectRequest(request);
    const session = b.session;
    if (typeof session !== 'string' || session === '') {
      this.replyError(request, zkError('BadArguments', `${type} needs a session (a string from connect_ok)`));
      return;
    }
    if (this.closed_connections.has(session) && this.replica.tree.hasSession(session)) {
      const text = `${this.o.id} replaced its data tree with its leader's snapshot and closed session ${session}'s connection with its watches: connect again (connect {session}) and set the watches again (set_watches)`;
      this.replyError(request, zkError('ConnectionLoss', text), error_codes.temporarily_unavailable);
      return;
    }
    if (type === 'ping') {
      if (!this.replica.tree.hasSession(session)) {
        this.replyError(request, zkError('SessionExpired', `session ${session} is not open`));
        return;
      }
      this.connect(session, request.src);
      this.touch(session);
      // The incarnation tells a client that this server restarted (and forgot its watches) since it connected.
      this.reply(request, { type: 'ping_ok', session, server_incarnation: this.o.incarnation, zxid: formatZxid(this.replica.applied_zxid) });
      return;
    }
    if (this.replica.tree.hasSession(session)) {
      this.connect(session, request.src);
      this.touch(session);
    }
    if (read_types.has(type)) return this.read(request, session);
    if (type === 'set_watches') return this.setWatches(request, session);
    if (type === 'remove_watches' || type === 'check_watches') return this.removeWatches(request, session);
    if (type === 'get_acl') return this.getAcl(request, session);
    if (type === 'multi' && Array.isArray(b.ops) && b.ops.length > 0 && b.ops.every(isReadOp)) return this.multiRead(request, session);
    if (type === 'sync') return this.propose(request, 'sync', { type: 'sync', session, time: 0 });
    if (type === 'close_session') {
      if (this.bug === 'close_lost_keeps_ephemerals') this.untrackAtOnce(session);
      return this.propose(request, 'close', { type: 'close_session', session, time: 0 });
    }
    const txn = this.writeTxn(type, session, b);
    if ('name' in txn) {
      this.replyError(request, txn);
      return;
    }
    // A check changes nothing, like a sync: lost with its leader, it certainly did not happen.
    this.propose(request, txn.type === 'check' ? 'sync' : 'write', txn);
  }

  private connectRequest(request: Envelope): void {
    const b = request.body;
    if (b.last_zxid_seen !== undefined && b.last_zxid_seen !== null) {
      const seen = parseZxid(b.last_zxid_seen);
      if (seen === null) {
        this.replyError(request, zkError('BadArguments', 'connect: last_zxid_seen must be a zxid ("epoch:counter")'));
        return;
      }
      // As ZooKeeper: a server behind what the client saw would serve it the past; the client tries another.
      if (compareZxid(seen, this.replica.applied_zxid) > 0) {
        const text = `${this.o.id} has applied up to ${formatZxid(this.replica.applied_zxid)}, behind the client's ${formatZxid(seen)}: connect to another server`;
        this.replyError(request, zkError('ZxidAhead', text));
        return;
      }
    }
    if (b.session !== undefined && b.session !== null) {
      if (typeof b.session !== 'string' || b.session === '') {
        this.replyError(request, zkError('BadArguments', 'connect: session must be a session id from an earlier connect_ok'));
        return;
      }
      // Through the leader: once this server applies the no-op, its tree says whether the session is still open.
      if (this.replica.tree.hasSession(b.session)) this.touch(b.session);
      this.propose(request, 'reconnect', { type: 'sync', session: b.session, time: 0, reconnect: true });
      return;
    }
    if (typeof b.timeout_ms !== 'number' || !Number.isFinite(b.timeout_ms) || b.timeout_ms <= 0) {
      this.replyError(request, zkError('BadArguments', 'connect needs timeout_ms, the session timeout asked for (a positive number of ms)'));
      return;
    }
    const timeout_ms = negotiateSessionTimeout(b.timeout_ms, this.o.tick_ms);
    // The leader stamps the session id (prepare).
    this.propose(request, 'connect', { type: 'create_session', session: '', timeout_ms, time: 0 });
  }

  private writeTxn(type: string, session: string, b: MessageBody): ZkProposal | ZkError {
    if (type === 'set_acl') return setAclTxn(session, b);
    if (type !== 'multi') {
      const op = requestOp(type, b);
      if ('name' in op) return op;
      // Refused before it costs a txn; in a multi the tree refuses a bad path as that op's error, with every op's result.
      return checkPath(op.type === 'create' && op.sequential ? op.path + '0' : op.path) ?? ({ ...op, session, time: 0 } as ZkProposal);
    }
    if (!Array.isArray(b.ops)) return zkError('BadArguments', 'multi needs ops, a list');
    // Each op takes the defaults its request would; one past the limit is kept so the limit is named.
    const ops: MultiOp[] = [];
    for (const [i, raw] of b.ops.slice(0, multi_ops_max + 1).entries()) {
      const kind = typeof raw === 'object' && raw !== null ? (raw as MessageBody).type : undefined;
      const op = typeof kind === 'string' && multi_op_types.has(kind) ? requestOp(kind, raw as MessageBody) : zkError('BadArguments', 'not a create, delete, set_data or check');
      if ('name' in op) return zkError('BadArguments', `multi: op ${i + 1}: ${op.text}`);
      ops.push(op);
    }
    const checked = parseMultiOps(ops);
    return typeof checked === 'string' ? zkError('BadArguments', `multi: ${checked}`) : { type: 'multi', session, ops: checked, time: 0 };
  }

  private propose(request: Envelope, kind: PendingKind, txn: ZkProposal): void {
    if (this.pending.size >= pending_requests_max) {
      this.replyError(request, zkError('ConnectionLoss', `${pending_requests_max} requests already wait at ${this.o.id}; slow down`), error_codes.temporarily_unavailable);
      return;
    }
    const id = this.next_request++;
    const via: TxnOrigin = { server: this.o.id, incarnation: this.o.incarnation, request: id };
    // Registered before proposing: a leader alone in its ensemble may commit at once.
    this.pending.set(id, { request, kind, deadline_ms: this.o.now() + write_wait_ms_max });
    const r = this.o.propose({ ...txn, via });
    if (r.ok) return;
    this.pending.delete(id);
    if (r.error === 'rejected') this.replyError(request, zkError('BadArguments', r.reason));
    else this.replyError(request, zkError('ConnectionLoss', r.error === 'busy' ? 'the leader has too many uncommitted proposals; slow down' : this.notServingText()), error_codes.temporarily_unavailable);
  }

  private read(request: Envelope, session: string): void {
    const b = request.body;
    if (typeof b.path !== 'string') {
      this.replyError(request, zkError('BadArguments', `${b.type} needs a path`));
      return;
    }
    const req = { type: b.type, path: b.path, watch: b.watch === true } as ZkRead;
    const r = this.replica.read(session, req);
    if (!r.ok) {
      this.replyError(request, r.error);
    } else {
      const v = r.value;
      if (req.type === 'exists') this.reply(request, { type: 'exists_ok', stat: v.stat === null ? null : statBody(v.stat) });
      else if ('data' in v) this.reply(request, { type: 'get_data_ok', data: v.data, stat: statBody(v.stat) });
      else if ('children' in v) this.reply(request, { type: 'get_children_ok', children: v.children, stat: statBody(v.stat) });
    }
    // Planted bug watch_after_reply: the events held back go out only now, after the reply.
    this.flushDeferred();
  }

  /** remove_watches / check_watches {session, path, watcher_type}: ZooKeeper's removeWatches and checkWatches. */
  private removeWatches(request: Envelope, session: string): void {
    const b = request.body;
    if (typeof b.path !== 'string' || !Number.isInteger(b.watcher_type)) {
      this.replyError(request, zkError('BadArguments', `${b.type} needs a path and a watcher_type (1 children, 2 data, 3 any)`));
      return;
    }
    const err = this.replica.removeWatches(session, b.path, b.watcher_type as number, b.type === 'remove_watches');
    if (err !== null) this.replyError(request, err);
    else this.reply(request, { type: `${b.type as string}_ok`, path: b.path });
  }

  /** get_acl {session, path}: every znode has the open ACL. */
  private getAcl(request: Envelope, session: string): void {
    const b = request.body;
    if (typeof b.path !== 'string') {
      this.replyError(request, zkError('BadArguments', `${b.type} needs a path`));
      return;
    }
    const r = this.replica.read(session, { type: 'exists', path: b.path, watch: false });
    if (!r.ok) return this.replyError(request, r.error);
    const stat = (r.value as { stat: Stat | null }).stat;
    if (stat === null) return this.replyError(request, zkError('NoNode', `no znode ${b.path}`));
    this.reply(request, { type: 'get_acl_ok', acl: open_acl, stat: statBody(stat) });
  }

  /** A multi of reads only (ZooKeeper's multiRead): each op on its own, from this server's tree. */
  private multiRead(request: Envelope, session: string): void {
    const ops = request.body.ops as MultiReadOp[];
    if (ops.length > multi_ops_max) {
      this.replyError(request, zkError('BadArguments', `multi: ${ops.length} ops; at most ${multi_ops_max} in one multi (multi_ops_max)`));
      return;
    }
    const r = this.replica.multiRead(session, ops);
    if (!r.ok) return this.replyError(request, r.error);
    const results = r.value.map((x) =>
      x.type === 'error' ? { type: 'error', zk_error: x.error.name, text: x.error.text } : x.type === 'get_data' ? { ...x, stat: statBody(x.stat) } : x,
    );
    this.reply(request, { type: 'multi_ok', results });
  }

  /** set_watches {session, relative_zxid, data, exist, child}: a reconnected client's watches (ZooKeeper's SetWatches). */
  private setWatches(request: Envelope, session: string): void {
    const b = request.body;
    const relative = parseZxid(b.relative_zxid);
    if (relative === null) {
      this.replyError(request, zkError('BadArguments', 'set_watches needs relative_zxid, the last zxid the client saw ("epoch:counter")'));
      return;
    }
    const lists: Record<'data' | 'exist' | 'child', string[]> = { data: [], exist: [], child: [] };
    let count = 0;
    for (const kind of ['data', 'exist', 'child'] as const) {
      const value = b[kind] ?? [];
      if (!Array.isArray(value) || value.some((p) => typeof p !== 'string')) {
        this.replyError(request, zkError('BadArguments', `set_watches: ${kind} must be a list of paths`));
        return;
      }
      lists[kind] = value as string[];
      count += value.length;
    }
    if (count > set_watches_paths_max) {
      this.replyError(request, zkError('BadArguments', `set_watches carries ${count} paths; at most ${set_watches_paths_max} (set_watches_paths_max)`));
      return;
    }
    const r = this.replica.setWatches(session, relative, lists);
    if (!r.ok) {
      this.replyError(request, r.error);
      return;
    }
    // Events first, as for a txn: the reply says every watch is either fired or set.
    for (const e of r.events) this.sendEvent(request.src, { type: 'watch_event', session, path: e.path, event: e.type, zxid: formatZxid(e.zxid) });
    this.reply(request, { type: 'set_watches_ok', session, zxid: formatZxid(this.replica.applied_zxid), fired: r.events.length });
    this.flushDeferred();
  }

  private listSessions(request: Envelope): void {
    if (!this.tracker) {
      const leader = this.serving ? this.leader : null;
      const text = leader ? `${this.o.id} is not the leader; ask ${leader}` : `${this.o.id} is not the leader and knows none`;
      this.reply(request, { type: 'error', code: error_codes.temporarily_unavailable, text, zk_error: 'ConnectionLoss', ...(leader ? { leader } : {}) });
      return;
    }
    const now = this.o.now();
    const all = this.replica.tree.sessionList().filter((s) => this.tracker!.deadlineOf(s.session) !== null);
    const sessions = all.slice(0, list_sessions_reply_max).map((s) => {
      const r = this.relayed.get(s.session);
      return { session: s.session, timeout_ms: s.timeout_ms, idle_ms: r ? Math.max(0, Math.round(now - r.at_ms)) : null, server: r?.server ?? null };
    });
    this.reply(request, { type: 'list_sessions_ok', sessions, ...(all.length > sessions.length ? { more: all.length - sessions.length } : {}) });
  }

  /** Planted bug close_lost_keeps_ephemerals: the leader stops tracking the session as soon as a server sees its close. */
  private untrackAtOnce(session: string): void {
    if (this.tracker) {
      this.tracker.remove(session);
      this.relayed.delete(session);
    } else if (this.leader !== null) {
      this.o.send(this.leader, { type: 'zk_touch', server: this.o.id, sessions: [], closing: [session] });
    }
  }

  // ---- replies ----------------------------------------------------------------------------------

  private notServingText(): string {
    return this.leader === null ? `${this.o.id} is not serving: it follows no established leader` : `${this.o.id} is not serving: ${this.leader} is not established yet`;
  }

  private connect(session: string, client: string): void {
    if (this.connections.has(session) || this.connections.size < connections_max) this.connections.set(session, client);
  }

  private reply(request: Envelope, body: MessageBody): void {
    this.o.send(request.src, { ...body, in_reply_to: request.body.msg_id });
  }

  /** An error under its ZooKeeper name; `code` overrides the table's (ConnectionLoss refused at the door is 11); a failed multi's per-op results. */
  private replyError(request: Envelope, error: ZkError, code?: number, results?: readonly MultiOpFailure[]): void {
    const body: MessageBody = { type: 'error', code: code ?? error.code, text: error.text, zk_error: error.name satisfies ZkErrorName };
    if (results !== undefined) body.results = results.map((zk_error) => ({ type: 'error', zk_error }));
    this.reply(request, body);
  }

  private sendEvent(to: string, body: MessageBody): void {
    if (this.bug !== 'watch_after_reply') {
      this.o.send(to, body);
      return;
    }
    if (this.deferred.length >= deferred_watch_events_max) this.flushDeferred();
    this.deferred.push({ to, body, at_ms: this.o.now() });
  }

  private flushDeferred(): void {
    const held = this.deferred;
    this.deferred = [];
    for (const d of held) this.o.send(d.to, d.body);
  }
}

/** A create, delete, set_data or check request's op, with the defaults a request may leave out; or why not (the path is not checked here). */
function requestOp(type: string, b: MessageBody): MultiOp | ZkError {
  const path = b.path;
  if (typeof path !== 'string') return zkError('BadArguments', `${type} needs a path`);
  const version = type === 'create' ? -1 : requestVersion(b);
  if (typeof version !== 'number') return version;
  const data = b.data === undefined || b.data === null ? (type === 'create' ? '' : undefined) : b.data;
  if ((type === 'create' || type === 'set_data') && typeof data !== 'string') return zkError('BadArguments', `${type} needs data, a string`);
  for (const flag of ['ephemeral', 'sequential', 'container'] as const) {
    if (type === 'create' && b[flag] !== undefined && typeof b[flag] !== 'boolean') return zkError('BadArguments', `${flag} must be true or false`);
  }
  const sequential = b.sequential === true;
  switch (type) {
    case 'create':
      return { type: 'create', path, data: data as string, ephemeral: b.ephemeral === true, sequential, ...(b.container === true ? { container: true } : {}) };
    case 'delete':
    case 'check':
      return { type, path, version };
    default:
      return { type: 'set_data', path, data: data as string, version };
  }
}

/** The version a conditional request expects: -1 (any) when absent. */
function requestVersion(b: MessageBody): number | ZkError {
  const version = b.version === undefined || b.version === null ? -1 : b.version;
  return Number.isInteger(version) && (version as number) >= -1 ? (version as number) : zkError('BadArguments', 'version must be an integer, -1 (or absent) for any');
}

/**
 * set_acl's txn, or why not: ZooKeeper checks the path before the ACL, and the znode and its ACL
 * version when the txn applies. Only the open ACL, which every znode has, can be set.
 */
function setAclTxn(session: string, b: MessageBody): ZkProposal | ZkError {
  if (typeof b.path !== 'string') return zkError('BadArguments', 'set_acl needs a path');
  const version = requestVersion(b);
  if (typeof version !== 'number') return version;
  const bad = checkPath(b.path);
  if (bad !== null) return bad;
  if (!isOpenAcl(b.acl)) return zkError('Unimplemented', `only the open ACL ${JSON.stringify(open_acl)} is served; every znode has it`);
  return { type: 'set_acl', session, path: b.path, version, time: 0 };
}

function isReadOp(op: unknown): op is MultiReadOp {
  if (typeof op !== 'object' || op === null) return false;
  const o = op as Record<string, unknown>;
  return (o.type === 'get_data' || o.type === 'get_children') && typeof o.path === 'string';
}

/** Whether `acl` is ZooKeeper's open ACL: world:anyone with every permission, alone. */
function isOpenAcl(acl: unknown): boolean {
  if (!Array.isArray(acl) || acl.length !== 1) return false;
  const a = acl[0] as Record<string, unknown> | null;
  return a !== null && typeof a === 'object' && a.scheme === open_acl[0].scheme && a.id === open_acl[0].id && a.perms === open_acl[0].perms;
}

/** An applied multi op's result as ZooKeeper's client gets it: a create's path and stat, a set_data's stat, nothing else. */
function multiResultBody(r: MultiOpResult): MessageBody {
  switch (r.type) {
    case 'create':
      return { type: 'create', path: r.path, stat: statBody(r.stat) };
    case 'set_data':
      return { type: 'set_data', stat: statBody(r.stat) };
    default:
      return { type: r.type };
  }
}

/** A stat for the wire: zxids as "epoch:counter". */
export function statBody(s: Stat): Record<string, unknown> {
  return { ...s, czxid: formatZxid(s.czxid), mzxid: formatZxid(s.mzxid), pzxid: formatZxid(s.pzxid) };
}
