// One ZooKeeper client's TCP connection to a Zab server, translated: wire frames in, the coordinator's
// JSON client messages (docs/zab.md, "Client messages") out through the host, and their replies and
// unasked messages back as wire frames. Pure of sockets and timers: the host (host.ts) does all I/O.
//
// Order: ZooKeeper applies a connection's requests in the order sent and answers them in that order.
// Requests are sent on as they come, except that one that is not a write waits until every write
// before it is answered: the server answers a read at once, from what it applied, so a read sent
// beside an earlier write would not see it. Writes follow writes (the server proposes them in the
// order they arrive), reads follow reads. Replies go out strictly in request order, each as soon as
// those before it went. Pings, which clients match by their xid (-2) rather than by order, go to the
// server beside the queue. (The router keeps a client link's messages in order unless a fault on
// that link adds jitter or reordering; TCP would not reorder, so such a fault can reorder pipelined
// writes, which the dialect cannot prevent: it carries no sequence number.)

import type { MessageBody } from '../protocol/messages.js';
import {
  errorCodeOf,
  passwordMatches,
  sessionFromWire,
  sessionPassword,
  sessionToWire,
  statToWire,
  statZxids,
  zxidFromWire,
  zxidToWire,
} from './dialect.js';
import { fourLetterAnswer, isFourLetterWord } from './four-letter.js';
import { FrameSplitter } from './frames.js';
import type { WireConnection, WireConnectionHost } from './host.js';
import { JuteError, JuteReader, JuteWriter, utf8 } from './jute.js';
import { create_modes, err_codes, event_types, keeper_states, op_codes, perms_all, protocol_version, session_password_bytes, special_xids } from './protocol.js';
import {
  framed,
  readConnectRequest,
  readRequestBody,
  readRequestHeader,
  replyFrame,
  writeConnectResponse,
  writeReplyHeader,
  writeWatcherEvent,
  type Acl,
  type ConnectRequest,
  type MultiOp,
  type MultiReadOp,
  type MultiResult,
  type WireReply,
  type WireRequest,
} from './records.js';
import { statsOf, type ConnectionStats, type WireServerStats } from './stats.js';

// ---- limits (each with its unit last) -----------------------------------------------------------

/** Requests read from one connection and not yet answered; past it the connection is closed. */
export const queued_requests_max = 1000;
/** Pings waiting for the one sent to the server; past it the connection is closed. */
export const queued_pings_max = 100;
/** How long a dialect request may wait for its reply: past a server's own 10 s write wait. */
export const dialect_reply_timeout_ms = 15_000;

const utf8_strict = new TextDecoder('utf-8', { fatal: true });

type Phase = 'first_bytes' | 'handshake' | 'connecting' | 'open' | 'closed';

/** A request read from the wire, waiting for its turn, for its answer, or for those before it to go. */
interface Queued {
  xid: number;
  type: number;
  /** null: the body did not parse (MarshallingError) or the type is not served (Unimplemented). */
  request: WireRequest | null;
  err_if_unparsed: number;
  read_ms: number;
  state: 'waiting' | 'sent' | 'answered';
  answer?: Answer | Drop;
}

/** Requests the server answers only once it applied their txn: a later read must wait for them. */
const write_ops: ReadonlySet<WireRequest['op']> = new Set(['create', 'delete', 'setData', 'setACL', 'sync', 'check', 'multi', 'closeSession']);

function isWrite(q: Queued): boolean {
  return q.request !== null && write_ops.has(q.request.op);
}

/** What a request is answered: a reply, then maybe the connection closed after it. */
interface Answer {
  err: number;
  reply: WireReply;
  /** The reply header's zxid when not the connection's last (ZooKeeper answers auth with 0). */
  zxid?: bigint;
  close?: string;
}

/** The connection closes without answering (ConnectionLoss, no reply in time): the client reconnects. */
class Drop {
  constructor(readonly why: string) {}
}

