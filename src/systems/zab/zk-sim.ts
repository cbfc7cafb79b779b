// ZooKeeper clients for the Zab simulation (sim.ts): sessions, writes, watched reads, and their checks.
// No real I/O, clock or randomness: the simulation hands them in.

// ZooKeeper clients for the Zab simulation (sim.ts with zk_clients on). Each client opens a session
// with a create_session txn, keeps it alive with pings to the server it is connected to (which relays
// them to its leader's session tracker, as a learner does), writes znode txns through the ensemble, and
// reads with watches from its server. Now and then a client vanishes without closing its session: the
// leader's tracker must notice the silence and propose the expiry. The checks, besides the tree's own
// invariants after every txn on every server (no ephemeral outlives its session, in sim.ts):
// - a watch event comes before the changed data: a read that reflects a change to a watched znode
//   finds the watch's event already delivered to the client;
// - at the end every session left in the tree is one a client still uses (the others expired).
// A client that reaches a new server (another one, or its own restarted) sets its watches again there,
// as ZooKeeper's client does with SetWatches: relative to the last zxid it saw, so a watch whose znode
// changed meanwhile fires at once and the check above spans reconnects. Like ZooKeeper, a server that is
// behind what the client has seen refuses it, and the client tries another.

import { SessionTracker } from './core/sessions.js';
import type { Stat, ZkApplied, ZkTxn } from './core/tree.js';
import type { WatchKind, ZkRead, ZkReplica, ZkReplicaApplied } from './core/watches.js';
import { compareZxid, formatZxid, maxZxid, zxid_zero, type Zxid } from './core/zxid.js';

export const zk_session_timeout_ms_min = 200;
export const zk_session_timeout_ms_max = 500;
/** A client pings this many times per session timeout (ZooKeeper's client pings at a third). */
export const zk_pings_per_timeout = 3;
/** At each write: the chance the client vanishes without closing, and the chance it closes. */
export const zk_abandon_chance = 0.05;
export const zk_close_chance = 0.04;
export const zk_read_think_ms_max = 40;
/** Watches a client's model remembers; older ones are forgotten (the check just covers fewer). */
const zk_client_watches_max = 64;

/** What the workload keeps on each server process. */
export interface ZkServerSide {
  zk: ZkReplica;
  /** A new value whenever the server loses its watches (restart, snapshot restore): clients connected
   * before are disconnected. */
  zk_connection: number;
  /** The leader's session tracker; null on a server not leading an established epoch. */
  tracker: SessionTracker | null;
}

export interface ZkSimEnv<P extends ZkServerSide> {
  now(): number;
  after(ms: number, run: () => void): void;
  draw: { int(lo: number, hi: number): number; chance(p: number): boolean; pick<T>(items: readonly T[]): T };
  serverIds: readonly string[];
  /** Runs fn on the server if it is up (true), or holds it until a paused server resumes (false), or drops it. */
  onServer(id: string, fn: (p: P) => void): boolean;
  /** The server this one follows (or itself when leading), if known. */
  leaderIdOf(p: P): string | null;
  /** Whether the simulation has ended (loops stop). */
  done(): boolean;
  failure(kind: string, detail: string): Error;
}

interface ModelWatch {
  path: string;
  kind: WatchKind;
  /** The znode as the read saw it; a read that sees it otherwise must come after the event. */
  seen: string;
}

interface ZkClient {
  id: string;
  incarnation: number;
  /** The session the client uses, or null before it asks for one. */
  session: string | null;
  open: boolean;
  timeout_ms: number;
  server: string;
  /** The server's zk_connection when the client last reached it; watches are valid only on it. */
  connection: number;
  watches: ModelWatch[];
  /** The latest zxid the client has seen a server at: a new connection sets its watches relative to it. */
  last_zxid: Zxid;
  writes: number;
}

/** Which kinds of watch each event consumes (mirrors ZooKeeper's rules). */
const consumed: Readonly<Record<string, readonly WatchKind[]>> = {
  NodeCreated: ['data', 'exists'],
  NodeDataChanged: ['data', 'exists'],
  NodeDeleted: ['data', 'exists', 'child'],
  NodeChildrenChanged: ['child'],
};

