/**
 * The Zab server: the pure core (core/core.ts) driven by real stdio, real
 * timers and real fsync, with a placeholder state machine (register.ts) until
 * the ZooKeeper data tree plugs in. Servers talk to each other in the core's
 * messages; anything from a client (an id that is not a server's) is a client
 * request: today only the debugging pair zab_write / zab_read, every other
 * type answered with error 10 (not supported).
 */
import { performance } from 'node:perf_hooks';
import { randomInt } from 'node:crypto';
import { DeferredFlush } from '../../lib/runtime/deferred-flush.js';
import { Node } from '../../lib/runtime/node.js';
import { error_codes, type Envelope, type MessageBody } from '../../lib/protocol/messages.js';
import { ZabCore, type LoggedTxn, type Ready, type ServerConfig } from './core/core.js';
import { isZabMessage } from './core/messages.js';
import { compareZxid, formatZxid, zxidHex } from './core/zxid.js';
import { ZabNarrator } from './narrator.js';
import { readZabOptions, resolveObservers } from './options.js';
import { isRegisterTxn, RegisterMachine, type RegisterTxn } from './register.js';
import { ZabStorage } from './storage.js';

/** Client writes waiting for their txn to be delivered here; more are refused (busy) rather than queued. */
export const waiting_writes_max = 1000;
/** A write not delivered within this is answered with a timeout: its outcome is unknown (its leader may have died). */
export const write_wait_ms_max = 5000;

const node = new Node();
const options = readZabOptions(process.env);
let core: ZabCore;
let storage: ZabStorage;
let machine = new RegisterMachine();
let narrator: ZabNarrator;
/** Server ids: a message from one of them is the protocol's, from anyone else a client's. */
let serverIds = new Set<string>();
const incarnation = randomInt(2 ** 31);
/** This process's own name in the txns it proposes, so a restarted server never answers its past self's clients. */
const origin = () => `${node.id}#${incarnation}`;
let nextRequest = 0;
const waitingWrites = new Map<number, { request: Envelope; deadline_ms: number }>();
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
  try {
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
  core = new ZabCore({ id: node.id, servers, config: options.zab, persisted: opened.persisted, random: Math.random, now_ms: monotonicMs() });
  narrator = new ZabNarrator(node.id, core.observer);
  const p = opened.persisted;
  const last = p.log.at(-1)?.zxid ?? p.snapshot?.zxid;
  node.log(
    `starting as ${core.observer ? 'an observer' : 'a voter'} with accepted epoch ${p.accepted_epoch}, current epoch ${p.current_epoch}, ` +
      `${p.log.length} txns${p.snapshot ? ` after a snapshot at ${formatZxid(p.snapshot.zxid)}` : ''}, last zxid ${last ? formatZxid(last) : '0:0'}`,
  );
  pump();
});

/** Every message type a server may get: the protocol's from servers, clients' from anyone else. */
const handled = new Set<string>(['notification', 'followerinfo', 'leaderinfo', 'ackepoch', 'sync', 'newleader', 'ack', 'uptodate', 'proposal', 'commit', 'inform', 'ping', 'request', 'zab_write', 'zab_read']);
for (const type of handled) node.on(type, (message) => onMessage(message));

function onMessage(message: Envelope): void {
  if (!core) return; // before init: nothing can come from a server yet
  if (serverIds.has(message.src)) {
    if (!isZabMessage(message.body)) {
      node.log(`dropping a malformed ${message.body.type} from ${message.src}`);
      return;
    }
    core.tick(monotonicMs());
    core.step(message.src, message.body);
    pump();
    return;
  }
  if (message.body.type === 'zab_write') return clientWrite(message);
  if (message.body.type === 'zab_read') return clientRead(message);
  node.replyError(message, error_codes.not_supported, `${message.body.type} is a message between Zab servers, not a client request`);
}

