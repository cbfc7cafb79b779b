// The ZooKeeper data tree as a deterministic state machine for Zab. Pure: no I/O, no clock.

// The ZooKeeper data model as a deterministic state machine for Zab: a tree of znodes with data and
// stat, persistent, ephemeral, sequential and container znodes, and the sessions that own ephemerals.
// It applies committed txns (create, delete, set_data, set_acl, check, multi, delete_container,
// create_session, close_session, expire_session) and serves reads from what it applied. No I/O and no clock: every
// time it records comes in the txn, stamped by the leader when it proposed it, so every replica that
// applies the same txns holds the same tree.
//
// A txn that fails (a version mismatch, a missing parent, ...) still takes its zxid and fails the same
// way on every replica, as in ZooKeeper, where the leader logs an error txn. Each applied txn reports
// the watch triggers it caused (what changed, in ZooKeeper's order); the server-local watch manager
// (watches.ts) turns them into events for the clients watching.
//
// A multi is one txn: its ops apply in order, each to the tree the ops before it left, and when one
// fails the tree is put back as it was before the first (a journal of the znodes the ops touched), as
// ZooKeeper applies a multi all or nothing under one zxid.

import { zkError, type ZkError, type ZkErrorName } from '../../../lib/zk/errors.js';
import type { ZnodeStat } from '../../../lib/zk/stat.js';
import type { LoggedTxn } from './messages.js';
import type { ZabStateMachine } from './state-machine.js';
import { formatZxid, zxid_zero, type Zxid } from './zxid.js';

// ---- limits -------------------------------------------------------------------------------------

/** Znodes in the tree, the root included. */
export const znode_count_max = 100_000;
/** A znode's data, in UTF-8 bytes (ZooKeeper's default jute.maxbuffer). */
export const znode_data_bytes_max = 1_048_576;
/** A path, in UTF-8 bytes, the sequential suffix included. */
export const znode_path_bytes_max = 1024;
/** Children of one znode. */
export const znode_children_max = 10_000;
/** Open sessions in the ensemble. */
export const session_count_max = 10_000;
/** The largest sequential suffix; ZooKeeper's counter is a signed 32-bit int. */
export const sequential_counter_max = 2_147_483_647;
/** Digits of a sequential suffix, zero-padded. */
export const sequential_suffix_digits = 10;
/** Ops in one multi (ZooKeeper bounds a multi only by its request size). */
export const multi_ops_max = 1000;
/** The data of all the ops of one multi, in UTF-8 bytes (ZooKeeper's whole request is bounded by jute.maxbuffer). */
export const multi_data_bytes_max = znode_data_bytes_max;

// ---- types --------------------------------------------------------------------------------------

/** A znode's stat, with zxids as the tree keeps them. */
export type Stat = ZnodeStat<Zxid>;

export type ZkTxn =
  | { type: 'create_session'; session: string; timeout_ms: number; time: number }
  | { type: 'close_session'; session: string; time: number }
  /** Proposed by the leader when the session tracker found no ping within the timeout. */
  | { type: 'expire_session'; session: string; time: number }
  | (CreateOp & { session: string; time: number })
  /** version -1 deletes whatever the version. */
  | (DeleteOp & { session: string; time: number })
  | (SetDataOp & { session: string; time: number })
  /** Not an op of a multi: ZooKeeper's multi has no setACL. */
  | (SetAclOp & { session: string; time: number })
  /** Changes nothing; fails as a conditional write would (NoNode, BadVersion). */
  | (CheckOp & { session: string; time: number })
  /** Ops applied all or nothing under the txn's one zxid. */
  | { type: 'multi'; session: string; ops: MultiOp[]; time: number }
  /** Proposed by the leader for a container that has had children and has none (no session). */
  | { type: 'delete_container'; path: string; time: number }
  /** Changes nothing: a server that applies it has every txn committed before the leader proposed it
   * (the client's sync, and a reconnect's check that the session is still open). */
  | { type: 'sync'; session: string; time: number };

export type ZkTxnType = ZkTxn['type'];