export interface ZkWorkloadStats {
  zk_sessions_opened: number;
  zk_sessions_closed: number;
  zk_sessions_expired: number;
  zk_sessions_abandoned: number;
  zk_ephemerals_deleted: number;
  zk_reads: number;
  zk_watch_events: number;
  /** Reconnections that set a client's watches again (set_watches), and the watches that fired there at once. */
  zk_watches_reset: number;
  zk_watches_fired_on_reset: number;
  /** Connections a server refused because it had applied less than the client had seen. */
  zk_connects_refused_behind: number;
  /** Multis in the agreed sequence that applied, and that failed on an op (changing nothing). */
  zk_multis_applied: number;
  zk_multis_failed: number;
}

export class ZkWorkload<P extends ZkServerSide> {
  private readonly clients: ZkClient[] = [];
  private readonly by_session = new Map<string, ZkClient>();
  readonly stats: ZkWorkloadStats = {
    zk_sessions_opened: 0,
    zk_sessions_closed: 0,
    zk_sessions_expired: 0,
    zk_sessions_abandoned: 0,
    zk_ephemerals_deleted: 0,
    zk_reads: 0,
    zk_watch_events: 0,
    zk_watches_reset: 0,
    zk_watches_fired_on_reset: 0,
    zk_connects_refused_behind: 0,
    zk_multis_applied: 0,
    zk_multis_failed: 0,
  };

  constructor(
    private readonly env: ZkSimEnv<P>,
    client_ids: readonly string[],
  ) {
    for (const id of client_ids) {
      this.clients.push({ id, incarnation: 0, session: null, open: false, timeout_ms: 0, server: env.draw.pick(env.serverIds), connection: -1, watches: [], last_zxid: zxid_zero, writes: 0 });
    }
  }

  // ---- writes -----------------------------------------------------------------------------------

  /** The znode txn of a client's next write (the same for each of its attempts). */
  nextTxn(index: number): ZkTxn {
    const c = this.clients[index]!;
    const d = this.env.draw;
    const time = this.env.now();
    if (c.session !== null && c.open && d.chance(zk_abandon_chance)) {
      // The client vanishes: no close, no more pings. Only the leader's tracker can end the session.
      this.stats.zk_sessions_abandoned++;
      this.forget(c);
    }
    if (c.session === null || !c.open) {
      // A create_session that timed out may still commit: that session is then nobody's and must expire.
      if (c.session !== null) this.forget(c);
      c.incarnation += 1;
      c.session = `${c.id}.${c.incarnation}`;
      c.timeout_ms = d.int(zk_session_timeout_ms_min, zk_session_timeout_ms_max);
      this.by_session.set(c.session, c);
      return { type: 'create_session', session: c.session, timeout_ms: c.timeout_ms, time };
    }
    const session = c.session;
    if (d.chance(zk_close_chance)) return { type: 'close_session', session, time };
    c.writes += 1;
    const data = `${c.id}-${c.writes}`;
    const mine = `/app/${c.id}`;
    const ops: ZkTxn[] = [
      { type: 'create', session, path: '/app', data, ephemeral: false, sequential: false, time },
      { type: 'create', session, path: mine, data, ephemeral: true, sequential: false, time },
      { type: 'create', session, path: `${mine}-lock-`, data, ephemeral: true, sequential: true, time },
      { type: 'create', session, path: '/app/q-', data, ephemeral: false, sequential: true, time },
      { type: 'create', session, path: '/app/shared', data, ephemeral: d.chance(0.5), sequential: false, time },
      { type: 'create', session, path: `${mine}/child`, data, ephemeral: false, sequential: false, time },
      { type: 'set_data', session, path: '/app/shared', data, version: -1, time },
      { type: 'set_data', session, path: '/app', data, version: d.int(-1, 3), time },
      { type: 'delete', session, path: '/app/shared', version: -1, time },
      { type: 'delete', session, path: mine, version: -1, time },
      // Multis: all or nothing, so some fail on the check or on an op before it and change nothing.
      {
        type: 'multi',
        session,
        ops: [
          { type: 'create', path: '/app/box', data, ephemeral: false, sequential: false, container: true },
          { type: 'create', path: '/app/box/c-', data, ephemeral: true, sequential: true },
          { type: 'check', path: '/app', version: d.int(-1, 3) },
        ],
        time,
      },
      {
        type: 'multi',
        session,
        ops: [
          { type: 'set_data', path: '/app/shared', data, version: -1 },
          { type: 'create', path: `${mine}/m`, data, ephemeral: false, sequential: false },
          { type: 'delete', path: `${mine}/child`, version: -1 },
        ],
        time,
      },
    ];
    return d.pick(ops);
  }

