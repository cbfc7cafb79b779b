// The Zab server's process and host: the pure core (core/) and the ZooKeeper server (zk-server.ts) on real
// stdio, timers and fsync. It carries out each Ready; every protocol decision stays in core/.

/**
 * The Zab server's process host: the pure core (core/core.ts) and the
 * ZooKeeper server (zk-server.ts: data tree, watches, sessions, client requests)
 * driven by real stdio, real timers and real fsync. Servers talk to each other
 * in the core's messages and the servers' zk_touch (relayed pings); anything
 * from a client (an id that is not a server's) is a client request.
 */
import { performance } from 'node:perf_hooks';
import { randomInt } from 'node:crypto';
import { DeferredFlush } from '../../lib/runtime/deferred-flush.js';
import { Node } from '../../lib/runtime/node.js';
import { error_codes, type Envelope, type MessageBody } from '../../lib/protocol/messages.js';
import { ZabCore, type Ready, type ServerConfig } from './core/core.js';
import { isZabMessage } from './core/messages.js';
import { compareZxid, formatZxid, zxidHex } from './core/zxid.js';
import { ZabNarrator } from './narrator.js';
import { messagesAfterDisk, messagesBeforeDisk } from './core/ready-order.js';
import { readPlantedBug, readZabOptions, resolveObservers, type PlantedBugs } from './options.js';
import { client_request_types, ZkServer } from './zk-server.js';
import { ZabStorage } from './storage.js';

/** Client messages read in one turn and not yet handled; past this they are refused at the door (retryable). */
export const waiting_client_messages_max = 10_000;

const node = new Node();
const options = readZabOptions(process.env);
let core: ZabCore;
let storage: ZabStorage;
let server: ZkServer;
let narrator: ZabNarrator;
/** Server ids: a message from one of them is the protocol's, from anyone else a client's. */
let serverIds = new Set<string>();
/** This process's own mark in the txns it proposes, so a restarted server never answers its past self's clients. */
const incarnation = randomInt(2 ** 31);
let deliveredSinceSnapshot = 0;
let timer: NodeJS.Timeout | null = null;

const monotonicMs = () => performance.now();
// The last batch of commits is written even if nothing else happens after it.
const commitFlush = new DeferredFlush(
  () => narrator.commitDueMs(),
  () => {
    for (const line of narrator.flushCommits(monotonicMs(), true)) node.log(line);
  },
  monotonicMs,
);