/** A container is neither ephemeral nor sequential (ZooKeeper's CONTAINER create mode). */
export interface CreateOp {
  type: 'create';
  path: string;
  data: string;
  ephemeral: boolean;
  sequential: boolean;
  container?: boolean;
}
export interface DeleteOp {
  type: 'delete';
  path: string;
  version: number;
}
export interface SetDataOp {
  type: 'set_data';
  path: string;
  data: string;
  version: number;
}
/**
 * ZooKeeper's setACL: version is the ACL version expected (-1: any), and the znode's aversion grows by
 * one. Every znode has the open ACL, the only one a server lets a client set, so the txn names none.
 */
export interface SetAclOp {
  type: 'set_acl';
  path: string;
  version: number;
}
export interface CheckOp {
  type: 'check';
  path: string;
  version: number;
}
/** One op of a multi: the fields of the txn of the same type, without session and time. */
export type MultiOp = CreateOp | DeleteOp | SetDataOp | CheckOp;

/** What an op of a multi that applied did. */
export type MultiOpResult =
  | { type: 'create'; path: string; stat: Stat }
  | { type: 'delete'; path: string }
  | { type: 'set_data'; path: string; stat: Stat }
  | { type: 'check'; path: string };

/** Each op of a failed multi as ZooKeeper's client sees it: Ok before the failing op, its error, then RuntimeInconsistency. */
export type MultiOpFailure = ZkErrorName | 'Ok';

export type ZkEventType = 'NodeCreated' | 'NodeDeleted' | 'NodeDataChanged' | 'NodeChildrenChanged';

/** Something a txn changed that watches on `path` may care about. */
export interface WatchTrigger {
  path: string;
  type: ZkEventType;
}

export type ZkTxnOutcome =
  | { ok: true; type: 'create'; path: string; stat: Stat }
  | { ok: true; type: 'delete'; path: string }
  | { ok: true; type: 'set_data'; path: string; stat: Stat }
  | { ok: true; type: 'set_acl'; path: string; stat: Stat }
  | { ok: true; type: 'create_session'; session: string; timeout_ms: number }
  /** The session's ephemerals, deleted by the txn, in the order deleted. */
  | { ok: true; type: 'close_session' | 'expire_session'; session: string; deleted: string[] }
  | { ok: true; type: 'sync'; session: string; timeout_ms: number }
  | { ok: true; type: 'check'; path: string }
  | { ok: true; type: 'multi'; results: MultiOpResult[] }
  | { ok: true; type: 'delete_container'; path: string }
  /** results: present when a multi's op failed, one per op. */
  | { ok: false; error: ZkError; results?: MultiOpFailure[] };

export interface ZkApplied {
  zxid: Zxid;
  /** null when the payload was not a txn this machine knows. */
  txn: ZkTxn | null;
  outcome: ZkTxnOutcome;
  /** In the order they happened; empty for a failed txn. */
  triggers: WatchTrigger[];
}

export type ZkReadResult<T> = { ok: true; value: T } | { ok: false; error: ZkError };

export interface TreeOptions {
  /** A planted bug for the labs: the sequential suffix counts the parent's children instead of using
   * its cversion, so a suffix is reused after a delete. */
  planted_bug: 'suffix_from_child_count' | null;
}

export interface TreeImage {
  version: 1;
  zxid: Zxid;
  /** Sorted by path, so a parent comes before its children. */
  nodes: Array<{ path: string; data: string; stat: Stat }>;
  sessions: Array<{ session: string; timeout_ms: number }>;
}

interface Znode {
  data: string;
  stat: Stat;
  children: Set<string>;
}

interface SessionEntry {
  timeout_ms: number;
  ephemerals: Set<string>;
}

// ---- the tree -----------------------------------------------------------------------------------

export class ZkTree implements ZabStateMachine<ZkApplied> {
  private readonly nodes = new Map<string, Znode>();
  private readonly sessions = new Map<string, SessionEntry>();
  /** Paths of the container znodes. */
  private readonly containers = new Set<string>();
  /** While a multi applies: each znode its ops touched, as it was before the first (null: absent). */
  private journal: Map<string, Znode | null> | null = null;
  private zxid: Zxid = zxid_zero;
  private readonly options: TreeOptions;

