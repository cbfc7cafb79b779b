/**
 * dslab labs: raft-election, raft-replication, raft-persistence, raft-snapshots,
 * kv-linearizable. Starter code in TypeScript on dslab's node runtime.
 *
 * The runtime (the import below; `dslab lab init` points it at your dslab
 * installation) does the plumbing: it reads one JSON message per line from
 * stdin, answers init with init_ok, dispatches by body.type, answers unknown
 * types with error 10, and exits when stdin closes. API: node.on(type, handler),
 * node.onInit(cb), node.send(dest, body), node.reply(request, body),
 * node.replyError(request, code, text), node.rpc(dest, body, timeoutMs),
 * node.after(ms, cb) and node.every(ms, cb) (both return a cancel function),
 * node.now(), node.reportState({...}), node.reportApply(index, term, op),
 * node.log(...), node.id, node.nodeIds, node.peers(), node.run().
 *
 * Below: a key-value state machine (KvStore) and a Raft class whose methods
 * are empty: that is your work. The four Raft labs (raft-election,
 * raft-replication, raft-persistence, raft-snapshots) build ONE implementation
 * step by step, and kv-linearizable grades the finished store; `dslab lab init`
 * gives this same file for each of them, so keep working in the file you
 * started with.
 *
 * Run it from this folder (`dslab lab init` wrote in the tsx of your dslab
 * installation, so nothing else needs installing):
 *
 *     dslab up raft --bin "node --import __DSLAB_TSX__ node.ts" --nodes 5
 *     dslab grade raft-election --bin "node --import __DSLAB_TSX__ node.ts"
 *
 * Logs: node.log(...) writes to stderr (`dslab logs n1`). Never write to
 * stdout yourself: stdout is the network.
 *
 * README.md next to this file is the README of the lab you started with;
 * labs/<lab>/README.md are the other labs' READMEs, copied with it
 * (`dslab lab show <lab>` prints any of them).
 *
 * TODO for this lab (raft-election):
 *   1. load()/persist(): currentTerm and votedFor survive restarts (the tests
 *      restart nodes and check that terms never go backwards).
 *   2. onElectionTimeout(): become candidate in currentTerm + 1, vote for
 *      yourself, persist, send request_vote to every peer, report().
 *   3. handleRequestVote(): a higher term makes you a follower in that term
 *      (votedFor = null); grant one vote per term, only to a candidate whose log
 *      is at least as up to date as yours; reset your timer when you grant.
 *   4. handleRequestVoteOk(): a majority of votes (yourself included) in the
 *      current term -> leader; report(); heartbeat at once.
 *   5. onHeartbeatTick()/handleAppendEntries(): the leader's heartbeats keep
 *      followers from starting elections; any message with a higher term makes
 *      the receiver a follower.
 *   6. PreVote and CheckQuorum, so a node that was cut off cannot depose a
 *      healthy leader when it comes back (test rejoining-node-does-not-disrupt).
 *   Read labs/raft-election/README.md for the messages, hints and tests.
 *
 * TODO for this lab (raft-replication), on top of your raft-election code:
 *   1. handleClient(): the leader appends {term, op} to its log and replies
 *      once the entry is committed and applied; others answer error 11 with
 *      "leader" (already written below).
 *   2. A new leader appends a no-op entry in its own term, so it can commit
 *      what earlier leaders left behind (Figure 8).
 *   3. append_entries carries prev_log_index, prev_log_term, entries and
 *      leader_commit; followers reject on a mismatch, delete conflicting entries
 *      (and only those), append, and advance commit_index.
 *   4. The leader tracks next_index/match_index per follower and commits an
 *      index replicated on a majority, only if that entry is from its term.
 *   5. applyCommitted(): apply in index order, node.reportApply(...) for each.
 *   6. Back up fast over conflicts (a conflict term/index hint in the reply) and
 *      send entries in batches.
 *   7. Exactly-once writes by (client, seq) in KvStore; linearizable reads.
 *   Read labs/raft-replication/README.md for the messages, hints and tests.
 *
 * TODO for this lab (raft-persistence), on top of your raft-replication code:
 *   1. persist(): currentTerm, votedFor AND the log, fsynced, before any vote,
 *      append_entries_ok or client reply that depends on them leaves the node
 *      (call persist() synchronously before node.send/reply).
 *   2. load(): restore them on start; commit_index and the key-value state are
 *      rebuilt by re-applying the log once the leader tells you what is
 *      committed (or from your snapshot, later).
 *   3. Survive the Figure 8 scenario: never count replicas to commit an entry
 *      from an earlier term.
 *   4. Stay correct with lost, duplicated, reordered and delayed messages:
 *      ignore stale replies, make handlers idempotent.
 *   Read labs/raft-persistence/README.md for the messages, hints and tests.
 *
 * TODO for this lab (raft-snapshots), on top of your raft-persistence code:
 *   1. Every snapshot_every applied entries (option snapshot_every), take a
 *      snapshot: KvStore.snapshot() (with the dedupe table) plus the index and
 *      term of the last entry it covers; persist it; drop the log up to it.
 *   2. Keep index arithmetic right once log[0] is no longer index 1: one helper
 *      for "entry at index i" and "term at index i" (the snapshot's last
 *      included index/term count as the entry before the first one you keep).
 *   3. A leader whose next_index for a follower is at or below its snapshot
 *      index sends install_snapshot; the follower replaces its state machine and
 *      log (keeping entries after the snapshot if they match), persists, replies.
 *   4. Restart from snapshot + remaining log; a crash in the middle of
 *      installing a snapshot must leave a usable state.
 *   Read labs/raft-snapshots/README.md for the messages, hints and tests.
 *
 * TODO for this lab (kv-linearizable): it grades the store you built in the
 * four Raft labs, under partitions, crashes, pauses and lossy links, with a
 * linearizability checker. If you are starting here, work through the Raft labs'
 * TODO lists first (each lab's README in labs/). Then make sure that:
 *   1. reads are linearizable: through the log, or ReadIndex (confirm
 *      leadership with a heartbeat round after committing an entry of your term);
 *      never answer a read from a leader that may have been deposed;
 *   2. writes apply exactly once by (client, seq), including after a snapshot;
 *   3. a write you cannot vouch for gets no reply or an indefinite error
 *      (0 timeout, 13 crash), never error 11 (which says "it did not happen").
 *   Read labs/kv-linearizable/README.md for the messages, hints and tests.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Node } from '__DSLAB_RUNTIME__';

// ---------------------------------------------------------------------------
// Plumbing: message types, error codes, options, a crash-safe file writer.
// ---------------------------------------------------------------------------

type Body = { type: string; msg_id?: number; in_reply_to?: number; [field: string]: unknown };
/** A message as it arrives: the envelope and its body. */
interface Message {
  src: string;
  dest: string;
  body: Body;
}