const empty: WireReply = { kind: 'empty' };

function fail(err: number): Answer {
  return { err, reply: empty };
}

export const createWireConnection = (host: WireConnectionHost): WireConnection => new Connection(host);

class Connection implements WireConnection {
  private phase: Phase = 'first_bytes';
  /** The connection's first bytes, until there are four: a four-letter word or the handshake's frame length. */
  private first_bytes: Uint8Array = new Uint8Array(0);
  private readonly frames = new FrameSplitter();
  private readonly queue: Queued[] = [];
  private session: string | null = null;
  /** Whether the client's handshake carried the readOnly byte (the answer carries one only then). */
  private read_only_byte = false;
  /** The last zxid this connection can vouch the client has heard of everything up to: the reply headers'. */
  private last_zxid = 0n;
  private pings_waiting = 0;
  private ping_in_flight = false;
  private readonly stats: WireServerStats;
  private readonly counts: ConnectionStats;

  constructor(private readonly host: WireConnectionHost) {
    this.stats = statsOf(host.server);
    this.counts = { client: host.client, received: 0, sent: 0, queued: 0 };
    host.onUnasked((body) => this.unasked(body));
  }

  // ---- from the socket ----------------------------------------------------------------------------

  onBytes(chunk: Uint8Array): void {
    if (this.phase === 'closed') return;
    if (this.phase === 'first_bytes') {
      this.first_bytes = concat(this.first_bytes, chunk);
      if (this.first_bytes.length < 4) return;
      const word = String.fromCharCode(...this.first_bytes.subarray(0, 4));
      if (isFourLetterWord(word)) {
        this.phase = 'closed';
        const answer = fourLetterAnswer(word, this.host.serverState(), this.stats);
        if (answer !== null) this.host.write(utf8(answer));
        this.host.close();
        return;
      }
      this.stats.connections.add(this.counts);
      this.phase = 'handshake';
      chunk = this.first_bytes;
      this.first_bytes = new Uint8Array(0);
    }
    const r = this.frames.push(chunk);
    for (const frame of r.frames) {
      // A frame before may have closed the connection.
      if ((this.phase as Phase) === 'closed') return;
      this.onFrame(frame);
    }
    if (!r.ok) this.close(`closed: ${r.reason}`);
  }

  onSocketClosed(): void {
    this.close(null);
  }

  onServerDown(): void {
    this.close(`closed: ${this.host.server} is down`);
  }

  private onFrame(frame: Uint8Array): void {
    this.counts.received += 1;
    this.stats.received += 1;
    if (this.phase === 'handshake') {
      let request: ConnectRequest;
      try {
        request = readConnectRequest(new JuteReader(frame));
      } catch (e) {
        this.close(`closed: the first frame is not a ZooKeeper ConnectRequest (${(e as Error).message})`);
        return;
      }
      this.phase = 'connecting';
      void this.handshake(request);
      return;
    }
    const r = new JuteReader(frame);
    let xid: number;
    let type: number;
    try {
      ({ xid, type } = readRequestHeader(r));
    } catch {
      this.close(`closed: a frame of ${frame.length} bytes is too short for a request header`);
      return;
    }
    let request: WireRequest | null = null;
    let err_if_unparsed: number = err_codes.Unimplemented;
    try {
      request = readRequestBody(type, r);
    } catch (e) {
      if (!(e instanceof JuteError)) throw e;
      err_if_unparsed = err_codes.MarshallingError;
    }
    if (request?.op === 'ping') {
      this.ping();
      return;
    }
    if (this.queue.length >= queued_requests_max) {
      this.close(`closed: more than ${queued_requests_max} requests waiting for their replies (queued_requests_max)`);
      return;
    }
    this.queue.push({ xid, type, request, err_if_unparsed, read_ms: this.host.now(), state: 'waiting' });
    this.counts.queued = this.queue.length;
    this.pump();
  }

  // ---- the handshake --------------------------------------------------------------------------