  constructor(options: Partial<TreeOptions> = {}) {
    this.options = { planted_bug: null, ...options };
    this.nodes.set('/', { data: '', stat: emptyStat(zxid_zero, 0, null, 0), children: new Set() });
  }

  get applied_zxid(): Zxid {
    return this.zxid;
  }

  get znode_count(): number {
    return this.nodes.size;
  }

  get session_count(): number {
    return this.sessions.size;
  }

  apply(entry: LoggedTxn): ZkApplied {
    this.zxid = entry.zxid;
    const txn = parseZkTxn(entry.txn);
    if (txn === null) {
      return { zxid: entry.zxid, txn: null, outcome: fail('BadArguments', 'not a znode txn'), triggers: [] };
    }
    const triggers: WatchTrigger[] = [];
    const outcome = this.applyTxn(txn, entry.zxid, triggers);
    return { zxid: entry.zxid, txn, outcome, triggers: outcome.ok ? triggers : [] };
  }

  // ---- reads (served locally from what this replica applied) ----

  exists(path: string): ZkReadResult<Stat | null> {
    const bad = checkPath(path);
    if (bad !== null) return { ok: false, error: bad };
    const node = this.nodes.get(path);
    return { ok: true, value: node === undefined ? null : clientStat(node.stat) };
  }

  getData(path: string): ZkReadResult<{ data: string; stat: Stat }> {
    const bad = checkPath(path);
    if (bad !== null) return { ok: false, error: bad };
    const node = this.nodes.get(path);
    if (node === undefined) return { ok: false, error: zkError('NoNode', `no znode ${path}`) };
    return { ok: true, value: { data: node.data, stat: clientStat(node.stat) } };
  }

  getChildren(path: string): ZkReadResult<{ children: string[]; stat: Stat }> {
    const bad = checkPath(path);
    if (bad !== null) return { ok: false, error: bad };
    const node = this.nodes.get(path);
    if (node === undefined) return { ok: false, error: zkError('NoNode', `no znode ${path}`) };
    return { ok: true, value: { children: [...node.children].sort(), stat: clientStat(node.stat) } };
  }

  hasSession(session: string): boolean {
    return this.sessions.has(session);
  }

  /** An open session's timeout; null when it is not open. */
  sessionTimeout(session: string): number | null {
    return this.sessions.get(session)?.timeout_ms ?? null;
  }

  /** Open sessions and their timeouts, sorted by id (a new leader's session tracker starts from these). */
  sessionList(): Array<{ session: string; timeout_ms: number }> {
    return [...this.sessions.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([session, s]) => ({ session, timeout_ms: s.timeout_ms }));
  }

  /** The ephemerals a session owns, sorted. */
  ephemeralsOf(session: string): string[] {
    return [...(this.sessions.get(session)?.ephemerals ?? [])].sort();
  }

  /** Containers that have had a child (cversion > 0) and have none now, sorted; at most `max`. */
  emptiedContainers(max: number): string[] {
    const due: string[] = [];
    for (const path of this.containers) {
      const node = this.nodes.get(path)!;
      if (node.stat.cversion > 0 && node.children.size === 0) due.push(path);
    }
    return due.sort().slice(0, max);
  }

  /** Every path, sorted. */
  paths(): string[] {
    return [...this.nodes.keys()].sort();
  }

  // ---- snapshot, digest ----

  snapshot(): TreeImage {
    return {
      version: 1,
      zxid: this.zxid,
      nodes: this.paths().map((path) => {
        const node = this.nodes.get(path)!;
        return { path, data: node.data, stat: copyStat(node.stat) };
      }),
      sessions: this.sessionList(),
    };
  }

