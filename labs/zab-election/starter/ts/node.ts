/**
 * dslab labs: zab-election, zab-broadcast, zk-sessions. Starter code in
 * TypeScript on dslab's node runtime.
 *
 * The runtime (the import below; `dslab lab init` points it at your dslab
 * installation) does the plumbing: it reads one JSON message per line from
 * stdin, answers init with init_ok, dispatches by body.type, answers unknown
 * types with error 10, and exits when stdin closes. API: node.on(type, handler),
 * node.onInit(cb), node.send(dest, body), node.reply(request, body),
 * node.replyError(request, code, text), node.after(ms, cb) and
 * node.every(ms, cb) (both return a cancel function), node.reportState({...}),
 * node.reportApply(index, term, op), node.log(...), node.id, node.nodeIds,
 * node.peers(), node.run().
 *
 * Below: options, zxids, the durable state (two epochs and a txn log) and a Zab
 * class whose handlers are empty: that is your work. The three labs build ONE
 * implementation step by step; `dslab lab init` gives this same file for each
 * of them, so keep working in the file you started with.
 *
 *     dslab up zab --bin "node --import __DSLAB_TSX__ node.ts" --nodes 5 --observers 1
 *     dslab grade zab-election --bin "node --import __DSLAB_TSX__ node.ts"
 *
 * Logs: node.log(...) writes to stderr (`dslab logs n1`). Never write to
 * stdout yourself: stdout is the network.
 *
 * TODO for this lab (zab-election):
 *   1. Fast Leader Election: onLook() votes for yourself and notifies every
 *      voter; handleNotification() adopts better votes (betterVote: epoch, then
 *      zxid, then server id), follows rounds, and decides once a quorum agrees
 *      and finalize_wait_ms passed with no better vote. Joining a running
 *      ensemble: FOLLOWING/LEADING notifications from a quorum naming one leader.
 *   2. Discovery: followerinfo -> leaderinfo (new epoch) -> ackepoch; persist
 *      acceptedEpoch before ACKEPOCH, currentEpoch before acknowledging NEWLEADER;
 *      report established only with a quorum's acknowledgement.
 *   3. Synchronization by DIFF, newleader, ack, uptodate.
 *   4. Pings; the sync limit sends a silent follower, or a leader without its
 *      quorum, back to looking.
 *   5. create through the leader: proposal, ack, commit; deliver() reports
 *      dslab_apply and answers the waiting client.
 *   Read labs/zab-election/README.md for the messages, hints and tests.
 *
 * TODO for this lab (zab-broadcast), on top of your zab-election code:
 *   1. DIFF, TRUNC (then DIFF) or SNAP for each joining follower, by
 *      ZooKeeper's rules; apply each on the follower; report sync_mode.
 *   2. Persist (fsync) every txn before its ACK; survive restarts from the log.
 *   3. Snapshots every snapshot_every delivered txns; SNAP sends one.
 *   4. Proposals reach a follower from the moment you synchronized it.
 *   Read labs/zab-broadcast/README.md.
 *
 * TODO for this lab (zk-sessions), on top of your zab-broadcast code:
 *   1. The data tree (ZkTree below is a flat map): znodes, stat, ephemeral and
 *      sequential nodes, applied from committed txns.
 *   2. Sessions: connect, ping, close_session, expiry by the leader as a txn.
 *   3. Watches: one-shot, fired when the txn is applied, before any read reply
 *      that reflects it.
 *   Read labs/zk-sessions/README.md.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Node } from '__DSLAB_RUNTIME__';

type Body = { type: string; msg_id?: number; in_reply_to?: number; [field: string]: unknown };
interface Message {
  src: string;
  dest: string;
  body: Body;
}

const codes = { timeout: 0, not_supported: 10, temporarily_unavailable: 11, malformed_request: 12, crash: 13 } as const;

const node = new Node();

// ---------------------------------------------------------------------------
// Options (env DSLAB_OPTIONS). Some tests set their own (tick_ms, observers,
// snapshot_every), so always use these.
// ---------------------------------------------------------------------------

const given = ((): Record<string, unknown> => {
  try {
    return JSON.parse(process.env.DSLAB_OPTIONS ?? '{}') as Record<string, unknown>;
  } catch {
    return {};
  }
})();
const option = (name: string, fallback: number): number => {
  const value = given[name];
  return typeof value === 'number' && value >= 0 ? value : fallback;
};
const tick_ms = option('tick_ms', 100);
const sync_limit_ms = tick_ms * option('sync_limit_ticks', 5);
const init_limit_ms = tick_ms * option('init_limit_ticks', 10);
const ping_interval_ms = tick_ms / 2;
const finalize_wait_ms = option('finalize_wait_ms', 100);
const notify_ms_min = option('notification_interval_ms_min', 100);
const notify_ms_max = Math.max(option('notification_interval_ms_max', 800), notify_ms_min);
/** zab-broadcast: delivered txns between snapshots; 0: never. */
const snapshot_every = option('snapshot_every', 0);