  private async handshake(request: ConnectRequest): Promise<void> {
    this.read_only_byte = request.readOnly !== null;
    // ZooKeeper clamps any timeout asked for, even 0 or less, into its bounds; the server clamps what is positive.
    const asked: MessageBody = { type: 'connect', timeout_ms: Math.max(1, request.timeOut), last_zxid_seen: zxidFromWire(request.lastZxidSeen) };
    if (request.sessionId !== 0n) {
      // ZooKeeper answers a wrong password as it answers an expired session.
      if (!passwordMatches(this.host.secret, request.sessionId, request.passwd)) return this.expired(`session 0x${BigInt.asUintN(64, request.sessionId).toString(16)} presented a wrong password`);
      asked.session = sessionFromWire(request.sessionId);
    }
    // The client has heard of everything up to the zxid it saw; a server that serves it has applied that much.
    this.last_zxid = request.lastZxidSeen > 0n ? request.lastZxidSeen : 0n;
    const reply = await this.ask(asked);
    if (this.phase === 'closed') return;
    if (reply instanceof Drop) return this.close(`closed during the handshake: ${reply.why}`);
    if (reply.type === 'error') {
      if (reply.zk_error === 'SessionExpired') return this.expired(`session ${String(asked.session)} is expired`);
      // ZooKeeper closes a connection it will not serve (its zxid is behind the client's, or it has no quorum) without a word.
      return this.close(`closed during the handshake: ${String(reply.zk_error ?? reply.code)}: ${String(reply.text ?? '')}`);
    }
    const session_id = sessionToWire(reply.session);
    if (reply.type !== 'connect_ok' || session_id === null || typeof reply.timeout_ms !== 'number') {
      return this.close(`closed during the handshake: ${this.host.server} answered connect with ${JSON.stringify(reply).slice(0, 200)}`);
    }
    this.session = reply.session as string;
    // A new session has no watches, so the server's zxid is safe to report; a re-attached one's are set again (setWatches) relative to the client's.
    if (asked.session === undefined) this.sawZxid(reply.zxid);
    const w = writeConnectResponse(new JuteWriter(), {
      protocolVersion: protocol_version,
      timeOut: reply.timeout_ms,
      sessionId: session_id,
      passwd: sessionPassword(this.host.secret, session_id),
      readOnly: this.read_only_byte ? false : null,
    });
    this.send(framed(w.finish()));
    this.phase = 'open';
    this.pingServer();
    this.pump();
  }

  /** ZooKeeper's answer to a session it will not re-attach: timeout 0, session 0, then the close. */
  private expired(why: string): void {
    const w = writeConnectResponse(new JuteWriter(), {
      protocolVersion: protocol_version,
      timeOut: 0,
      sessionId: 0n,
      passwd: new Uint8Array(session_password_bytes),
      readOnly: this.read_only_byte ? false : null,
    });
    this.send(framed(w.finish()));
    this.close(`closed: ${why}`);
  }

  // ---- requests -------------------------------------------------------------------------------

  /** Sends on what may go now, and writes the replies whose turn came. */
  private pump(): void {
    if (this.phase !== 'open') return;
    let write_before = false;
    for (const q of this.queue) {
      if (q.state === 'waiting') {
        // Behind an unanswered write, only a write may go; and nothing overtakes a request that waits.
        if (write_before && !isWrite(q)) break;
        this.dispatch(q);
      }
      if (q.state !== 'answered' && isWrite(q)) write_before = true;
    }
    while (this.phase === 'open' && this.queue[0]?.state === 'answered') {
      const q = this.queue.shift()!;
      this.counts.queued = this.queue.length;
      const answer = q.answer!;
      if (answer instanceof Drop) return this.close(`closed: ${answer.why}`);
      this.stats.answered(this.host.now() - q.read_ms);
      this.send(replyFrame({ xid: q.xid, zxid: answer.zxid ?? this.last_zxid, err: answer.err }, answer.reply));
      if (answer.close !== undefined) return this.close(answer.close);
    }
  }