  static restore(image: unknown, options: Partial<TreeOptions> = {}): ZkTree {
    const tree = new ZkTree(options);
    if (image === null || image === undefined) return tree;
    const img = image as TreeImage;
    if (img.version !== 1) throw new Error(`unknown znode tree image version ${String(img.version)}`);
    tree.zxid = img.zxid;
    for (const s of img.sessions) tree.sessions.set(s.session, { timeout_ms: s.timeout_ms, ephemerals: new Set() });
    tree.nodes.clear();
    for (const { path, data, stat } of img.nodes) {
      // An image written before the tree kept ACL versions has no aversion: no znode's ACL had changed.
      tree.nodes.set(path, { data, stat: { ...copyStat(stat), aversion: (stat as Partial<Stat>).aversion ?? 0 }, children: new Set() });
      if (path !== '/') tree.nodes.get(parentOf(path))!.children.add(basename(path));
      if (stat.ephemeralOwner !== null) tree.sessions.get(stat.ephemeralOwner)?.ephemerals.add(path);
      if (stat.container === true) tree.containers.add(path);
    }
    return tree;
  }

  /** A hash of the whole tree and its sessions: equal on two replicas exactly when they hold the same state. */
  digest(): number {
    let h = fnv_offset;
    h = fnv1a(h, formatZxid(this.zxid));
    for (const path of this.paths()) {
      const n = this.nodes.get(path)!;
      h = fnv1a(h, `|${path}=${JSON.stringify(n.data)}:${statText(n.stat)}`);
    }
    for (const s of this.sessionList()) h = fnv1a(h, `|session ${s.session}/${s.timeout_ms}`);
    return h;
  }

  /** What must hold after every txn; the first violation in words, or null. */
  checkInvariants(): string | null {
    if (!this.nodes.has('/')) return 'the root is missing';
    for (const [path, node] of this.nodes) {
      if (node.stat.numChildren !== node.children.size) return `${path}: numChildren ${node.stat.numChildren} but ${node.children.size} children`;
      if (node.stat.dataLength !== utf8Bytes(node.data)) return `${path}: dataLength ${node.stat.dataLength} but ${utf8Bytes(node.data)} bytes`;
      if (node.stat.ephemeralOwner !== null && node.children.size > 0) return `${path}: an ephemeral with children`;
      if (node.stat.ephemeralOwner !== null && !this.sessions.has(node.stat.ephemeralOwner)) {
        return `${path}: ephemeral of session ${node.stat.ephemeralOwner}, which is not open`;
      }
      for (const child of node.children) if (!this.nodes.has(join(path, child))) return `${path}: lists missing child ${child}`;
      if (path !== '/' && !this.nodes.get(parentOf(path))?.children.has(basename(path))) return `${path}: not listed by its parent`;
      if (node.stat.container === true && node.stat.ephemeralOwner !== null) return `${path}: a container that is ephemeral`;
      if ((node.stat.container === true) !== this.containers.has(path)) return `${path}: container ${String(node.stat.container === true)} but listed ${String(this.containers.has(path))}`;
    }
    for (const path of this.containers) if (!this.nodes.has(path)) return `container ${path} is listed but missing`;
    if (this.journal !== null) return 'a multi left its journal open';
    for (const [id, s] of this.sessions) {
      for (const p of s.ephemerals) if (this.nodes.get(p)?.stat.ephemeralOwner !== id) return `session ${id} lists ${p}, which it does not own`;
    }
    return null;
  }

  // ---- txns ----