/** Maelstrom's error codes. */
const codes = {
  timeout: 0,
  not_supported: 10,
  temporarily_unavailable: 11,
  malformed_request: 12,
  crash: 13,
  key_does_not_exist: 20,
  precondition_failed: 22,
} as const;

const node = new Node();

/** Options from env DSLAB_OPTIONS; some tests set their own (slow elections, snapshot_every 50), so use them. */
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
const election_timeout_ms_min = option('election_timeout_ms_min', 300);
const election_timeout_ms_max = Math.max(option('election_timeout_ms_max', 600), election_timeout_ms_min);
const heartbeat_interval_ms = option('heartbeat_interval_ms', 75);
/** Applied entries between snapshots; 0: never. */
const snapshot_every = option('snapshot_every', 0);

/** This node's own directory: it survives a crash and restart within one run. */
const dataDir = process.env.DSLAB_DATA_DIR ?? '.';
const stateFile = path.join(dataDir, 'raft-state.json');

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

/** The JSON stored in a file, or undefined when there is none. */
function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

// ---------------------------------------------------------------------------
// The state machine Raft replicates: a key-value store with Maelstrom's lin-kv
// operations. apply() turns one committed operation into the client's reply
// body. Deterministic: replicas applying the same operations in the same order
// reach the same state and compute the same replies.
// ---------------------------------------------------------------------------

type Op = { type: string; key?: unknown; value?: unknown; from?: unknown; to?: unknown; create_if_not_exists?: boolean; [field: string]: unknown };

