// A server's watches and its replica (tree plus watches). Pure: no I/O, no clock; the host sends the events.

// Watches: one-shot notifications a client sets with a read on the server it is connected to. They are
// server-local and volatile (not replicated, not persisted): each server fires its own clients' watches
// when it applies the txn that changed the watched znode. ZkReplica bundles a server's tree and watch
// manager; applying a txn returns the watch events first and the txn's outcome with them, so the host
// sends each event before any reply (to the write, or to a later read) that reflects the change.

import { zkError, type ZkError } from '../../../lib/zk/errors.js';
import type { LoggedTxn } from './messages.js';
import type { ZabStateMachine } from './state-machine.js';
import { ZkTree, type Stat, type TreeOptions, type WatchTrigger, type ZkApplied, type ZkEventType, type ZkReadResult } from './tree.js';
import { compareZxid, type Zxid } from './zxid.js';

/** Watches one server holds for all its clients. */
export const watch_count_max = 100_000;

/** data: set by get_data (or exists on a znode that exists); exists: by exists on a missing znode;
 * child: by get_children. */
export type WatchKind = 'data' | 'exists' | 'child';

export interface WatchEvent {
  session: string;
  path: string;
  type: ZkEventType;
  /** The txn that fired it. */
  zxid: Zxid;
}

/** ZooKeeper's WatcherType for removeWatches and checkWatches: the kinds of watch each removes. A data
 * watch in ZooKeeper is one set by getData or exists, whether or not the znode exists. */
export const watcher_type_kinds: Readonly<Record<number, readonly WatchKind[]>> = {
  1: ['child'],
  2: ['data', 'exists'],
  3: ['data', 'exists', 'child'],
};

/** Which kinds of watch on the znode each event fires (and so removes). */
const fired_kinds: Readonly<Record<ZkEventType, readonly WatchKind[]>> = {
  NodeCreated: ['data', 'exists'],
  NodeDataChanged: ['data', 'exists'],
  NodeDeleted: ['data', 'exists', 'child'],
  NodeChildrenChanged: ['child'],
};

export class WatchManager {
  private readonly by_kind: Record<WatchKind, Map<string, Set<string>>> = { data: new Map(), exists: new Map(), child: new Map() };
  private watch_count = 0;

  get size(): number {
    return this.watch_count;
  }

  /** Sets a watch; setting the same one again is a no-op. QuotaExceeded when the server holds the maximum. */
  add(session: string, path: string, kind: WatchKind): ZkError | null {
    const map = this.by_kind[kind];
    const set = map.get(path);
    if (set?.has(session) === true) return null;
    if (this.watch_count >= watch_count_max) return zkError('QuotaExceeded', `this server already holds ${watch_count_max} watches (watch_count_max)`);
    if (set === undefined) map.set(path, new Set([session]));
    else set.add(session);
    this.watch_count += 1;
    return null;
  }

  has(session: string, path: string, kind: WatchKind): boolean {
    return this.by_kind[kind].get(path)?.has(session) ?? false;
  }

  /** Removes the session's watches of these kinds on `path`; how many there were. */
  remove(session: string, path: string, kinds: readonly WatchKind[]): number {
    let removed = 0;
    for (const kind of kinds) {
      const set = this.by_kind[kind].get(path);
      if (set === undefined || !set.delete(session)) continue;
      removed += 1;
      this.watch_count -= 1;
      if (set.size === 0) this.by_kind[kind].delete(path);
    }
    return removed;
  }

  /** The events a txn's triggers fire, in trigger order; each watch fires once and is gone. A session
   * watching one znode in several ways gets one event per trigger. */
  fire(triggers: readonly WatchTrigger[], zxid: Zxid): WatchEvent[] {
    const events: WatchEvent[] = [];
    for (const t of triggers) {
      const sessions = new Set<string>();
      for (const kind of fired_kinds[t.type]) {
        const set = this.by_kind[kind].get(t.path);
        if (set === undefined) continue;
        for (const s of set) sessions.add(s);
        this.watch_count -= set.size;
        this.by_kind[kind].delete(t.path);
      }
      for (const session of sessions) events.push({ session, path: t.path, type: t.type, zxid });
    }
    return events;
  }