  private applyTxn(txn: ZkTxn, zxid: Zxid, triggers: WatchTrigger[]): ZkTxnOutcome {
    switch (txn.type) {
      case 'create_session': {
        if (this.sessions.has(txn.session)) return fail('BadArguments', `session ${txn.session} already exists`);
        if (this.sessions.size >= session_count_max) return fail('QuotaExceeded', `already ${session_count_max} sessions open (session_count_max)`);
        this.sessions.set(txn.session, { timeout_ms: txn.timeout_ms, ephemerals: new Set() });
        return { ok: true, type: 'create_session', session: txn.session, timeout_ms: txn.timeout_ms };
      }
      case 'close_session':
      case 'expire_session': {
        const s = this.sessions.get(txn.session);
        if (s === undefined) return fail('SessionExpired', `session ${txn.session} is not open`);
        const deleted = [...s.ephemerals].sort();
        for (const path of deleted) this.removeNode(path, zxid, triggers);
        this.sessions.delete(txn.session);
        return { ok: true, type: txn.type, session: txn.session, deleted };
      }
      case 'sync': {
        const s = this.sessions.get(txn.session);
        if (s === undefined) return fail('SessionExpired', `session ${txn.session} is not open`);
        return { ok: true, type: 'sync', session: txn.session, timeout_ms: s.timeout_ms };
      }
      case 'create':
      case 'delete':
      case 'set_data':
      case 'check':
        if (!this.sessions.has(txn.session)) return fail('SessionExpired', `session ${txn.session} is not open`);
        return this.applyOp(txn, txn.session, txn.time, zxid, triggers);
      case 'set_acl': {
        // ZooKeeper's order: the session, the path, the znode, then its ACL version. No watch fires
        // and neither mzxid nor version moves: only the ACL changed.
        if (!this.sessions.has(txn.session)) return fail('SessionExpired', `session ${txn.session} is not open`);
        const node = this.versioned(txn, 'aversion');
        if ('error' in node) return node;
        node.stat.aversion += 1;
        return { ok: true, type: 'set_acl', path: txn.path, stat: clientStat(node.stat) };
      }
      case 'multi':
        if (!this.sessions.has(txn.session)) return fail('SessionExpired', `session ${txn.session} is not open`);
        return this.multi(txn, zxid, triggers);
      case 'delete_container': {
        const bad = checkPath(txn.path);
        if (bad !== null) return { ok: false, error: bad };
        const node = this.nodes.get(txn.path);
        if (node === undefined) return fail('NoNode', `no znode ${txn.path}`);
        if (node.stat.container !== true) return fail('BadArguments', `${txn.path} is not a container`);
        if (node.children.size > 0) return fail('NotEmpty', `${txn.path} has ${node.children.size} children`);
        this.removeNode(txn.path, zxid, triggers);
        return { ok: true, type: 'delete_container', path: txn.path };
      }
    }
  }

  /** One znode op, alone or in a multi, for an open session. */
  private applyOp(op: MultiOp, session: string, time: number, zxid: Zxid, triggers: WatchTrigger[]): Extract<ZkTxnOutcome, { ok: false } | { type: MultiOp['type'] }> {
    switch (op.type) {
      case 'create':
        return this.create(op, session, time, zxid, triggers);
      case 'delete': {
        if (op.path === '/') return fail('BadArguments', 'the root cannot be deleted');
        const node = this.versioned(op);
        if ('error' in node) return node;
        if (node.children.size > 0) return fail('NotEmpty', `${op.path} has ${node.children.size} children`);
        this.removeNode(op.path, zxid, triggers);
        return { ok: true, type: 'delete', path: op.path };
      }
      case 'set_data': {
        const bad = checkData(op.data);
        if (bad !== null) return { ok: false, error: bad };
        const node = this.versioned(op);
        if ('error' in node) return node;
        this.remember(op.path);
        node.data = op.data;
        node.stat.mzxid = zxid;
        node.stat.mtime = time;
        node.stat.version += 1;
        node.stat.dataLength = utf8Bytes(op.data);
        triggers.push({ path: op.path, type: 'NodeDataChanged' });
        return { ok: true, type: 'set_data', path: op.path, stat: clientStat(node.stat) };
      }
      case 'check': {
        const node = this.versioned(op);
        return 'error' in node ? node : { ok: true, type: 'check', path: op.path };
      }
    }
  }

  /** The znode an op names, if its path is valid, it exists and its data version (or ACL version) is the op's (-1: any). */
  private versioned(op: { path: string; version: number }, field: 'version' | 'aversion' = 'version'): Znode | { ok: false; error: ZkError } {
    const bad = checkPath(op.path);
    if (bad !== null) return { ok: false, error: bad };
    const node = this.nodes.get(op.path);
    if (node === undefined) return { ok: false, error: zkError('NoNode', `no znode ${op.path}`) };
    const actual = node.stat[field];
    if (op.version !== -1 && op.version !== actual) {
      const what = field === 'version' ? 'version' : 'ACL version';
      return { ok: false, error: zkError('BadVersion', `${op.path} is at ${what} ${actual}, not ${op.version}`) };
    }
    return node;
  }