  /** A client's connection to a server is gone: it forgets the watches it had there. */
  private forget(c: ZkClient): void {
    c.session = null;
    c.open = false;
    c.watches = [];
  }

  // ---- what servers apply -----------------------------------------------------------------------

  /** Once per txn of the agreed sequence (its first delivery anywhere): what the clients learn. */
  onAgreed(applied: ZkApplied): void {
    const o = applied.outcome;
    const txn = applied.txn;
    if (txn === null) return;
    // A container's deletion is the leader's own txn, of no session.
    const session = 'session' in txn ? txn.session : null;
    const c = session === null ? undefined : this.by_session.get(session);
    if (txn.type === 'multi') {
      if (o.ok) this.stats.zk_multis_applied++;
      else if (o.results !== undefined) this.stats.zk_multis_failed++;
    }
    if (o.ok && o.type === 'create_session') {
      this.stats.zk_sessions_opened++;
      if (c !== undefined && c.session === o.session && !c.open) {
        c.open = true;
        c.last_zxid = applied.zxid;
        this.pingLater(c, o.session);
        this.readLater(c, o.session);
      }
    } else if (o.ok && (o.type === 'close_session' || o.type === 'expire_session')) {
      if (o.type === 'close_session') this.stats.zk_sessions_closed++;
      else this.stats.zk_sessions_expired++;
      this.stats.zk_ephemerals_deleted += o.deleted.length;
      this.by_session.delete(o.session);
      if (c !== undefined && c.session === o.session) this.forget(c);
    } else if (!o.ok && o.error.name === 'SessionExpired' && c !== undefined && c.session === session && c.open) {
      this.forget(c);
    }
  }

  /** Every delivery on every server: watch events go to the clients connected there. */
  onDelivered(server: string, p: P, applied: ZkReplicaApplied): void {
    for (const e of applied.events) {
      const c = this.by_session.get(e.session);
      if (c === undefined || c.session !== e.session || c.server !== server || c.connection !== p.zk_connection) continue;
      this.stats.zk_watch_events++;
      consume(c, e.type, e.path);
    }
    const o = applied.outcome;
    if (p.tracker !== null && o.ok) {
      if (o.type === 'create_session') p.tracker.add(o.session, o.timeout_ms, this.env.now());
      else if (o.type === 'close_session' || o.type === 'expire_session') p.tracker.remove(o.session);
    }
  }

  // ---- the leader's session tracker -------------------------------------------------------------

  /** A leader established its epoch: it follows every session its tree holds, each with a whole timeout. */
  onEstablished(p: P): void {
    p.tracker = new SessionTracker();
    p.tracker.adopt(p.zk.tree.sessionList(), this.env.now());
  }

  /** Each tick of a server: a leader proposes the expiry of every session gone quiet. */
  onTick(p: P, leading: boolean, propose: (txn: ZkTxn) => boolean): void {
    if (!leading) {
      p.tracker = null;
      return;
    }
    if (p.tracker === null) return;
    const now = this.env.now();
    for (const session of p.tracker.tick(now)) {
      if (!propose({ type: 'expire_session', session, time: now })) p.tracker.retryExpiry(session);
    }
  }

  // ---- pings and reads --------------------------------------------------------------------------

  private live(c: ZkClient, session: string): boolean {
    return !this.env.done() && c.session === session && c.open;
  }

  /** Reaches the client's server (switching to another if it is down); fn runs there. */
  private contact(c: ZkClient, session: string, fn: (p: P) => void): void {
    const server = c.server;
    const reached = this.env.onServer(server, (p) => {
      if (!this.live(c, session) || c.server !== server) return; // a held request that came too late
      if (c.connection !== p.zk_connection && !this.connect(c, session, p)) return;
      fn(p);
      c.last_zxid = maxZxid(c.last_zxid, p.zk.applied_zxid);
    });
    if (!reached) this.moveOn(c);
  }