  /** Forgets a session's watches (it closed or expired). */
  dropSession(session: string): void {
    for (const map of Object.values(this.by_kind)) {
      for (const [path, set] of map) {
        if (set.delete(session)) this.watch_count -= 1;
        if (set.size === 0) map.delete(path);
      }
    }
  }
}

// ---- a server's tree and watches ----------------------------------------------------------------

export type ZkRead =
  | { type: 'exists'; path: string; watch: boolean }
  | { type: 'get_data'; path: string; watch: boolean }
  | { type: 'get_children'; path: string; watch: boolean };

/** The watches a client re-sends after a reconnect (ZooKeeper's SetWatches), by kind, as paths. */
export interface SetWatches {
  data: readonly string[];
  exist: readonly string[];
  child: readonly string[];
}

export type ZkReadValue = { stat: Stat | null } | { data: string; stat: Stat } | { children: string[]; stat: Stat };

/** An op of a read-only multi (ZooKeeper's multiRead): no watch. */
export interface MultiReadOp {
  type: 'get_data' | 'get_children';
  path: string;
}

/** Each op of a read-only multi on its own: its value, or its error. */
export type MultiReadResult = { type: 'get_data'; data: string; stat: Stat } | { type: 'get_children'; children: string[] } | { type: 'error'; error: ZkError };

export interface ZkReplicaApplied extends ZkApplied {
  /** Watch events for this server's clients, to send before the outcome and before any later read. */
  events: WatchEvent[];
}

export class ZkReplica implements ZabStateMachine<ZkReplicaApplied> {
  readonly watches = new WatchManager();

  constructor(readonly tree: ZkTree = new ZkTree()) {}

  static restore(image: unknown, options: Partial<TreeOptions> = {}): ZkReplica {
    // Watches are not part of the image: a server that takes a SNAP drops its clients, and they set
    // their watches again when they reconnect.
    return new ZkReplica(ZkTree.restore(image, options));
  }

  get applied_zxid(): Zxid {
    return this.tree.applied_zxid;
  }

  snapshot(): unknown {
    return this.tree.snapshot();
  }

  apply(entry: LoggedTxn): ZkReplicaApplied {
    const applied = this.tree.apply(entry);
    let events = this.watches.fire(applied.triggers, applied.zxid);
    const o = applied.outcome;
    if (o.ok && (o.type === 'close_session' || o.type === 'expire_session')) {
      // The closed session's client is gone; the others still hear of its ephemerals going away.
      events = events.filter((e) => e.session !== o.session);
      this.watches.dropSession(o.session);
    }
    return { ...applied, events };
  }

  /**
   * ZooKeeper's SetWatches: a reconnected client's watches, set when it had seen everything up to
   * `relative` (so every change after it is one it has not heard of). A watch whose condition already
   * changed fires at once (its event returned, zxid the change's, or this server's own for a deletion);
   * the others are set here. Every path is checked first: a bad one sets nothing.
   */
  setWatches(session: string, relative: Zxid, watches: SetWatches): { ok: true; events: WatchEvent[] } | { ok: false; error: ZkError } {
    if (!this.tree.hasSession(session)) return { ok: false, error: zkError('SessionExpired', `session ${session} is not open`) };
    for (const path of [...watches.data, ...watches.exist, ...watches.child]) {
      const r = this.tree.exists(path);
      if (!r.ok) return r;
    }
    const events: WatchEvent[] = [];
    const changed = (z: Zxid) => compareZxid(z, relative) > 0;
    const fire = (path: string, type: ZkEventType, zxid: Zxid) => events.push({ session, path, type, zxid });
    const set = (path: string, kind: WatchKind): ZkError | null => this.watches.add(session, path, kind);
    const stat = (path: string) => (this.tree.exists(path) as { ok: true; value: Stat | null }).value;
    for (const path of watches.data) {
      const s = stat(path);
      if (s === null) fire(path, 'NodeDeleted', this.applied_zxid);
      else if (changed(s.mzxid)) fire(path, 'NodeDataChanged', s.mzxid);
      else {
        const err = set(path, 'data');
        if (err !== null) return { ok: false, error: err };
      }
    }
    for (const path of watches.exist) {
      const s = stat(path);
      if (s !== null) fire(path, 'NodeCreated', s.czxid);
      else {
        const err = set(path, 'exists');
        if (err !== null) return { ok: false, error: err };
      }
    }
    for (const path of watches.child) {
      const s = stat(path);
      if (s === null) fire(path, 'NodeDeleted', this.applied_zxid);
      else if (changed(s.pzxid)) fire(path, 'NodeChildrenChanged', s.pzxid);
      else {
        const err = set(path, 'child');
        if (err !== null) return { ok: false, error: err };
      }
    }
    return { ok: true, events };
  }