  private dispatch(q: Queued): void {
    q.state = 'sent';
    const answer = q.request === null ? Promise.resolve(fail(q.err_if_unparsed)) : this.translate(q.request, q.type);
    void answer.then((a) => {
      q.state = 'answered';
      q.answer = a;
      this.pump();
    });
  }

  /** A ping from the client: answered when the server answers the one ping in flight. */
  private ping(): void {
    if (this.pings_waiting >= queued_pings_max) return this.close(`closed: more than ${queued_pings_max} pings waiting (queued_pings_max)`);
    this.pings_waiting += 1;
    this.pingServer();
  }

  private pingServer(): void {
    if (this.ping_in_flight || this.pings_waiting === 0 || this.phase !== 'open') return;
    this.ping_in_flight = true;
    const answered = this.pings_waiting;
    void this.ask({ type: 'ping', session: this.session }).then((reply) => {
      this.ping_in_flight = false;
      if (this.phase !== 'open') return;
      if (reply instanceof Drop) return this.close(`closed: ${reply.why}`);
      if (reply.type === 'error') return this.close(`closed: ${String(reply.zk_error ?? reply.code)} answered a ping: ${String(reply.text ?? '')}`);
      this.sawZxid(reply.zxid);
      this.pings_waiting -= answered;
      for (let i = 0; i < answered; i++) this.send(replyFrame({ xid: special_xids.ping, zxid: this.last_zxid, err: 0 }, empty));
      this.pingServer();
    });
  }

  /** Sends a dialect request for this session; a lost or late reply, or ConnectionLoss, is a Drop. */
  private async ask(body: MessageBody): Promise<MessageBody | Drop> {
    let reply: MessageBody;
    try {
      reply = await this.host.request(body, dialect_reply_timeout_ms);
    } catch (e) {
      return new Drop(`${body.type} got no reply from ${this.host.server} (${(e as Error).message})`);
    }
    // The server is not serving (or lost its leader with the request in flight): as ZooKeeper's does, the connection goes, and the client tries another server.
    if (reply.type === 'error' && reply.zk_error === 'ConnectionLoss') return new Drop(`${this.host.server} answered ${body.type} with ConnectionLoss: ${String(reply.text ?? '')}`);
    return reply;
  }

  /** A dialect request in this session and what its reply makes of it; a dialect error becomes the header's code. */
  private async call(body: MessageBody, onOk: (reply: MessageBody) => Answer): Promise<Answer | Drop> {
    const reply = await this.ask({ ...body, session: this.session });
    if (reply instanceof Drop) return reply;
    if (reply.type !== 'error') {
      this.sawZxid(reply.zxid);
      this.sawStat(reply.stat);
      return onOk(reply);
    }
    const err = errorCodeOf(reply);
    // The session is gone: say so, then close, so the client's reconnect learns it is expired.
    if (err === err_codes.SessionExpired) return { err, reply: empty, close: `closed: session ${String(this.session)} is expired` };
    return fail(err);
  }