  /** A new connection to p: refused when p is behind the client; else the client's watches are set there again. */
  private connect(c: ZkClient, session: string, p: P): boolean {
    if (compareZxid(p.zk.applied_zxid, c.last_zxid) < 0) {
      this.stats.zk_connects_refused_behind++;
      this.moveOn(c);
      return false;
    }
    c.connection = p.zk_connection;
    if (c.watches.length === 0) return true;
    const lists = { data: [] as string[], exist: [] as string[], child: [] as string[] };
    for (const w of c.watches) (w.kind === 'data' ? lists.data : w.kind === 'exists' ? lists.exist : lists.child).push(w.path);
    const r = p.zk.setWatches(session, c.last_zxid, lists);
    this.stats.zk_watches_reset++;
    if (!r.ok) {
      // The server does not know the session (it expired): nothing is set, and the model keeps nothing.
      c.watches = [];
      return true;
    }
    for (const e of r.events) {
      this.stats.zk_watches_fired_on_reset++;
      consume(c, e.type, e.path);
    }
    return true;
  }

  /** The client's server is gone or refused it: the next request goes to another server, watches kept. */
  private moveOn(c: ZkClient): void {
    c.server = this.env.draw.pick(this.env.serverIds);
    c.connection = -1;
  }

  private pingLater(c: ZkClient, session: string): void {
    this.env.after(Math.max(1, Math.floor(c.timeout_ms / zk_pings_per_timeout)), () => {
      if (!this.live(c, session)) return;
      this.contact(c, session, (p) => {
        const leader = this.env.leaderIdOf(p);
        if (leader !== null) this.env.onServer(leader, (lp) => lp.tracker?.touch(session, this.env.now()));
      });
      this.pingLater(c, session);
    });
  }

  private readLater(c: ZkClient, session: string): void {
    this.env.after(this.env.draw.int(1, zk_read_think_ms_max), () => {
      if (!this.live(c, session)) return;
      const d = this.env.draw;
      const path = d.pick(['/app', '/app/shared', `/app/${c.id}`, '/app/missing']);
      const req: ZkRead = { type: d.pick(['exists', 'get_data', 'get_children'] as const), path, watch: d.chance(0.7) };
      this.contact(c, session, (p) => this.read(c, p, req));
      this.readLater(c, session);
    });
  }

  private read(c: ZkClient, p: P, req: ZkRead): void {
    const session = c.session!;
    const r = p.zk.read(session, req);
    this.stats.zk_reads++;
    let stat: Stat | null;
    if (r.ok) stat = 'stat' in r.value ? r.value.stat : null;
    else if (r.error.name === 'NoNode') stat = null;
    else return;
    // Every watch still pending on this znode must see it as it was when set.
    for (const w of c.watches) {
      if (w.path !== req.path) continue;
      const now = view(stat, w.kind);
      if (now !== w.seen) {
        throw this.env.failure(
          'watch order',
          `${c.id} (session ${session}) read ${req.type} ${req.path} on ${c.server} and saw ${now}, but its ${w.kind} watch (set seeing ${w.seen}) has not fired`,
        );
      }
    }
    if (!r.ok || !req.watch) return;
    const kind: WatchKind = req.type === 'get_children' ? 'child' : req.type === 'get_data' || stat !== null ? 'data' : 'exists';
    if (c.watches.some((w) => w.path === req.path && w.kind === kind)) return;
    c.watches.push({ path: req.path, kind, seen: view(stat, kind) });
    if (c.watches.length > zk_client_watches_max) c.watches.shift();
  }

  // ---- the end ----------------------------------------------------------------------------------

  /** Sessions in this tree that no client uses any more (they must expire), as text; null when none. */
  leftoverSessions(zk: ZkReplica): string | null {
    const left = zk.tree.sessionList().filter((s) => {
      const c = this.by_session.get(s.session);
      return c === undefined || c.session !== s.session || !c.open;
    });
    return left.length === 0 ? null : left.map((s) => `${s.session} (timeout ${s.timeout_ms}ms, ephemerals ${zk.tree.ephemeralsOf(s.session).join(' ') || 'none'})`).join(', ');
  }
}

/** The client's model watches that event `type` on `path` fired (ZooKeeper's rules of which kinds each event consumes). */
function consume(c: ZkClient, type: string, path: string): void {
  const kinds = consumed[type]!;
  c.watches = c.watches.filter((w) => !(w.path === path && kinds.includes(w.kind)));
}

/** A znode as a watch of `kind` sees it: gone, or its identity and the zxid its kind watches. */
function view(stat: Stat | null, kind: WatchKind): string {
  if (stat === null) return 'no znode';
  return `${formatZxid(stat.czxid)}/${formatZxid(kind === 'child' ? stat.pzxid : stat.mzxid)}`;
}