class KvStore {
  data = new Map<string, unknown>();
  // TODO (raft-replication / kv-linearizable): exactly-once writes. Client
  // writes carry "client" and "seq"; a retry reuses the same seq. Remember, per
  // client, the last seq applied and its reply, so a duplicate entry is not
  // applied twice and its retry gets the same reply.

  apply(op: Op): Body {
    const key = JSON.stringify(op.key);
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    switch (op.type) {
      case 'read':
        return this.data.has(key) ? { type: 'read_ok', value: this.data.get(key) } : { type: 'error', code: codes.key_does_not_exist, text: 'no such key' };
      case 'write':
        this.data.set(key, op.value);
        return { type: 'write_ok' };
      case 'cas':
        if (!this.data.has(key)) {
          if (!op.create_if_not_exists) return { type: 'error', code: codes.key_does_not_exist, text: 'no such key' };
          this.data.set(key, op.to);
          return { type: 'cas_ok' };
        }
        if (!same(this.data.get(key), op.from)) {
          return { type: 'error', code: codes.precondition_failed, text: `expected ${JSON.stringify(op.from)}, found ${JSON.stringify(this.data.get(key))}` };
        }
        this.data.set(key, op.to);
        return { type: 'cas_ok' };
      case 'delete':
        this.data.delete(key);
        return { type: 'delete_ok' };
      default:
        return { type: 'error', code: codes.not_supported, text: `unknown operation ${String(op.type)}` };
    }
  }

  /** A JSON-able copy of the whole state (raft-snapshots). Include your dedupe table. */
  snapshot(): unknown {
    return { data: [...this.data] };
  }

  static restore(snapshot: unknown): KvStore {
    const kv = new KvStore();
    kv.data = new Map((snapshot as { data: [string, unknown][] }).data);
    return kv;
  }
}

// ---------------------------------------------------------------------------
// Raft. Everything below is yours to write; the structure is a suggestion.
// ---------------------------------------------------------------------------

type Role = 'follower' | 'candidate' | 'leader';

class Raft {
  // Persistent state: must survive a crash; save it before you answer anyone who depends on it.
  currentTerm = 0;
  votedFor: string | null = null;
  /** TODO: your entries, e.g. {term, op}; Raft indexes start at 1. */
  log: { term: number; op: Op | null }[] = [];

  // Volatile state.
  role: Role = 'follower';
  /** The leader of currentTerm, when known. */
  leader: string | null = null;
  commitIndex = 0;
  lastApplied = 0;
  kv = new KvStore();

  private cancelElectionTimer: (() => void) | null = null;

  /** Called once on init, before init_ok goes out. */
  start(): void {
    mkdirSync(dataDir, { recursive: true });
    this.load();
    this.report(); // after load: a restarted node must not report term 0 again
    this.resetElectionTimer();
    node.every(heartbeat_interval_ms, () => this.onHeartbeatTick());
  }

  /**
   * Sends the state the grader reads; call after every change of role, term,
   * leader or commit index. role, term and commit_index are required. Change
   * role and term together, then call this once: a report of role=leader with
   * a new term that was not won would count as a second leader in that term.
   */
  report(): void {
    node.reportState({
      role: this.role,
      term: this.currentTerm,
      leader: this.leader,
      commit_index: this.commitIndex,
      last_applied: this.lastApplied,
      log_last_index: this.log.length, // TODO: adjust once the log is compacted (raft-snapshots)
    });
  }

  // -- persistence ------------------------------------------------------------

  /** Restores persistent state after a restart. */
  load(): void {
    const saved = readJson(stateFile);
    if (saved === undefined) return;
    // TODO (raft-election, raft-persistence): restore currentTerm, votedFor and
    // the log (and, once you have snapshots, the latest snapshot).
  }

  /** Writes persistent state to disk (fsync) before anyone is told about it. */
  persist(): void {
    // TODO (raft-election, raft-persistence): save currentTerm, votedFor and
    // the log, e.g. writeJsonAtomic(stateFile, {...}). Call it (synchronously)
    // before sending a vote, an append_entries_ok or a client reply that
    // depends on the change. Rewriting the whole file is simple and fast
    // enough once the log is compacted; an append-only file is faster.
  }