  private async translate(q: WireRequest, type: number): Promise<Answer | Drop> {
    switch (q.op) {
      case 'create': {
        const op = createOp(q, type);
        if (typeof op === 'number') return fail(op);
        return this.call(op, (r) => (type === op_codes.create ? { err: 0, reply: { kind: 'path', path: String(r.path) } } : { err: 0, reply: { kind: 'path_stat', path: String(r.path), stat: statToWire(r.stat) } }));
      }
      case 'delete':
        return this.call({ type: 'delete', path: q.path, version: q.version }, () => ({ err: 0, reply: empty }));
      case 'setData': {
        const data = text(q.data);
        if (data === null) return fail(err_codes.BadArguments);
        return this.call({ type: 'set_data', path: q.path, data, version: q.version }, (r) => ({ err: 0, reply: { kind: 'stat', stat: statToWire(r.stat) } }));
      }
      case 'read':
        return this.read(q);
      case 'getACL':
        return this.call({ type: 'get_acl', path: q.path }, (r) => ({ err: 0, reply: { kind: 'acl_stat', acl: aclFromDialect(r.acl), stat: statToWire(r.stat) } }));
      case 'setACL':
        // Every znode has the open ACL and keeps it: setting it again is accepted, any other refused as ZooKeeper refuses an ACL it cannot apply.
        if (!isOpenAcl(q.acl)) return fail(err_codes.InvalidACL);
        return this.call({ type: 'set_acl', path: q.path, acl: q.acl.map((a) => ({ scheme: a.scheme, id: a.id, perms: a.perms })), version: q.version }, (r) => ({ err: 0, reply: { kind: 'stat', stat: statToWire(r.stat) } }));
      case 'sync':
        return this.call({ type: 'sync', path: q.path }, () => ({ err: 0, reply: { kind: 'path', path: q.path } }));
      case 'check':
        return this.call({ type: 'check', path: q.path, version: q.version }, () => ({ err: 0, reply: empty }));
      case 'multi':
        return this.multi(q.ops);
      case 'multiRead':
        return this.multiRead(q.ops);
      case 'watches':
        return this.call({ type: q.type === op_codes.checkWatches ? 'check_watches' : 'remove_watches', path: q.path, watcher_type: q.watcherType }, () => ({ err: 0, reply: empty }));
      case 'setWatches':
        if (q.persistent.length + q.persistentRecursive.length > 0) {
          // addWatch is not served, so no client holds a persistent watch here to set again.
          this.host.log(`setWatches2 named ${q.persistent.length + q.persistentRecursive.length} persistent watches, which this server does not keep; left unset`);
        }
        return this.call({ type: 'set_watches', relative_zxid: zxidFromWire(q.relativeZxid), data: q.data, exist: q.exist, child: q.child }, () => ({ err: 0, reply: empty }));
      case 'auth':
        // An open server: a digest identity is taken as given (no ACL names one); any other scheme fails as ZooKeeper fails an unknown one.
        return q.scheme === 'digest' ? { err: 0, reply: empty, zxid: 0n } : { err: err_codes.AuthFailed, reply: empty, zxid: 0n, close: `closed: auth with the scheme ${q.scheme}, which this server does not know` };
      case 'closeSession':
        return this.call({ type: 'close_session' }, () => ({ err: 0, reply: empty, close: `closed: session ${String(this.session)} closed` }));
      case 'ping':
        return fail(0); // never queued: answered beside the queue (ping())
    }
  }

  private read(q: Extract<WireRequest, { op: 'read' }>): Promise<Answer | Drop> {
    const asked = { path: q.path, watch: q.watch };
    switch (q.type) {
      case op_codes.exists:
        // A missing znode is NoNode on the wire; the watch is set all the same.
        return this.call({ type: 'exists', ...asked }, (r) => (r.stat === null || r.stat === undefined ? fail(err_codes.NoNode) : { err: 0, reply: { kind: 'stat', stat: statToWire(r.stat) } }));
      case op_codes.getData:
        return this.call({ type: 'get_data', ...asked }, (r) => ({ err: 0, reply: { kind: 'data_stat', data: utf8(String(r.data ?? '')), stat: statToWire(r.stat) } }));
      case op_codes.getChildren:
        return this.call({ type: 'get_children', ...asked }, (r) => ({ err: 0, reply: { kind: 'children', children: names(r.children) } }));
      case op_codes.getChildren2:
        return this.call({ type: 'get_children', ...asked }, (r) => ({ err: 0, reply: { kind: 'children_stat', children: names(r.children), stat: statToWire(r.stat) } }));
    }
  }