  /** A multi: every op or none. On a failure the journal puts back each znode the earlier ops touched. */
  private multi(txn: Extract<ZkTxn, { type: 'multi' }>, zxid: Zxid, triggers: WatchTrigger[]): ZkTxnOutcome {
    this.journal = new Map();
    try {
      const results: MultiOpResult[] = [];
      for (const [i, op] of txn.ops.entries()) {
        const o = this.applyOp(op, txn.session, txn.time, zxid, triggers);
        if (!o.ok) {
          this.rollback(this.journal);
          const failed = o.error.name;
          const results = txn.ops.map((_, j): MultiOpFailure => (j < i ? 'Ok' : j === i ? failed : 'RuntimeInconsistency'));
          return { ok: false, error: zkError(failed, `op ${i + 1} of the multi (${op.type} ${op.path}): ${o.error.text}`), results };
        }
        const { ok: _ok, ...result } = o;
        results.push(result);
      }
      return { ok: true, type: 'multi', results };
    } finally {
      this.journal = null;
    }
  }

  /** Before an op of a multi changes a znode (or creates one at `path`): keep it as it was, once. */
  private remember(path: string): void {
    if (this.journal === null || this.journal.has(path)) return;
    const node = this.nodes.get(path);
    this.journal.set(path, node === undefined ? null : { data: node.data, stat: copyStat(node.stat), children: new Set(node.children) });
  }

  /** Puts each journaled znode back, with the session and container lists that follow from it. */
  private rollback(journal: Map<string, Znode | null>): void {
    for (const [path, before] of journal) {
      const now = this.nodes.get(path);
      if (now?.stat.ephemeralOwner != null) this.sessions.get(now.stat.ephemeralOwner)?.ephemerals.delete(path);
      this.containers.delete(path);
      if (before === null) {
        this.nodes.delete(path);
        continue;
      }
      this.nodes.set(path, before);
      if (before.stat.ephemeralOwner !== null) this.sessions.get(before.stat.ephemeralOwner)?.ephemerals.add(path);
      if (before.stat.container === true) this.containers.add(path);
    }
  }

  private create(txn: CreateOp, session: string, time: number, zxid: Zxid, triggers: WatchTrigger[]): Extract<ZkTxnOutcome, { ok: false } | { type: 'create' }> {
    // A sequential create may end in '/' (the suffix is then the whole name), so check it with one.
    const bad = checkPath(txn.sequential ? txn.path + '0'.repeat(sequential_suffix_digits) : txn.path) ?? checkData(txn.data);
    if (bad !== null) return { ok: false, error: bad };
    if (txn.container === true && (txn.ephemeral || txn.sequential)) return fail('BadArguments', 'a container is neither ephemeral nor sequential');
    if (txn.path === '/') return fail('NodeExists', 'the root always exists');
    const parent_path = parentOf(txn.path);
    const parent = this.nodes.get(parent_path);
    if (parent === undefined) return fail('NoNode', `no parent znode ${parent_path} for ${txn.path}`);
    let path = txn.path;
    if (txn.sequential) {
      // ZooKeeper's suffix is the parent's cversion, which every child create bumps: it only grows, so
      // a suffix is never handed out twice under one parent, whatever was deleted since.
      const counter = this.options.planted_bug === 'suffix_from_child_count' ? parent.children.size : parent.stat.cversion;
      if (counter > sequential_counter_max) return fail('QuotaExceeded', `${parent_path} has used every sequential suffix`);
      path = txn.path + String(counter).padStart(sequential_suffix_digits, '0');
    }
    if (this.nodes.has(path)) return fail('NodeExists', `${path} already exists`);
    if (parent.stat.ephemeralOwner !== null) return fail('NoChildrenForEphemerals', `${parent_path} is ephemeral and cannot have children`);
    if (this.nodes.size >= znode_count_max) return fail('QuotaExceeded', `the tree already holds ${znode_count_max} znodes (znode_count_max)`);
    if (parent.children.size >= znode_children_max) {
      return fail('QuotaExceeded', `${parent_path} already has ${znode_children_max} children (znode_children_max)`);
    }
    const owner = txn.ephemeral ? session : null;
    const node: Znode = { data: txn.data, stat: emptyStat(zxid, time, owner, utf8Bytes(txn.data)), children: new Set() };
    if (txn.container === true) node.stat.container = true;
    this.remember(parent_path);
    this.remember(path);
    this.nodes.set(path, node);
    if (txn.container === true) this.containers.add(path);
    parent.children.add(basename(path));
    parent.stat.cversion += 1;
    parent.stat.pzxid = zxid;
    parent.stat.numChildren = parent.children.size;
    if (owner !== null) this.sessions.get(owner)!.ephemerals.add(path);
    triggers.push({ path, type: 'NodeCreated' }, { path: parent_path, type: 'NodeChildrenChanged' });
    return { ok: true, type: 'create', path, stat: clientStat(node.stat) };
  }