  /**
   * ZooKeeper's removeWatches (remove true) and checkWatches (false): the session's watches of a
   * WatcherType on `path` at this server; NoWatcher when it holds none.
   */
  removeWatches(session: string, path: string, watcher_type: number, remove: boolean): ZkError | null {
    if (!this.tree.hasSession(session)) return zkError('SessionExpired', `session ${session} is not open`);
    const bad = this.tree.exists(path);
    if (!bad.ok) return bad.error;
    const kinds = watcher_type_kinds[watcher_type];
    if (kinds === undefined) return zkError('BadArguments', `watcher_type ${watcher_type}: 1 (children), 2 (data) or 3 (any)`);
    const held = remove ? this.watches.remove(session, path, kinds) : kinds.filter((k) => this.watches.has(session, path, k)).length;
    return held > 0 ? null : zkError('NoWatcher', `session ${session} holds no watch of type ${watcher_type} on ${path} at this server`);
  }

  /** A read-only multi: each op served on its own from this server's tree, as ZooKeeper's multiRead. */
  multiRead(session: string, ops: readonly MultiReadOp[]): ZkReadResult<MultiReadResult[]> {
    if (!this.tree.hasSession(session)) return { ok: false, error: zkError('SessionExpired', `session ${session} is not open`) };
    const results = ops.map((op): MultiReadResult => {
      if (op.type === 'get_data') {
        const r = this.tree.getData(op.path);
        return r.ok ? { type: 'get_data', ...r.value } : { type: 'error', error: r.error };
      }
      const r = this.tree.getChildren(op.path);
      return r.ok ? { type: 'get_children', children: r.value.children } : { type: 'error', error: r.error };
    });
    return { ok: true, value: results };
  }

  /** Serves a read from this server's tree, setting the watch it asks for. */
  read(session: string, req: ZkRead): ZkReadResult<ZkReadValue> {
    if (!this.tree.hasSession(session)) return { ok: false, error: zkError('SessionExpired', `session ${session} is not open`) };
    switch (req.type) {
      case 'exists': {
        const r = this.tree.exists(req.path);
        if (!r.ok) return r;
        // ZooKeeper sets a watch from exists whether or not the znode is there: it fires on the create.
        if (req.watch) {
          const err = this.watches.add(session, req.path, r.value === null ? 'exists' : 'data');
          if (err !== null) return { ok: false, error: err };
        }
        return { ok: true, value: { stat: r.value } };
      }
      case 'get_data': {
        const r = this.tree.getData(req.path);
        if (!r.ok) return r;
        if (req.watch) {
          const err = this.watches.add(session, req.path, 'data');
          if (err !== null) return { ok: false, error: err };
        }
        return { ok: true, value: r.value };
      }
      case 'get_children': {
        const r = this.tree.getChildren(req.path);
        if (!r.ok) return r;
        if (req.watch) {
          const err = this.watches.add(session, req.path, 'child');
          if (err !== null) return { ok: false, error: err };
        }
        return { ok: true, value: r.value };
      }
    }
  }
}