  /** A multi: ops the wire allows but this server cannot take fail here, with the per-op results ZooKeeper gives. */
  private async multi(ops: MultiOp[]): Promise<Answer | Drop> {
    if (ops.length === 0) return { err: 0, reply: { kind: 'multi', results: [] } };
    const asked: MessageBody[] = [];
    for (const [i, op] of ops.entries()) {
      const d = multiOp(op);
      if (typeof d === 'number') return { err: 0, reply: { kind: 'multi', results: failedResults(ops.length, i, d) } };
      asked.push(d);
    }
    const reply = await this.ask({ type: 'multi', session: this.session, ops: asked });
    if (reply instanceof Drop) return reply;
    if (reply.type === 'error' && !Array.isArray(reply.results)) {
      const err = errorCodeOf(reply);
      if (err === err_codes.SessionExpired) return { err, reply: empty, close: `closed: session ${String(this.session)} is expired` };
      return fail(err);
    }
    const results = Array.isArray(reply.results) ? (reply.results as unknown[]) : [];
    const wire: MultiResult[] = ops.map((op, i) => {
      const r = (results[i] ?? {}) as MessageBody;
      this.sawStat(r.stat);
      // A failed multi's results are all errors ("Ok" for the ops before the failed one).
      if (r.type === 'error' || reply.type === 'error') return { type: op_codes.error, err: errorCodeOf(r) };
      if (op.type === op_codes.create) return { type: op_codes.create, path: String(r.path) };
      if (op.type === op_codes.create2 || op.type === op_codes.createContainer || op.type === op_codes.createTTL) return { type: op_codes.create2, path: String(r.path), stat: statToWire(r.stat) };
      if (op.type === op_codes.setData) return { type: op_codes.setData, stat: statToWire(r.stat) };
      return { type: op.type };
    });
    return { err: 0, reply: { kind: 'multi', results: wire } };
  }

  /** A multiRead: each read answered on its own by the server asked, an error in one leaving the others. */
  private async multiRead(ops: MultiReadOp[]): Promise<Answer | Drop> {
    if (ops.length === 0) return { err: 0, reply: { kind: 'multi', results: [] } };
    const asked = ops.map((op) => ({ type: op.type === op_codes.getData ? 'get_data' : 'get_children', path: op.path }));
    return this.call({ type: 'multi', ops: asked }, (reply) => {
      const results = Array.isArray(reply.results) ? (reply.results as MessageBody[]) : [];
      const wire: MultiResult[] = ops.map((op, i) => {
        const r = results[i] ?? { type: 'error', zk_error: 'RuntimeInconsistency' };
        this.sawStat(r.stat);
        if (r.type === 'error') return { type: op_codes.error, err: errorCodeOf(r) };
        if (op.type === op_codes.getData) return { type: op_codes.getData, data: utf8(String(r.data ?? '')), stat: statToWire(r.stat) };
        return { type: op_codes.getChildren, children: names(r.children) };
      });
      return { err: 0, reply: { kind: 'multi', results: wire } };
    });
  }

  // ---- from the server, unasked ---------------------------------------------------------------

  private unasked(body: MessageBody): void {
    if (this.phase !== 'open' || body.session !== this.session) return;
    if (body.type === 'session_expired') {
      this.close(`closed: session ${String(this.session)} expired`);
      return;
    }
    if (body.type !== 'watch_event') return;
    const type = event_types[body.event as keyof typeof event_types];
    if (typeof type !== 'number' || typeof body.path !== 'string') return;
    this.sawZxid(body.zxid);
    // ZooKeeper 3.8 writes a notification's zxid as -1.
    const w = writeReplyHeader(new JuteWriter(), { xid: special_xids.notification, zxid: -1n, err: 0 });
    this.send(framed(writeWatcherEvent(w, { type, state: keeper_states.SyncConnected, path: body.path }).finish()));
  }

  // ---- bookkeeping ----------------------------------------------------------------------------

  private sawZxid(zxid: unknown): void {
    const z = zxidToWire(zxid);
    if (z !== null && z > this.last_zxid) this.last_zxid = z;
  }