  // -- timers -------------------------------------------------------------------

  resetElectionTimer(): void {
    this.cancelElectionTimer?.();
    const timeout_ms = election_timeout_ms_min + Math.random() * (election_timeout_ms_max - election_timeout_ms_min);
    this.cancelElectionTimer = node.after(timeout_ms, () => this.onElectionTimeout());
  }

  onElectionTimeout(): void {
    // TODO (raft-election): no leader heard from in time. Start an election (or
    // a PreVote round first): become candidate in a new term, vote for yourself,
    // persist, ask every peer for a vote, report(), and restart the timer in
    // case this election fails too.
    this.resetElectionTimer();
  }

  onHeartbeatTick(): void {
    // TODO (raft-election, raft-replication): as leader, send append_entries to
    // every peer (empty as a heartbeat, or the entries it is missing).
    // CheckQuorum: a leader that has not heard from a majority for an election
    // timeout steps down.
  }

  // -- messages between nodes ----------------------------------------------------
  // Send them with node.send(peer, {...}); answer with node.send(message.src, {...})
  // as a separate "..._ok" message. Raft copes with lost messages by itself, so no
  // msg_id or RPC timeout is needed. Every message should carry your term.

  handleRequestVote(message: Message): void {
    // TODO (raft-election): grant at most one vote per term, only to a candidate
    // whose log is at least as up to date as yours.
    void message;
  }

  handleRequestVoteOk(message: Message): void {
    // TODO (raft-election): count votes for the current term; a majority of all
    // nodes (yourself included) makes you leader.
    void message;
  }

  handleAppendEntries(message: Message): void {
    // TODO (raft-election): accept the leader of your term (or a newer one),
    // reset the election timer, reply.
    // TODO (raft-replication): check prev_log_index/prev_log_term, drop
    // conflicting entries, append, advance commitIndex, apply.
    void message;
  }

  handleAppendEntriesOk(message: Message): void {
    // TODO (raft-replication): update match/next index for the follower, advance
    // commitIndex (current-term entries only), apply, answer clients.
    void message;
  }

  handleInstallSnapshot(message: Message): void {
    // TODO (raft-snapshots)
    void message;
  }

  handleInstallSnapshotOk(message: Message): void {
    // TODO (raft-snapshots)
    void message;
  }

  // -- clients ------------------------------------------------------------------

  /** read, write, cas and delete from clients. */
  handleClient(message: Message): void {
    if (this.role !== 'leader') {
      const hint = this.leader && this.leader !== node.id ? { leader: this.leader } : {};
      node.reply(message, { type: 'error', code: codes.temporarily_unavailable, text: 'not the leader', ...hint });
      return;
    }
    // TODO (raft-replication): append the operation to the log, replicate it, and
    // reply only once it is committed and applied (applyCommitted). Reads must be
    // linearizable too: put them through the log, or use ReadIndex.
    node.replyError(message, codes.temporarily_unavailable, 'not implemented yet');
  }

  applyCommitted(): void {
    // TODO (raft-replication): while lastApplied < commitIndex, apply the next
    // entry: const result = this.kv.apply(op); node.reportApply(index, term, op);
    // if this node's client is waiting for that entry, node.reply(request, result).
  }
}

const raft = new Raft();
node.onInit(() => raft.start());
node.on('request_vote', (m: Message) => raft.handleRequestVote(m));
node.on('request_vote_ok', (m: Message) => raft.handleRequestVoteOk(m));
node.on('append_entries', (m: Message) => raft.handleAppendEntries(m));
node.on('append_entries_ok', (m: Message) => raft.handleAppendEntriesOk(m));
node.on('install_snapshot', (m: Message) => raft.handleInstallSnapshot(m));
node.on('install_snapshot_ok', (m: Message) => raft.handleInstallSnapshotOk(m));
// Add more as you need them (e.g. 'pre_vote', 'pre_vote_ok').
for (const type of ['read', 'write', 'cas', 'delete']) node.on(type, (m: Message) => raft.handleClient(m));
void snapshot_every; // TODO (raft-snapshots): snapshot every snapshot_every applied entries

node.run();