  /** Deletes a childless znode and records it on its parent. */
  private removeNode(path: string, zxid: Zxid, triggers: WatchTrigger[]): void {
    const node = this.nodes.get(path)!;
    const parent_path = parentOf(path);
    const parent = this.nodes.get(parent_path)!;
    this.remember(path);
    this.remember(parent_path);
    this.nodes.delete(path);
    this.containers.delete(path);
    parent.children.delete(basename(path));
    // As in ZooKeeper, a delete moves the parent's pzxid; the stored cversion counts creates only (the
    // sequential suffix), and clients are shown creates and deletes both (clientStat).
    parent.stat.pzxid = zxid;
    parent.stat.numChildren = parent.children.size;
    if (node.stat.ephemeralOwner !== null) this.sessions.get(node.stat.ephemeralOwner)?.ephemerals.delete(path);
    triggers.push({ path, type: 'NodeDeleted' }, { path: parent_path, type: 'NodeChildrenChanged' });
  }
}

// ---- txn shape ----------------------------------------------------------------------------------

/** The txn if `value` is a well-formed znode txn, else null. */
export function parseZkTxn(value: unknown): ZkTxn | null {
  if (typeof value !== 'object' || value === null) return null;
  const t = value as Record<string, unknown>;
  const str = (k: string): boolean => typeof t[k] === 'string';
  const time = typeof t['time'] === 'number' && Number.isFinite(t['time']) && t['time'] >= 0;
  if (!time) return null;
  if (t['type'] === 'delete_container') return str('path') ? (value as ZkTxn) : null;
  if (!str('session')) return null;
  switch (t['type']) {
    case 'create_session':
      return Number.isInteger(t['timeout_ms']) && (t['timeout_ms'] as number) > 0 ? (value as ZkTxn) : null;
    case 'close_session':
    case 'expire_session':
    case 'sync':
      return value as ZkTxn;
    case 'multi':
      return typeof parseMultiOps(t['ops']) === 'string' ? null : (value as ZkTxn);
    case 'set_acl':
      return str('path') && isVersion(t['version']) ? (value as ZkTxn) : null;
    default:
      return parseOp(t) === null ? null : (value as ZkTxn);
  }
}

/** A single znode op (create, delete, set_data, check) if `t` is one, else null. */
function parseOp(t: Record<string, unknown>): MultiOp | null {
  const str = (k: string): boolean => typeof t[k] === 'string';
  const version = (): boolean => isVersion(t['version']);
  switch (t['type']) {
    case 'create':
      return str('path') && str('data') && typeof t['ephemeral'] === 'boolean' && typeof t['sequential'] === 'boolean' && (t['container'] === undefined || typeof t['container'] === 'boolean')
        ? (t as unknown as MultiOp)
        : null;
    case 'delete':
    case 'check':
      return str('path') && version() ? (t as unknown as MultiOp) : null;
    case 'set_data':
      return str('path') && str('data') && version() ? (t as unknown as MultiOp) : null;
    default:
      return null;
  }
}

