// The Raft node's runtime: drives the pure core and kv (core/) on a node runtime with timers and the WAL.
// It carries out the core's Ready; every protocol decision stays in core/.

/**
 * The Raft key-value node as a host that can be embedded: the pure core
 * (core/core.ts) and state machine (core/kv.ts) driven by a node runtime (its io: real
 * stdio in main.ts, or anything else, so several run in one process), real
 * timers and real fsync. Clients speak Maelstrom's lin-kv messages (read,
 * write, cas) plus delete. All its state is the host's own.
 */
import { performance } from 'node:perf_hooks';
import { DeferredFlush } from '../../lib/runtime/deferred-flush.js';
import type { Node } from '../../lib/runtime/node.js';
import { error_codes, type Envelope, type MessageBody } from '../../lib/protocol/messages.js';
import type { RaftNodeOptions } from './options.js';
import { type LogEntry, RaftCore, type RaftMessage, raft_message_types, type Ready } from './core/core.js';
import { type KvCommand, type KvOp, KvStateMachine } from './core/kv.js';
import { RaftNarrator } from './narrator.js';
import { RaftStorage } from './storage.js';

export interface RaftHostSettings {
  options: RaftNodeOptions;
  /** Where its log and snapshots live (DSLAB_DATA_DIR for a process). */
  data_dir: string;
  /** The core's randomness (election timeouts); Math.random by default. */
  random?: () => number;
  /** The core's monotonic clock in milliseconds; performance.now by default. */
  monotonic_ms?: () => number;
  /** The node cannot start (a corrupt log): by default says why on stderr and exits 1, as a node process must. */
  fatal?: (text: string) => void;
}

/** What a running host shows of itself (tests, embedding). */
export interface RaftHost {
  /** The core's state, or null before init. */
  state(): ReturnType<RaftCore['state']> | null;
  /** Stops its timer: an embedded host that is done (a process just exits). */
  stop(): void;
}

function exitOnFatal(text: string): void {
  process.stderr.write(`${text}\n`);
  process.exit(1);
}