/** The observers: the last N ids (option observers: N) or the listed ids. */
function observerIds(ids: readonly string[]): Set<string> {
  const o = given.observers;
  if (Array.isArray(o)) return new Set(o.map(String));
  if (typeof o === 'number' && o > 0) return new Set(ids.slice(-o));
  return new Set();
}

// ---------------------------------------------------------------------------
// Zxids: [epoch, counter]; dslab shows them as "epoch:counter".
// ---------------------------------------------------------------------------

type Zxid = [number, number];
const zxid_zero: Zxid = [0, 0];
const compareZxid = (a: Zxid, b: Zxid): number => a[0] - b[0] || a[1] - b[1];
const formatZxid = (z: Zxid): string => `${z[0]}:${z[1]}`;

interface LoggedTxn {
  zxid: Zxid;
  txn: Txn;
}
type Txn = { type: string; path?: string; data?: string; origin?: string; request?: number; [field: string]: unknown };
/** A vote: the proposed leader, its last zxid and its current epoch. */
interface Vote {
  leader: string;
  zxid: Zxid;
  epoch: number;
}

// ---------------------------------------------------------------------------
// Durable state: two epochs in two files (ZooKeeper keeps acceptedEpoch and
// currentEpoch apart) and the txn log, each written with fsync.
// ---------------------------------------------------------------------------

const dataDir = process.env.DSLAB_DATA_DIR ?? '.';
const acceptedFile = path.join(dataDir, 'accepted-epoch.json');
const currentFile = path.join(dataDir, 'current-epoch.json');
const logFile = path.join(dataDir, 'txn-log.json');