node.onInit(() => {
  let observers: Set<string>;
  let opened: ReturnType<typeof ZabStorage.open>;
  let bugs: PlantedBugs;
  try {
    bugs = readPlantedBug(process.env);
    observers = resolveObservers(node.nodeIds, options.observers);
    opened = ZabStorage.open(process.env.DSLAB_DATA_DIR ?? '.');
  } catch (error) {
    // A corrupt log or an impossible ensemble must not be papered over: say why and refuse to start.
    process.stderr.write(`${node.id} cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  storage = opened.storage;
  serverIds = new Set(node.nodeIds);
  // sids follow the ensemble's order (n1 is 1): they break ties between equal votes, as ZooKeeper's myid does.
  const servers: ServerConfig[] = node.nodeIds.map((id, i) => ({ id, sid: i + 1, observer: observers.has(id) }));
  if (opened.truncated_bytes > 0) node.log(`cut a torn tail of ${opened.truncated_bytes} bytes from the txn log`);
  server = new ZkServer({
    id: node.id,
    incarnation,
    tick_ms: options.tick_ms,
    now: monotonicMs,
    wall_now: () => node.now(),
    send: (to, body) => node.send(to, body),
    propose: (txn) => core.propose(txn),
    // The position in the one applied sequence, the same on every server: what the supervisor's checks compare.
    report_apply: options.report_apply ? (index, epoch, zxid, txn) => node.reportApply(index, epoch, { zxid, txn: reportedTxn(txn) }) : undefined,
    log: (line) => node.log(line),
    planted_bug: bugs.host,
  });
  core = new ZabCore({
    id: node.id,
    servers,
    config: { ...options.zab, test_planted_bug: bugs.core },
    persisted: opened.persisted,
    random: Math.random,
    now_ms: monotonicMs(),
    prepare: server.prepare,
  });
  narrator = new ZabNarrator(node.id, core.observer);
  const p = opened.persisted;
  const last = p.log.at(-1)?.zxid ?? p.snapshot?.zxid;
  node.log(
    `starting as ${core.observer ? 'an observer' : 'a voter'} with accepted epoch ${p.accepted_epoch}, current epoch ${p.current_epoch}, ` +
      `${p.log.length} txns${p.snapshot ? ` after a snapshot at ${formatZxid(p.snapshot.zxid)}` : ''}, last zxid ${last ? formatZxid(last) : '0:0'}` +
      (bugs.core ?? bugs.host ? ` (planted bug ${bugs.core ?? bugs.host})` : ''),
  );
  pump();
});

/** The core's messages, the servers' relayed pings, and every client request (some share a type with the core's: ping, sync). */
const core_types = ['notification', 'followerinfo', 'leaderinfo', 'ackepoch', 'sync', 'newleader', 'ack', 'uptodate', 'proposal', 'commit', 'inform', 'ping', 'request'];
for (const type of new Set([...core_types, ...client_request_types, 'zk_touch'])) node.on(type, (message) => onMessage(message));

// A server's process that exits closes its connections, as ZooKeeper's sockets close: a follower then
// looks for a new leader at once and a leader drops the learner, instead of waiting out the sync limit.
node.onConnectionClosed((peer) => {
  if (!core || !serverIds.has(peer)) return;
  core.tick(monotonicMs());
  core.connectionClosed(peer);
  schedulePump();
});

function onMessage(message: Envelope): void {
  if (!core) return; // before init: nothing can come from a server yet
  const now = monotonicMs();
  core.tick(now);
  if (serverIds.has(message.src)) {
    if (message.body.type === 'zk_touch') server.onServerMessage(message.src, message.body);
    else if (isZabMessage(message.body)) core.step(message.src, message.body);
    else node.log(`dropping a malformed ${message.body.type} from ${message.src}`);
  } else if (waitingClients.length < waiting_client_messages_max) {
    waitingClients.push(message);
  } else {
    node.replyError(message, error_codes.temporarily_unavailable, `${waiting_client_messages_max} client messages already wait at ${node.id}; slow down`);
  }
  schedulePump();
}

/** Client messages read this turn, handled in the pump once the core's Ready is on disk and applied. */
const waitingClients: Envelope[] = [];

let pumpScheduled = false;
/**
 * Group commit: every message read in one turn of the event loop is stepped
 * first, and one pump (one fsync) then covers them all, as ZooKeeper flushes
 * whatever queued during its last flush together. Nothing leaves before its
 * disk write either way: handleReady persists before it sends.
 */
function schedulePump(): void {
  if (pumpScheduled) return;
  pumpScheduled = true;
  setImmediate(() => {
    pumpScheduled = false;
    pump();
  });
}

/** Hands everything the core produced to disk, the network and the state machine, in the order safety needs. */
function pump(): void {
  while (core.hasReady()) handleReady(core.ready());
  // The server knows where the ensemble is before it answers (the Ready above), and the proposals
  // these messages make share the next Ready, and its one fsync.
  for (const message of waitingClients.splice(0)) server.handleClient(message);
  while (core.hasReady()) handleReady(core.ready());
  server.tick();
  while (core.hasReady()) handleReady(core.ready());
  reportState();
  if (timer) clearTimeout(timer);
  const now = monotonicMs();
  const next = Math.min(core.nextTimerMs(), server.nextTimerMs());
  timer = setTimeout(
    () => {
      core.tick(monotonicMs());
      pump();
    },
    Math.max(0, next - now),
  );
}

function handleReady(ready: Ready): void {
  // 1. disk (fsynced), 2. messages, 3. the state machine: an acknowledgement then describes the disk;
  // only a leader's proposals leave before its fsync (core/ready-order.ts), and flushNow puts them on their way.
  const early = messagesBeforeDisk(ready);
  for (const message of early) node.send(message.to, message.body as unknown as MessageBody);
  if (early.length > 0) node.flushNow();
  storage.persist(ready);
  for (const message of early.length > 0 ? messagesAfterDisk(ready) : ready.messages) node.send(message.to, message.body as unknown as MessageBody);
  if (ready.apply_snapshot) deliveredSinceSnapshot = 0;
  deliveredSinceSnapshot += ready.committed.length;
  server.onReady(ready);
  const first = ready.committed[0];
  const last = ready.committed.at(-1);
  if (first && last) narrator.delivered(ready.committed.length, formatZxid(first.zxid), formatZxid(last.zxid));
  narrate(ready);
  maybeSnapshot();
}

function maybeSnapshot(): void {
  if (options.snapshot_every <= 0 || deliveredSinceSnapshot < options.snapshot_every) return;
  if (compareZxid(server.applied_zxid, core.snapshotZxid()) <= 0) return;
  deliveredSinceSnapshot = 0;
  core.compact(server.applied_zxid, server.snapshot());
  while (core.hasReady()) handleReady(core.ready());
}

function reportState(): void {
  const s = core.report();
  const last = core.lastZxid();
  const committed = core.committedZxid();
  node.reportState({
    role: s.role,
    // An observer looking for its leader stands in no election: the dashboard tells it apart by this.
    observer: core.observer,
    // The epoch a dashboard shows beside the role: the one this server has synced to (ZooKeeper's currentEpoch).
    epoch: s.current_epoch,
    accepted_epoch: s.accepted_epoch,
    current_epoch: s.current_epoch,
    last_zxid: s.last_zxid,
    committed_zxid: s.committed_zxid,
    last_zxid_hex: zxidHex(last),
    committed_zxid_hex: zxidHex(committed),
    leader: s.leader,
    election_round: s.election_round,
    phase: s.phase,
    sync_mode: s.sync_mode,
    learner_sync_modes: s.learner_sync_modes,
    // The event log tells of each join: a rise of syncs, with the mode and what a TRUNC cut.
    syncs: s.syncs,
    truncated_txns: s.truncated_txns,
    established: s.established,
    sessions: server.session_count,
    znodes: server.znode_count,
    // The event log's session expiries (the dashboard tells of each rise of sessions_expired).
    ...server.expiries(),
  });
}

function narrate(ready: Ready): void {
  for (const line of narrator.observe(ready.events, ready.state, monotonicMs())) node.log(line);
  commitFlush.schedule();
}

node.run();

/**
 * A txn as dslab_apply reports it: what it does, without the asking server's routing (`via`) and the
 * leader's wall-clock stamp (`time`), which the same txn carries alike on every server and which
 * would put epoch milliseconds into the grader's messages.
 */
function reportedTxn(txn: unknown): unknown {
  if (typeof txn !== 'object' || txn === null) return txn;
  const { via: _via, time: _time, ...rest } = txn as Record<string, unknown>;
  return rest;
}