  private sawStat(stat: unknown): void {
    for (const z of statZxids(stat)) this.sawZxid(z);
  }

  private send(frame: Uint8Array): void {
    this.counts.sent += 1;
    this.stats.sent += 1;
    this.host.write(frame);
  }

  /** Closes once; `why` null: the client closed it (nothing to log). */
  private close(why: string | null): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.queue.length = 0;
    this.stats.connections.delete(this.counts);
    // The host names the connection and its server in front of each line.
    if (why !== null) this.host.log(why);
    this.host.close();
  }
}

// ---- translations that need no connection -------------------------------------------------------

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Data as the dialect's string; null for bytes that are not UTF-8, which it cannot carry. */
function text(data: Uint8Array | null): string | null {
  if (data === null) return '';
  try {
    return utf8_strict.decode(data);
  } catch {
    return null;
  }
}

function names(children: unknown): string[] {
  return Array.isArray(children) ? children.filter((c): c is string => typeof c === 'string') : [];
}

/** ZooKeeper's open ACL (world:anyone, every permission), which every znode here has. */
function isOpenAcl(acl: readonly Acl[]): boolean {
  return acl.length > 0 && acl.every((a) => a.scheme === 'world' && a.id === 'anyone' && a.perms === perms_all);
}

function aclFromDialect(acl: unknown): Acl[] {
  if (!Array.isArray(acl)) return [{ scheme: 'world', id: 'anyone', perms: perms_all }];
  return acl.map((a: Record<string, unknown>) => ({ scheme: String(a.scheme), id: String(a.id), perms: typeof a.perms === 'number' ? a.perms : 0 }));
}

/** A create's dialect request, or the error ZooKeeper gives it. */
function createOp(q: { path: string; data: Uint8Array | null; acl: Acl[]; flags: number }, type: number): MessageBody | number {
  // TTL znodes are off in a default ZooKeeper, which answers them Unimplemented; createTTL without a TTL mode is malformed.
  if (q.flags === create_modes.persistent_with_ttl || q.flags === create_modes.persistent_sequential_with_ttl) return err_codes.Unimplemented;
  if (type === op_codes.createTTL || q.flags < create_modes.persistent || q.flags > create_modes.container) return err_codes.BadArguments;
  if (!isOpenAcl(q.acl)) return err_codes.InvalidACL;
  const data = text(q.data);
  if (data === null) return err_codes.BadArguments;
  const ephemeral = q.flags === create_modes.ephemeral || q.flags === create_modes.ephemeral_sequential;
  const sequential = q.flags === create_modes.persistent_sequential || q.flags === create_modes.ephemeral_sequential;
  // As in ZooKeeper, createContainer makes a container whatever its flags, and so does create with the container flag.
  const container = type === op_codes.createContainer || q.flags === create_modes.container;
  return { type: 'create', path: q.path, data, ephemeral, sequential: sequential && !container, ...(container ? { container: true } : {}) };
}

/** One multi op in the dialect, or the error ZooKeeper gives it. */
function multiOp(op: MultiOp): MessageBody | number {
  switch (op.type) {
    case op_codes.delete:
      return { type: 'delete', path: op.path, version: op.version };
    case op_codes.check:
      return { type: 'check', path: op.path, version: op.version };
    case op_codes.setData: {
      const data = text(op.data);
      return data === null ? err_codes.BadArguments : { type: 'set_data', path: op.path, data, version: op.version };
    }
    default:
      return createOp(op, op.type);
  }
}

/** ZooKeeper's results for a multi whose op `failed` failed with `err`: Ok before it, RuntimeInconsistency after. */
function failedResults(count: number, failed: number, err: number): MultiResult[] {
  return Array.from({ length: count }, (_, i) => ({ type: op_codes.error, err: i < failed ? err_codes.Ok : i === failed ? err : err_codes.RuntimeInconsistency }));
}