/** A version an op may expect: a non-negative integer, or -1 for any. */
function isVersion(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= -1;
}

/** A multi's ops if `value` is a list of well-formed ops within the limits, else why not. */
export function parseMultiOps(value: unknown): MultiOp[] | string {
  if (!Array.isArray(value)) return 'ops must be a list';
  if (value.length > multi_ops_max) return `${value.length} ops; at most ${multi_ops_max} in one multi (multi_ops_max)`;
  let data_bytes = 0;
  for (const [i, op] of value.entries()) {
    if (typeof op !== 'object' || op === null || parseOp(op as Record<string, unknown>) === null) {
      return `op ${i + 1} is not a create {path, data, ephemeral, sequential, container}, delete {path, version}, set_data {path, data, version} or check {path, version}`;
    }
    const data = (op as { data?: unknown }).data;
    if (typeof data === 'string') data_bytes += utf8Bytes(data);
  }
  if (data_bytes > multi_data_bytes_max) return `the ops carry ${data_bytes} bytes of data; at most ${multi_data_bytes_max} in one multi (multi_data_bytes_max)`;
  return value as MultiOp[];
}

// ---- paths --------------------------------------------------------------------------------------

/** A BadArguments error if `path` is not a valid znode path, else null. */
export function checkPath(path: string): ZkError | null {
  if (typeof path !== 'string' || !path.startsWith('/')) return zkError('BadArguments', `path ${JSON.stringify(path)} must start with /`);
  if (utf8Bytes(path) > znode_path_bytes_max) return zkError('BadArguments', `path is longer than ${znode_path_bytes_max} bytes (znode_path_bytes_max)`);
  if (path === '/') return null;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(path)) return zkError('BadArguments', `path ${JSON.stringify(path)} holds a control character`);
  const parts = path.slice(1).split('/');
  for (const part of parts) {
    if (part === '') return zkError('BadArguments', `path ${JSON.stringify(path)} has an empty name`);
    if (part === '.' || part === '..') return zkError('BadArguments', `path ${JSON.stringify(path)} has a relative name`);
  }
  return null;
}

function checkData(data: string): ZkError | null {
  const bytes = utf8Bytes(data);
  return bytes > znode_data_bytes_max ? zkError('BadArguments', `data is ${bytes} bytes, more than ${znode_data_bytes_max} (znode_data_bytes_max)`) : null;
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function join(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

// ---- helpers ------------------------------------------------------------------------------------

function fail(name: ZkErrorName, text: string): { ok: false; error: ZkError } {
  return { ok: false, error: zkError(name, text) };
}

function emptyStat(zxid: Zxid, time: number, owner: string | null, data_length: number): Stat {
  return { czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: time, mtime: time, version: 0, cversion: 0, aversion: 0, ephemeralOwner: owner, dataLength: data_length, numChildren: 0 };
}

/**
 * A znode's stat as clients see it. The stored cversion counts child creates (sequential suffixes
 * come from it); ZooKeeper reports creates plus deletes, which is twice the creates less the
 * children left (deletes = creates - children).
 */
function clientStat(s: Stat): Stat {
  return { ...copyStat(s), cversion: 2 * s.cversion - s.numChildren };
}

function copyStat(s: Stat): Stat {
  return { ...s, czxid: { ...s.czxid }, mzxid: { ...s.mzxid }, pzxid: { ...s.pzxid } };
}

function statText(s: Stat): string {
  const fields = [formatZxid(s.czxid), formatZxid(s.mzxid), formatZxid(s.pzxid), s.ctime, s.mtime, s.version, s.cversion, s.aversion, s.ephemeralOwner ?? '-', s.dataLength, s.numChildren];
  return (s.container === true ? [...fields, 'container'] : fields).join(',');
}

const utf8 = new TextEncoder();

export function utf8Bytes(text: string): number {
  return utf8.encode(text).length;
}

const fnv_offset = 0x811c9dc5;

function fnv1a(seed: number, text: string): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