/** zab_write {value}: proposed through the leader; answered once this server delivers it. */
function clientWrite(request: Envelope): void {
  if (!('value' in request.body)) {
    node.replyError(request, error_codes.malformed_request, 'zab_write needs a value');
    return;
  }
  if (waitingWrites.size >= waiting_writes_max) {
    node.replyError(request, error_codes.temporarily_unavailable, `${waiting_writes_max} writes already wait here; slow down`);
    return;
  }
  const id = nextRequest++;
  const txn: RegisterTxn = { type: 'write', value: request.body.value, origin: origin(), request: id };
  core.tick(monotonicMs());
  const result = core.propose(txn);
  if (!result.ok) {
    const leader = result.leader;
    const text = result.error === 'busy' ? 'too many uncommitted proposals; slow down' : leader ? `not ready: ${leader} is not established yet` : 'no leader right now';
    node.reply(request, { type: 'error', code: error_codes.temporarily_unavailable, text, ...(leader ? { leader } : {}) });
    pump();
    return;
  }
  waitingWrites.set(id, { request, deadline_ms: monotonicMs() + write_wait_ms_max });
  pump();
}

/** zab_read: this server's value, which may trail the leader's (ZooKeeper's reads are local too). */
function clientRead(request: Envelope): void {
  node.reply(request, { type: 'zab_read_ok', value: machine.value as MessageBody['value'], zxid: formatZxid(machine.applied_zxid) });
}

/** Hands everything the core produced to disk, the network and the state machine, in the order safety needs. */
function pump(): void {
  while (core.hasReady()) handleReady(core.ready());
  expireWrites();
  reportState();
  if (timer) clearTimeout(timer);
  const now = monotonicMs();
  const next = Math.min(core.nextTimerMs(), earliestWriteDeadline());
  timer = setTimeout(
    () => {
      core.tick(monotonicMs());
      pump();
    },
    Math.max(0, next - now),
  );
}

function handleReady(ready: Ready): void {
  // 1. disk (fsynced), 2. messages, 3. the state machine: an acknowledgement then describes the disk.
  storage.persist(ready);
  for (const message of ready.messages) node.send(message.to, message.body as unknown as MessageBody);
  if (ready.apply_snapshot) {
    machine = RegisterMachine.restore(ready.apply_snapshot.data);
    deliveredSinceSnapshot = 0;
  }
  for (const entry of ready.committed) applyTxn(entry);
  const first = ready.committed[0];
  const last = ready.committed.at(-1);
  if (first && last) narrator.delivered(ready.committed.length, formatZxid(first.zxid), formatZxid(last.zxid));
  narrate(ready);
  maybeSnapshot();
}

function applyTxn(entry: LoggedTxn): void {
  const { count } = machine.apply(entry);
  deliveredSinceSnapshot++;
  // The position in the one delivered sequence, the same on every server: what the supervisor's checks compare.
  if (options.report_apply) node.reportApply(count, entry.zxid.epoch, { zxid: formatZxid(entry.zxid), txn: entry.txn });
  const txn = entry.txn;
  if (!isRegisterTxn(txn) || txn.origin !== origin()) return;
  const waiting = waitingWrites.get(txn.request);
  if (!waiting) return;
  waitingWrites.delete(txn.request);
  node.reply(waiting.request, { type: 'zab_write_ok', zxid: formatZxid(entry.zxid) });
}

function expireWrites(): void {
  const now = monotonicMs();
  for (const [id, waiting] of waitingWrites) {
    if (waiting.deadline_ms > now) continue;
    waitingWrites.delete(id);
    node.replyError(waiting.request, error_codes.timeout, `not delivered within ${write_wait_ms_max}ms (the leader may have changed); it may still commit`);
  }
}

function earliestWriteDeadline(): number {
  let earliest = Number.POSITIVE_INFINITY;
  for (const waiting of waitingWrites.values()) earliest = Math.min(earliest, waiting.deadline_ms);
  return earliest;
}

function maybeSnapshot(): void {
  if (options.snapshot_every <= 0 || deliveredSinceSnapshot < options.snapshot_every) return;
  if (compareZxid(machine.applied_zxid, core.snapshotZxid()) <= 0) return;
  deliveredSinceSnapshot = 0;
  core.compact(machine.applied_zxid, machine.snapshot());
  while (core.hasReady()) handleReady(core.ready());
}

function reportState(): void {
  const s = core.report();
  const last = core.lastZxid();
  const committed = core.committedZxid();
  node.reportState({
    role: s.role,
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
    established: s.established,
  });
}

function narrate(ready: Ready): void {
  for (const line of narrator.observe(ready.events, ready.state, monotonicMs())) node.log(line);
  commitFlush.schedule();
}

node.run();