/** Writes value as JSON so that a crash leaves either the old file or the new one (temp file, fsync, rename, fsync dir). */
function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeFileSync(fd, JSON.stringify(value));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dir = openSync(path.dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * The state machine txns drive. zab-election/zab-broadcast: znodes as a flat map from path to
 * data, filled by create txns. TODO (zk-sessions): the ZooKeeper data tree (parents, stat,
 * ephemeral and sequential znodes).
 */
class ZkTree {
  data = new Map<string, string>();
  /** Applies one committed txn; returns the client's reply body. */
  apply(txn: Txn): Body {
    if (txn.type === 'create') {
      const path = String(txn.path);
      if (this.data.has(path)) return { type: 'error', code: 21, zk_error: 'NodeExists', text: `${path} already exists` };
      this.data.set(path, String(txn.data ?? ''));
      return { type: 'create_ok', path };
    }
    return { type: 'error', code: codes.not_supported, zk_error: 'Unimplemented', text: `unknown txn ${txn.type}` };
  }
  snapshot(): unknown {
    return { data: [...this.data] };
  }
  static restore(image: unknown): ZkTree {
    const tree = new ZkTree();
    tree.data = new Map((image as { data?: [string, string][] } | null)?.data ?? []);
    return tree;
  }
}

/** Names this process in its txns, so a restarted server never answers its past self's clients. */
const process_tag = Math.floor(Math.random() * 2 ** 31);

class Zab {
  // Durable (load() restores them; persist them before anyone is told).
  acceptedEpoch = 0;
  currentEpoch = 0;
  log: LoggedTxn[] = [];

  // Volatile.
  state: 'looking' | 'following' | 'leading' | 'observing' = 'looking';
  observer = false;
  voters: string[] = [];
  leader: string | null = null;
  established = false;
  committed: Zxid = zxid_zero;
  /** Txns delivered: the dslab_apply index of the last one. */
  delivered = 0;
  syncMode: 'DIFF' | 'TRUNC' | 'SNAP' | null = null;
  round = 0;
  vote: Vote | null = null;
  tree = new ZkTree();
  /** Clients waiting for their txn to be delivered here, by `origin/request`. */
  waiting = new Map<string, Message>();
  nextRequest = 0;

  start(): void {
    const observers = observerIds(node.nodeIds);
    this.voters = node.nodeIds.filter((id) => !observers.has(id));
    this.observer = observers.has(node.id);
    this.load();
    this.report();
    node.every(ping_interval_ms, () => this.onTick());
    this.onLook('started');
  }

  load(): void {
    this.acceptedEpoch = (readJson(acceptedFile) as number | undefined) ?? 0;
    this.currentEpoch = (readJson(currentFile) as number | undefined) ?? 0;
    this.log = (readJson(logFile) as LoggedTxn[] | undefined) ?? [];
    // TODO (zab-broadcast): the snapshot, and the txns after it.
  }

  saveAcceptedEpoch(): void {
    writeJsonAtomic(acceptedFile, this.acceptedEpoch);
  }

  saveCurrentEpoch(): void {
    writeJsonAtomic(currentFile, this.currentEpoch);
  }

  saveLog(): void {
    writeJsonAtomic(logFile, this.log);
  }

  lastZxid(): Zxid {
    return this.log.at(-1)?.zxid ?? zxid_zero;
  }

  /** Server ids break ties between equal votes: n1 is 1, n2 is 2, ... */
  sid(server: string): number {
    return node.nodeIds.indexOf(server) + 1;
  }

  quorum(): number {
    return Math.floor(this.voters.length / 2) + 1;
  }

  /** The state the grader reads (see the README). Call after every change. */
  report(): void {
    node.reportState({
      role: this.state,
      epoch: this.currentEpoch,
      accepted_epoch: this.acceptedEpoch,
      established: this.state === 'leading' && this.established,
      leader: this.state === 'looking' ? null : this.leader,
      last_zxid: formatZxid(this.lastZxid()),
      committed_zxid: formatZxid(this.committed),
      sync_mode: this.state === 'following' || this.state === 'observing' ? this.syncMode : null,
      election_round: this.round,
    });
  }

  // -- Fast Leader Election -----------------------------------------------------

  /** Is vote a better than b? Epoch, then zxid, then server id. */
  betterVote(a: Vote, b: Vote): boolean {
    void a;
    void b;
    return false; // TODO (zab-election)
  }

  /** (Back) to looking: a new round, a vote for yourself (voters only), notifications out. */
  onLook(reason: string): void {
    node.log(`looking: ${reason}`);
    this.state = 'looking';
    this.leader = null;
    this.established = false;
    this.round += 1;
    // TODO (zab-election): vote for yourself (observers vote for nobody), notify
    // every voter, resend on a timer (notify_ms_min doubling to notify_ms_max).
    this.report();
  }

  handleNotification(m: Message): void {
    // TODO (zab-election): rounds, better votes, a quorum + finalize_wait_ms,
    // FOLLOWING/LEADING notifications from a running ensemble.
    void m;
  }

  // -- discovery and synchronization --------------------------------------------

  handleFollowerInfo(m: Message): void {
    void m; // TODO (zab-election): leader: a quorum's accepted epochs decide the new one
  }
  handleLeaderInfo(m: Message): void {
    void m; // TODO (zab-election): follower: accept a newer epoch, persist, ackepoch
  }
  handleAckEpoch(m: Message): void {
    void m; // TODO (zab-election): leader: a quorum -> currentEpoch; sync each follower
  }
  handleSync(m: Message): void {
    void m; // TODO (zab-election: DIFF; zab-broadcast: TRUNC, SNAP)
  }
  handleNewLeader(m: Message): void {
    void m; // TODO (zab-election): persist what you synced and currentEpoch, then ack
  }
  handleAck(m: Message): void {
    void m; // TODO: NEWLEADER quorum -> established, uptodate; proposals -> commit
  }
  handleUpToDate(m: Message): void {
    void m; // TODO (zab-election): the follower starts serving
  }

  // -- broadcast -------------------------------------------------------------------

  handleProposal(m: Message): void {
    void m; // TODO: append if it follows your last zxid, persist, ack
  }
  handleCommit(m: Message): void {
    void m; // TODO: deliver up to the zxid (only txns you have)
  }
  handleInform(m: Message): void {
    void m; // TODO: observers: append and deliver
  }
  handlePing(m: Message): void {
    void m; // TODO: note the leader is alive; answer with an ack
  }
  handleRequest(m: Message): void {
    void m; // TODO: leader: propose a follower's forwarded txn
  }

  onTick(): void {
    // TODO: leader pings; sync limit and init limit checks; resends.
    void sync_limit_ms;
    void init_limit_ms;
    void finalize_wait_ms;
    void notify_ms_max;
    void snapshot_every;
  }

  /** Applies one committed txn, reports it and answers its client if it waits here. */
  deliver(entry: LoggedTxn): void {
    const reply = this.tree.apply(entry.txn);
    this.delivered += 1;
    node.reportApply(this.delivered, entry.zxid[0], { zxid: formatZxid(entry.zxid), type: entry.txn.type, path: entry.txn.path, data: entry.txn.data });
    const key = `${entry.txn.origin}/${entry.txn.request}`;
    const request = this.waiting.get(key);
    if (request) {
      this.waiting.delete(key);
      node.reply(request, reply);
    }
  }

  // -- clients ---------------------------------------------------------------------

  notServing(m: Message): void {
    node.reply(m, { type: 'error', code: codes.temporarily_unavailable, zk_error: 'ConnectionLoss', text: 'not serving: no established leader', ...(this.leader ? { leader: this.leader } : {}) });
  }

  /** zab-election/zab-broadcast: any session name will do. TODO (zk-sessions): a create_session txn through the leader. */
  handleConnect(m: Message): void {
    node.reply(m, { type: 'connect_ok', session: `${node.id}-${++this.nextRequest}`, timeout_ms: m.body.timeout_ms ?? 10_000 });
  }

  /** A client's write: proposed through the leader, answered once applied here (deliver). */
  handleCreate(m: Message): void {
    const txn: Txn = { type: 'create', path: String(m.body.path), data: String(m.body.data ?? ''), origin: `${node.id}#${process_tag}`, request: ++this.nextRequest };
    if (this.state === 'looking' || (this.state === 'leading' && !this.established)) {
      this.notServing(m);
      return;
    }
    // TODO: a leader proposes txn; a follower sends {type: 'request', txn} to its
    // leader; either waits: this.waiting.set(`${txn.origin}/${txn.request}`, m).
    node.reply(m, { type: 'error', code: codes.temporarily_unavailable, zk_error: 'ConnectionLoss', text: 'not implemented yet' });
  }
}

const zab = new Zab();
node.onInit(() => zab.start());
const handlers: Record<string, (m: Message) => void> = {
  notification: (m) => zab.handleNotification(m),
  followerinfo: (m) => zab.handleFollowerInfo(m),
  leaderinfo: (m) => zab.handleLeaderInfo(m),
  ackepoch: (m) => zab.handleAckEpoch(m),
  sync: (m) => zab.handleSync(m),
  newleader: (m) => zab.handleNewLeader(m),
  ack: (m) => zab.handleAck(m),
  uptodate: (m) => zab.handleUpToDate(m),
  proposal: (m) => zab.handleProposal(m),
  commit: (m) => zab.handleCommit(m),
  inform: (m) => zab.handleInform(m),
  ping: (m) => zab.handlePing(m),
  request: (m) => zab.handleRequest(m),
  connect: (m) => zab.handleConnect(m),
  create: (m) => zab.handleCreate(m),
  // TODO (zk-sessions): close_session, delete, set_data, exists, get_data, get_children, sync;
  // and clients' ping (handlePing gets those too: a ping whose src is not in node.nodeIds).
};
for (const [type, handler] of Object.entries(handlers)) node.on(type, handler);

node.run();