/** Makes a Raft host on `node` (registering its handlers); the caller runs the node (node.run() over stdio, or handleLine). */
export function startRaftHost(node: Node, settings: RaftHostSettings): RaftHost {
  const options = settings.options;
  const random = settings.random ?? Math.random;
  const monotonicMs = settings.monotonic_ms ?? (() => performance.now());
  const fatal = settings.fatal ?? exitOnFatal;
  let stopped = false;
  let core: RaftCore;
  /** Set once init has opened the log and made the core. */
  let started = false;
  let storage: RaftStorage;
  let kv = new KvStateMachine();
  /** Clients waiting for the entry they proposed: index -> term and request. */
  const waitingWrites = new Map<number, { term: number; request: Envelope }>();
  const waitingReads = new Map<string, Envelope>();
  let nextReadId = 0;
  let appliedSinceSnapshot = 0;
  let rolledBackEntries = 0;
  /** Last log index on disk, to count entries a truncation rolls back. */
  let lastDurableIndex = 0;
  let timer: NodeJS.Timeout | null = null;
  /** Says in the node's log what changed after each step; its commit lines come in batches. */
  let narrator: RaftNarrator;

  // The last batch of commits is written even if nothing else happens after it.
  const commitFlush = new DeferredFlush(
    () => narrator.commitDueMs(),
    () => {
      for (const line of narrator.flushCommits(monotonicMs(), true)) node.log(line);
    },
    monotonicMs,
  );

  node.onInit(() => {
    const dir = settings.data_dir;
    let opened: ReturnType<typeof RaftStorage.open>;
    try {
      opened = RaftStorage.open(dir);
    } catch (error) {
      // A corrupt log must not be papered over: say why and refuse to start.
      fatal(`${node.id} cannot start: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    storage = opened.storage;
    if (opened.truncated_bytes > 0) node.log(`cut a torn tail of ${opened.truncated_bytes} bytes from the log`);
    core = new RaftCore({
      id: node.id,
      peers: node.peers(),
      config: options.raft,
      persisted: opened.persisted,
      random,
      now_ms: monotonicMs(),
    });
    narrator = new RaftNarrator(node.id);
    started = true;
    lastDurableIndex = opened.persisted.entries.at(-1)?.index ?? opened.persisted.snapshot?.index ?? 0;
    node.log(`starting at term ${opened.persisted.hard_state.term} with ${opened.persisted.entries.length} log entries${opened.persisted.snapshot ? ` after a snapshot at ${opened.persisted.snapshot.index}` : ''}`);
    pump();
  });

  for (const type of raft_message_types) {
    node.on(type, (message) => {
      core.tick(monotonicMs());
      core.step(message.src, message.body as unknown as RaftMessage);
      pump();
    });
  }

  function notLeader(request: Envelope, leader: string | null): void {
    node.reply(request, { type: 'error', code: error_codes.temporarily_unavailable, text: leader ? `not the leader; try ${leader}` : 'no leader right now', ...(leader ? { leader } : {}) });
  }

  function propose(request: Envelope, op: KvOp): void {
    const body = request.body;
    // Clients that send (client, seq) get exactly-once writes; others get a session of their own per request.
    const command: KvCommand =
      typeof body.client === 'string' && Number.isSafeInteger(body.seq)
        ? { client: body.client, seq: body.seq as number, op }
        : { client: `${request.src}/${node.id}/${String(body.msg_id)}`, seq: 1, op };
    core.tick(monotonicMs());
    const result = core.propose(command);
    if (!result.ok) {
      if (result.error === 'not_leader') notLeader(request, result.leader);
      else node.replyError(request, error_codes.temporarily_unavailable, result.error === 'busy' ? 'too many uncommitted entries; slow down' : 'leadership is being transferred');
      return;
    }
    waitingWrites.set(result.index, { term: result.term, request });
    pump();
  }

  node.on('write', (m) => propose(m, { type: 'write', key: m.body.key, value: m.body.value }));
  node.on('cas', (m) => propose(m, { type: 'cas', key: m.body.key, from: m.body.from, to: m.body.to, create_if_not_exists: m.body.create_if_not_exists === true }));
  node.on('delete', (m) => propose(m, { type: 'delete', key: m.body.key }));

  node.on('read', (request) => {
    if (options.read_mode === 'serializable') {
      // Labelled as such: a local read may be stale.
      node.reply(request, kv.read(request.body.key) as MessageBody);
      return;
    }
    const id = `r${nextReadId++}`;
    core.tick(monotonicMs());
    const result = options.read_mode === 'lease' ? core.readLease(id) : core.readIndex(id);
    if (!result.ok) {
      if (result.error === 'not_leader') notLeader(request, result.leader);
      else node.replyError(request, error_codes.temporarily_unavailable, result.error === 'busy' ? 'too many reads waiting' : 'leadership is being transferred');
      return;
    }
    waitingReads.set(id, request);
    pump();
  });

  node.on('transfer_leadership', (request) => {
    core.tick(monotonicMs());
    const result = core.transferLeadership(String(request.body.target));
    if (result.ok) node.reply(request, { type: 'transfer_leadership_ok' });
    else if (result.error === 'not_leader') notLeader(request, result.leader);
    else node.replyError(request, error_codes.malformed_request, result.error === 'unknown_node' ? `unknown node ${String(request.body.target)}` : 'already the leader');
    pump();
  });

  /** Hands everything the core produced to disk, the network and the state machine, in the order safety needs. */
  function pump(): void {
    while (core.hasReady()) handleReady(core.ready());
    reportState();
    if (timer) clearTimeout(timer);
    if (stopped) return;
    timer = setTimeout(
      () => {
        core.tick(monotonicMs());
        pump();
      },
      Math.max(0, core.nextTimerMs() - monotonicMs()),
    );
  }

  function handleReady(ready: Ready): void {
    if (ready.log_truncate_from !== null && ready.log_truncate_from <= lastDurableIndex) {
      rolledBackEntries += lastDurableIndex - ready.log_truncate_from + 1;
    }
    storage.persist(ready, () => logAfter(core.currentSnapshot()?.index ?? 0));
    if (ready.log_truncate_from !== null) lastDurableIndex = ready.entries.at(-1)?.index ?? ready.log_truncate_from - 1;
    for (const message of ready.messages) node.send(message.to, message.body as unknown as MessageBody);
    if (ready.apply_snapshot) {
      kv = KvStateMachine.restore(ready.apply_snapshot.data as never);
      for (const [index, waiting] of waitingWrites) {
        // Entries the snapshot covers were committed, but we cannot tell whose they were: let the client retry.
        if (index <= ready.apply_snapshot.index) {
          node.replyError(waiting.request, error_codes.crash, 'outcome unknown: replaced by a snapshot; retry with the same seq');
          waitingWrites.delete(index);
        }
      }
    }
    for (const entry of ready.committed) applyEntry(entry);
    for (const read of ready.read_states) {
      const request = waitingReads.get(String(read.request_id));
      if (!request) continue;
      waitingReads.delete(String(read.request_id));
      node.reply(request, kv.read(request.body.key) as MessageBody);
    }
    for (const id of ready.reads_dropped) {
      const request = waitingReads.get(String(id));
      if (!request) continue;
      waitingReads.delete(String(id));
      notLeader(request, core.state().leader);
    }
    maybeSnapshot();
  }

  function applyEntry(entry: LogEntry): void {
    if (entry.op !== null) {
      const applied = kv.apply(entry.op);
      if (options.report_apply) node.reportApply(entry.index, entry.term, entry.op);
      const waiting = waitingWrites.get(entry.index);
      if (waiting) {
        waitingWrites.delete(entry.index);
        if (waiting.term === entry.term) node.reply(waiting.request, applied.result as MessageBody);
        // Another leader's entry took this index, so ours can never commit there.
        else notLeader(waiting.request, core.state().leader);
      }
    } else {
      const waiting = waitingWrites.get(entry.index);
      if (waiting) {
        waitingWrites.delete(entry.index);
        notLeader(waiting.request, core.state().leader);
      }
    }
    appliedSinceSnapshot++;
  }

  function maybeSnapshot(): void {
    if (options.snapshot_every <= 0 || appliedSinceSnapshot < options.snapshot_every) return;
    appliedSinceSnapshot = 0;
    core.compact(core.state().last_applied, kv.snapshot());
    while (core.hasReady()) handleReady(core.ready());
  }

  function logAfter(index: number): LogEntry[] {
    const entries: LogEntry[] = [];
    for (let i = index + 1; i <= core.lastIndex(); i++) entries.push(core.entryAt(i)!);
    return entries;
  }

  function reportState(): void {
    const s = core.state();
    narrate({ ...s, rolled_back: rolledBackEntries });
    node.reportState({
      role: s.role,
      term: s.term,
      leader: s.leader,
      voted_for: s.voted_for,
      commit_index: s.commit_index,
      last_applied: s.last_applied,
      log_first_index: s.log_first_index,
      log_last_index: s.log_last_index,
      snapshot_index: s.snapshot_index,
      rolled_back: rolledBackEntries,
      read_mode: options.read_mode,
    });
  }

  function narrate(state: Parameters<RaftNarrator['observe']>[0]): void {
    for (const line of narrator.observe(state, monotonicMs())) node.log(line);
    if (!stopped) commitFlush.schedule();
  }

  return {
    state: () => (started ? core.state() : null),
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      commitFlush.cancel();
    },
  };
}
