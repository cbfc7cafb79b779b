// The one ZooKeeper-style client of the Zab coordinator (the protocol: docs/zab.md). The supervisor's
// `dslab zk`, snowflake workers and lock contenders all hold their sessions through it, over a transport that each of them builds from what it has (a node
// runtime, the supervisor's client endpoints, a test's fake network).
//
// What it does for its user, as ZooKeeper's own client does:
// - opens a session on one server (a random one, or `first`), pings it every third of the negotiated
//   timeout, and when the server stops answering (no reply, or ConnectionLoss) moves to another server
//   with `connect {session}` for as long as the session can still be alive there (its timeout since
//   the last reply that proved it alive); past that, or on SessionExpired/session_expired, the session
//   is 'expired' and every call fails with SessionExpired;
// - keeps the watches its reads set across such a move, as ZooKeeper's client does: once reconnected it
//   sends set_watches with the last zxid it saw and the paths it watches, and the server fires at once
//   each watch whose znode changed after that zxid and sets the rest; each watch fires once. (A server
//   that answers set_watches with an error other than ConnectionLoss or SessionExpired, one that does
//   not implement it, gets each watched znode read again instead, and the client makes up the events
//   it missed from what it reads.) A server that closed the connection (it replaced its tree with a
//   snapshot, losing its watches) answers ConnectionLoss, and the client reconnects the same way;
// - reports outcomes honestly: a read, or a write the server refused at the door (code 11), is retried
//   on the next server; a write whose reply never came, or that a server could no longer follow
//   (code 13), fails with ConnectionLoss and `definite: false`: it may have happened.

import type { Node } from '../runtime/node.js';
import { RpcError } from '../runtime/node.js';
import { definite_error_codes, error_codes, type MessageBody } from '../protocol/messages.js';
import { zk_error_table, type ZkErrorName } from './errors.js';
import type { ZnodeStat } from './stat.js';

// ---- limits -------------------------------------------------------------------------------------

/** Calls a client holds at once (sent, or waiting for a connection); more fail at once with QuotaExceeded. */
export const requests_pending_max = 1000;
/** Watches a client remembers to set again after a reconnect; a read that would set more fails with QuotaExceeded. */
export const client_watches_max = 10_000;
/** Listeners of one kind (watch, state). */
export const listeners_max = 100;
/** How long the first connect may take in all, across servers, unless the caller says otherwise. */
export const connect_deadline_ms_default = 15_000;
/** How long one connect request waits for its reply before the next server is tried. */
export const connect_reply_timeout_ms_max = 2000;
/** A pause after every server was tried once, so a client does not spin while an ensemble elects. */
export const reconnect_round_pause_ms = 100;
/** A client pings this many times per session timeout (ZooKeeper's client pings every third). */
export const pings_per_timeout = 3;
/** A reply to a request must come within this share of the session timeout (ZooKeeper's read timeout, 2/3). */
export const request_reply_timeout_share = 2 / 3;
/** The shortest reply timeout for any request, so tiny session timeouts still leave a server time to answer. */
export const reply_timeout_ms_min = 50;

// ---- types --------------------------------------------------------------------------------------

/** A znode's stat as it travels: zxids in formatZxid's "epoch:counter" form. */
export type Stat = ZnodeStat<string>;

export type ZkEventType = 'NodeCreated' | 'NodeDeleted' | 'NodeDataChanged' | 'NodeChildrenChanged';

export interface ZkWatchEvent {
  path: string;
  event: string;
  /** The txn that fired it; for an event the client made up after a reconnect, the zxid of the read that found the change. */
  zxid: string;
}

export type ZkClientState = 'connected' | 'reconnecting' | 'expired' | 'closed';

export interface ZkTransport {
  /** Sends a request; resolves with the reply body (error bodies too); rejects only when no reply came within timeout_ms. */
  rpc(server: string, body: MessageBody, timeout_ms: number): Promise<MessageBody>;
  /** Messages a server sent unasked (watch_event, session_expired). Returns an unsubscribe function. */
  onUnasked(handler: (from: string, body: MessageBody) => void): () => void;
  now(): number;
  after(ms: number, run: () => void): () => void;
}

export interface ZkConnectOptions {
  /** The session timeout asked for; the ensemble negotiates it (ZooKeeper's 2..20 ticks). */
  timeout_ms: number;
  /** The server to try first; otherwise a random one. */
  first?: string;
  /** How long opening the session may take in all (default connect_deadline_ms_default). */
  connect_deadline_ms?: number;
  /** Where random choices come from (tests); Math.random otherwise. */
  random?: () => number;
}

/** Thrown by every method: zk_error name, node-protocol code, text, and whether it definitely did not happen. */
export class ZkClientError extends Error {
  constructor(
    readonly name_zk: ZkErrorName,
    readonly code: number,
    text: string,
    readonly definite: boolean,
  ) {
    super(text);
    this.name = 'ZkClientError';
  }
}

const zk_error_names = new Set(Object.keys(zk_error_table));

/** The ZooKeeper name of an error body: its zk_error, or for a server that sent none, the name its code stands for. */
export function zkErrorNameOf(body: MessageBody): ZkErrorName {
  const named = body['zk_error'];
  if (typeof named === 'string' && zk_error_names.has(named)) return named as ZkErrorName;
  const code = Number(body['code']);
  if (code === error_codes.temporarily_unavailable || code === error_codes.crash || code === error_codes.timeout) return 'ConnectionLoss';
  const by_code = (Object.entries(zk_error_table) as Array<[ZkErrorName, { code: number }]>).find(([, spec]) => spec.code === code);
  return by_code?.[0] ?? 'Unimplemented';
}

function errorFromBody(body: MessageBody): ZkClientError {
  const code = Number(body['code']);
  return new ZkClientError(zkErrorNameOf(body), code, String(body['text'] ?? `error ${code}`), definite_error_codes.has(code));
}

function sessionGone(session: string, state: ZkClientState | 'closing'): ZkClientError {
  return new ZkClientError('SessionExpired', zk_error_table.SessionExpired.code, `session ${session} is ${state}`, true);
}

function connectionLost(text: string): ZkClientError {
  return new ZkClientError('ConnectionLoss', zk_error_table.ConnectionLoss.code, text, false);
}

// ---- watches the client remembers ---------------------------------------------------------------

type WatchKind = 'data' | 'exists' | 'child';

/** Which kinds of watch each event fires (ZooKeeper's rules, as the server's watch manager applies them). */
const fired_kinds: Readonly<Record<string, readonly WatchKind[]>> = {
  NodeCreated: ['data', 'exists'],
  NodeDataChanged: ['data', 'exists'],
  NodeDeleted: ['data', 'exists', 'child'],
  NodeChildrenChanged: ['child'],
};

interface KnownWatch {
  kind: WatchKind;
  path: string;
  /** What the read that set it saw: the data's mzxid (data), nothing (exists: absent), or the pzxid (child). */
  seen: string | null;
  /** Set again by the client itself after a reconnect that found the znode changed and so delivered the event: the
   * server still holds this watch, and its event belongs to nobody unless a read asks for the watch again. */
  orphan: boolean;
  /** The zxid of the event that fired it, while a read that held it is still waiting for its reply. */
  fired_zxid?: string;
  /** The read that set it has its reply (until then the read itself sets it again if it is retried elsewhere). */
  settled: boolean;
}

const watchKey = (kind: WatchKind, path: string): string => `${kind} ${path}`;

// ---- the client ---------------------------------------------------------------------------------

interface PendingCall {
  body: MessageBody;
  write: boolean;
  resolve(reply: MessageBody): void;
  reject(error: ZkClientError): void;
}

type Listener<T> = (value: T) => void;

export class ZkClient {
  private current_state: ZkClientState = 'connected';
  private current_server: string | null;
  private last_ok = 0;
  /** Changes with every connection, so a late failure of an old one does not tear down a new one. */
  private connection = 0;
  private pending = 0;
  /** Calls waiting for a connection, in the order they were made. */
  private readonly waiting: PendingCall[] = [];
  private readonly watches = new Map<string, KnownWatch>();
  private readonly watch_listeners = new Set<Listener<ZkWatchEvent>>();
  private readonly state_listeners = new Set<Listener<ZkClientState>>();
  private ping_in_flight = false;
  private cancel_ping: (() => void) | null = null;
  private readonly unsubscribe: () => void;
  private closing = false;
  /** The last zxid this client saw from the server it is connected to: set_watches's relative zxid. */
  private last_zxid: string;
  /** Reconnected, and set_watches not answered yet: calls wait, so none sees a change before its event. */
  private resuming = false;
  /** The connected server's process incarnation (connect_ok, ping_ok): a change means it restarted, without the watches it held. */
  private server_incarnation: unknown = undefined;

  private constructor(
    private readonly transport: ZkTransport,
    readonly servers: readonly string[],
    readonly session: string,
    readonly timeout_ms: number,
    server: string,
    private readonly random: () => number,
    zxid: string,
    connect_sent_ms: number,
  ) {
    this.last_zxid = parseZxidText(zxid) === null ? '0:0' : zxid;
    this.current_server = server;
    this.last_ok = connect_sent_ms;
    this.unsubscribe = transport.onUnasked((from, body) => this.unasked(from, body));
    this.schedulePing();
  }

  /** Opens a session: tries servers in turn (from `first`, or a random one) until one answers connect_ok or the deadline passes. */
  static async connect(transport: ZkTransport, servers: readonly string[], options: ZkConnectOptions): Promise<ZkClient> {
    if (servers.length === 0) throw new ZkClientError('BadArguments', zk_error_table.BadArguments.code, 'no servers to connect to', true);
    if (!(options.timeout_ms > 0)) throw new ZkClientError('BadArguments', zk_error_table.BadArguments.code, `a session timeout must be positive (got ${options.timeout_ms})`, true);
    const random = options.random ?? Math.random;
    const deadline = transport.now() + (options.connect_deadline_ms ?? connect_deadline_ms_default);
    let index = options.first !== undefined && servers.includes(options.first) ? servers.indexOf(options.first) : Math.floor(random() * servers.length) % servers.length;
    let last_failure = 'no server answered';
    for (let attempt = 0; transport.now() < deadline; attempt++) {
      if (attempt > 0 && attempt % servers.length === 0) await sleep(transport, reconnect_round_pause_ms);
      const server = servers[index % servers.length]!;
      index += 1;
      const wait_ms = Math.max(reply_timeout_ms_min, Math.min(connect_reply_timeout_ms_max, deadline - transport.now()));
      let reply: MessageBody;
      const sent_ms = transport.now();
      try {
        reply = await transport.rpc(server, { type: 'connect', timeout_ms: options.timeout_ms }, wait_ms);
      } catch {
        last_failure = `${server} did not answer connect within ${wait_ms}ms`;
        continue;
      }
      if (reply.type === 'connect_ok' && typeof reply['session'] === 'string') {
        const negotiated = Number(reply['timeout_ms']);
        const timeout_ms = Number.isFinite(negotiated) && negotiated > 0 ? negotiated : options.timeout_ms;
        const client = new ZkClient(transport, servers, reply['session'], timeout_ms, typeof reply['server'] === 'string' ? reply['server'] : server, random, String(reply['zxid'] ?? ''), sent_ms);
        client.server_incarnation = reply['server_incarnation'];
        return client;
      }
      if (reply.type !== 'error') {
        last_failure = `${server} answered connect with ${reply.type}`;
        continue;
      }
      const error = errorFromBody(reply);
      // A server that is not serving says so; any other error (a bad timeout, too many sessions) is the answer.
      if (error.name_zk !== 'ConnectionLoss') throw error;
      last_failure = `${server}: ${error.message}`;
    }
    throw new ZkClientError('ConnectionLoss', zk_error_table.ConnectionLoss.code, `could not open a session: ${last_failure}`, true);
  }

  get state(): ZkClientState {
    return this.current_state;
  }

  /** The server the session is connected to; null while reconnecting or once over. */
  get server(): string | null {
    return this.current_state === 'connected' ? this.current_server : null;
  }

  /**
   * A request sent at `sent_ms` was answered: the server heard from the session after that moment, so its
   * timeout runs from no earlier than then. Not the time the answer was read: an answer read late (the
   * client was paused with it in its input, or the link delayed it) says nothing about the time since.
   */
  private sawServerAt(sent_ms: number): void {
    this.last_ok = Math.max(this.last_ok, sent_ms);
  }

  /** When the last request that was answered (ping_ok or any successful reply) was sent (transport.now); a worker serves only while now - last_ok_ms < timeout_ms - margin. */
  get last_ok_ms(): number {
    return this.last_ok;
  }

  // ---- operations ----

  async create(path: string, data = '', flags: { ephemeral?: boolean; sequential?: boolean } = {}): Promise<{ path: string; stat: Stat }> {
    const reply = await this.call({ type: 'create', path, data, ephemeral: flags.ephemeral === true, sequential: flags.sequential === true }, true);
    return { path: String(reply['path']), stat: reply['stat'] as Stat };
  }

  async delete(path: string, version = -1): Promise<void> {
    await this.call({ type: 'delete', path, version }, true);
  }

  async exists(path: string, watch = false): Promise<Stat | null> {
    const reply = await this.watchedRead({ type: 'exists', path, watch }, watch ? ['exists', 'data'] : [], (r) => {
      const stat = (r['stat'] ?? null) as Stat | null;
      return stat === null ? { kind: 'exists', seen: null } : { kind: 'data', seen: stat.mzxid };
    });
    return (reply['stat'] ?? null) as Stat | null;
  }

  async getData(path: string, watch = false): Promise<{ data: string; stat: Stat }> {
    const reply = await this.watchedRead({ type: 'get_data', path, watch }, watch ? ['data'] : [], (r) => ({ kind: 'data', seen: (r['stat'] as Stat).mzxid }));
    return { data: String(reply['data'] ?? ''), stat: reply['stat'] as Stat };
  }

  async getChildren(path: string, watch = false): Promise<string[]> {
    return (await this.getChildrenAndStat(path, watch)).children;
  }

  /** get_children with the parent's stat (ZooKeeper's getChildren2). */
  async getChildrenAndStat(path: string, watch = false): Promise<{ children: string[]; stat: Stat }> {
    const reply = await this.watchedRead({ type: 'get_children', path, watch }, watch ? ['child'] : [], (r) => ({ kind: 'child', seen: (r['stat'] as Stat).pzxid }));
    return { children: (reply['children'] as string[] | undefined) ?? [], stat: reply['stat'] as Stat };
  }

  async setData(path: string, data: string, version = -1): Promise<Stat> {
    const reply = await this.call({ type: 'set_data', path, data, version }, true);
    return reply['stat'] as Stat;
  }

  /** Until the connected server has every write committed before it began; returns that server's zxid. */
  async sync(path?: string): Promise<string> {
    const reply = await this.call(path === undefined ? { type: 'sync' } : { type: 'sync', path }, false);
    return String(reply['zxid'] ?? '');
  }

  /** Closes the session (its ephemerals go). Once it returns or throws, the client is closed and pings stop. */
  async close(): Promise<void> {
    if (this.current_state === 'closed') return;
    if (this.current_state === 'expired') {
      this.finish('closed');
      return;
    }
    this.closing = true;
    try {
      await this.call({ type: 'close_session' }, true);
    } finally {
      this.finish('closed');
    }
  }

  on(event: 'watch', handler: (e: ZkWatchEvent) => void): () => void;
  on(event: 'state', handler: (state: ZkClientState) => void): () => void;
  on(event: 'watch' | 'state', handler: Listener<ZkWatchEvent> | Listener<ZkClientState>): () => void {
    const set = (event === 'watch' ? this.watch_listeners : this.state_listeners) as Set<typeof handler>;
    if (set.size >= listeners_max) throw new Error(`more than ${listeners_max} ${event} listeners on one client (listeners_max)`);
    set.add(handler);
    return () => set.delete(handler);
  }

  // ---- calls ----

  private call(body: MessageBody, write: boolean): Promise<MessageBody> {
    if (this.current_state === 'expired' || this.current_state === 'closed' || (this.closing && body.type !== 'close_session')) {
      return Promise.reject(sessionGone(this.session, this.closing ? 'closing' : this.current_state));
    }
    if (this.pending >= requests_pending_max) {
      return Promise.reject(new ZkClientError('QuotaExceeded', zk_error_table.QuotaExceeded.code, `more than ${requests_pending_max} calls pending on one session (requests_pending_max)`, true));
    }
    this.pending += 1;
    return new Promise<MessageBody>((resolve, reject) => {
      const call: PendingCall = {
        body: { ...body, session: this.session },
        write,
        resolve: (reply) => {
          this.pending -= 1;
          resolve(reply);
        },
        reject: (error) => {
          this.pending -= 1;
          reject(error);
        },
      };
      if (this.current_state === 'connected' && !this.resuming) this.send(call);
      else this.waiting.push(call);
    });
  }

  private send(call: PendingCall): void {
    const server = this.current_server!;
    const connection = this.connection;
    const wait_ms = Math.max(reply_timeout_ms_min, Math.round(this.timeout_ms * request_reply_timeout_share));
    const sent_ms = this.transport.now();
    this.transport.rpc(server, call.body, wait_ms).then(
      (reply) => this.replied(call, connection, reply, sent_ms),
      () => {
        this.lost(connection);
        this.retryOrFail(call, connectionLost(`${server} did not answer ${call.body.type} within ${wait_ms}ms; it may have been applied`));
      },
    );
  }

  private replied(call: PendingCall, connection: number, reply: MessageBody, sent_ms: number): void {
    if (reply.type !== 'error') {
      this.sawServerAt(sent_ms);
      if (connection === this.connection) this.sawReply(reply);
      call.resolve(reply);
      return;
    }
    const error = errorFromBody(reply);
    if (error.name_zk === 'ConnectionLoss') {
      this.lost(connection);
      // Refused at the door: it did not start, so it can go to the next server like a read.
      if (error.definite) this.retry(call);
      else this.retryOrFail(call, error);
      return;
    }
    if (error.name_zk === 'SessionExpired') {
      call.reject(error);
      this.finish('expired');
      return;
    }
    call.reject(error);
  }

  /** A read may be asked again anywhere; a write that may have happened must not be repeated. */
  private retryOrFail(call: PendingCall, error: ZkClientError): void {
    if (call.write) call.reject(error);
    else this.retry(call);
  }

  private retry(call: PendingCall): void {
    if (this.current_state === 'connected' && !this.resuming) this.send(call);
    else if (this.current_state === 'reconnecting') this.waiting.push(call);
    else call.reject(sessionGone(this.session, this.current_state));
  }

  // ---- the connection ----

  private schedulePing(): void {
    this.cancel_ping?.();
    const interval_ms = Math.max(1, Math.floor(this.timeout_ms / pings_per_timeout));
    this.cancel_ping = this.transport.after(interval_ms, () => {
      this.cancel_ping = null;
      if (this.current_state !== 'connected') return;
      this.ping();
      this.schedulePing();
    });
  }

  private ping(): void {
    if (this.ping_in_flight) return;
    this.ping_in_flight = true;
    const server = this.current_server!;
    const connection = this.connection;
    const wait_ms = Math.max(reply_timeout_ms_min, Math.floor(this.timeout_ms / pings_per_timeout));
    const sent_ms = this.transport.now();
    this.transport.rpc(server, { type: 'ping', session: this.session }, wait_ms).then(
      (reply) => {
        this.ping_in_flight = false;
        if (reply.type !== 'error') {
          const incarnation = reply['server_incarnation'];
          if (connection === this.connection && incarnation !== undefined && this.server_incarnation !== undefined && incarnation !== this.server_incarnation) {
            // The server restarted within the session timeout: like a TCP connection it closed, so the
            // client reconnects (there or elsewhere) and sets its watches again.
            this.lost(connection);
            return;
          }
          this.sawServerAt(sent_ms);
          if (connection === this.connection) this.sawReply(reply);
          return;
        }
        const error = errorFromBody(reply);
        if (error.name_zk === 'SessionExpired') this.finish('expired');
        else this.lost(connection);
      },
      () => {
        this.ping_in_flight = false;
        this.lost(connection);
      },
    );
  }

  /** The connection `connection` failed: move to another server, unless that already happened. */
  private lost(connection: number): void {
    if (connection !== this.connection || this.current_state !== 'connected') return;
    this.connection += 1;
    this.resuming = false;
    this.cancel_ping?.();
    this.cancel_ping = null;
    this.setState('reconnecting');
    void this.reconnect(this.current_server);
  }

  private async reconnect(failed: string | null): Promise<void> {
    const others = this.servers.filter((s) => s !== failed);
    // The failed server last: it may come back, but another is likelier to answer.
    const order = failed !== null && this.servers.includes(failed) ? [...shuffle(others, this.random), failed] : shuffle([...this.servers], this.random);
    for (let attempt = 0; this.current_state === 'reconnecting'; attempt++) {
      if (attempt > 0 && attempt % order.length === 0) await sleep(this.transport, reconnect_round_pause_ms);
      if (this.current_state !== 'reconnecting') return;
      const left_ms = this.last_ok + this.timeout_ms - this.transport.now();
      if (left_ms <= 0) {
        // No server heard from the session for a whole timeout: the leader has expired it, or will.
        this.finish('expired');
        return;
      }
      const server = order[attempt % order.length]!;
      const wait_ms = Math.max(reply_timeout_ms_min, Math.min(connect_reply_timeout_ms_max, left_ms));
      let reply: MessageBody;
      const sent_ms = this.transport.now();
      try {
        reply = await this.transport.rpc(server, { type: 'connect', timeout_ms: this.timeout_ms, session: this.session }, wait_ms);
      } catch {
        continue;
      }
      if (this.current_state !== 'reconnecting') return;
      if (reply.type === 'connect_ok') {
        this.current_server = typeof reply['server'] === 'string' ? reply['server'] : server;
        this.server_incarnation = reply['server_incarnation'];
        this.sawServerAt(sent_ms);
        // Not the reply's zxid: changes up to it may be ones this client never heard of (set_watches finds them).
        this.resuming = true;
        this.setState('connected');
        this.schedulePing();
        void this.resume();
        return;
      }
      if (reply.type === 'error' && errorFromBody(reply).name_zk === 'SessionExpired') {
        this.finish('expired');
        return;
      }
    }
  }

  /**
   * After a reconnect: watches first (set_watches), so a call that was waiting does not see a change
   * before its event; then the calls that waited.
   */
  private async resume(): Promise<void> {
    const connection = this.connection;
    const server = this.current_server!;
    const watches = [...this.watches.values()].filter((w) => w.settled && !w.orphan);
    let fallback = false;
    if (watches.length > 0) {
      const paths = (kind: WatchKind) => watches.filter((w) => w.kind === kind).map((w) => w.path);
      const body = { type: 'set_watches', session: this.session, relative_zxid: this.last_zxid, data: paths('data'), exist: paths('exists'), child: paths('child') };
      const wait_ms = Math.max(reply_timeout_ms_min, Math.round(this.timeout_ms * request_reply_timeout_share));
      let reply: MessageBody | null;
      const sent_ms = this.transport.now();
      try {
        reply = await this.transport.rpc(server, body, wait_ms);
      } catch {
        reply = null;
      }
      // Lost meanwhile (a ping found the server gone): the next reconnect resumes.
      if (connection !== this.connection || this.current_state !== 'connected') return;
      if (reply === null) {
        // A server that ignores requests it does not know, or one that just died: reading again works
        // on the first, and its reads fail over from the second like any read.
        fallback = true;
      } else if (reply.type === 'error') {
        const error = errorFromBody(reply);
        if (error.name_zk === 'SessionExpired') return this.finish('expired');
        if (error.name_zk === 'ConnectionLoss') return this.lost(connection);
        // A server without set_watches: read each watched znode again instead.
        fallback = true;
      } else {
        this.sawServerAt(sent_ms);
        this.sawReply(reply);
      }
    }
    this.resuming = false;
    if (fallback) this.rearmWatches();
    for (const call of this.waiting.splice(0)) this.send(call);
  }

  /** A reply (or event) from the connected server: it has sent every event up to the zxids it names. */
  private sawReply(body: MessageBody): void {
    this.saw(body['zxid']);
    const stat = body['stat'];
    if (typeof stat === 'object' && stat !== null) for (const field of ['czxid', 'mzxid', 'pzxid']) this.saw((stat as Record<string, unknown>)[field]);
  }

  private saw(zxid: unknown): void {
    if (typeof zxid === 'string' && parseZxidText(zxid) !== null && compareZxidText(zxid, this.last_zxid) > 0) this.last_zxid = zxid;
  }

  private finish(state: 'expired' | 'closed'): void {
    if (this.current_state === 'expired' || this.current_state === 'closed') {
      if (state === 'closed' && this.current_state === 'expired') this.setState('closed');
      return;
    }
    this.resuming = false;
    this.connection += 1;
    this.cancel_ping?.();
    this.cancel_ping = null;
    this.unsubscribe();
    this.watches.clear();
    this.setState(state);
    for (const call of this.waiting.splice(0)) call.reject(sessionGone(this.session, state));
  }

  private setState(state: ZkClientState): void {
    if (this.current_state === state) return;
    this.current_state = state;
    for (const listener of [...this.state_listeners]) listener(state);
  }

  // ---- watches ----

  /**
   * A read that may set a watch. The watch is held before the request leaves: the server sends the
   * event after its reply, but both can reach this process in one read, and the event may then be
   * handled before the reply's continuation runs. Until the reply says which kind the server set,
   * every kind it could be (`candidates`) is held; an event that arrives first fires it, once.
   */
  private async watchedRead(body: MessageBody, candidates: readonly WatchKind[], settle: (reply: MessageBody) => { kind: WatchKind; seen: string | null }): Promise<MessageBody> {
    const path = String(body['path']);
    const previous = new Map(candidates.map((kind) => [kind, this.watches.get(watchKey(kind, path))]));
    const held = candidates.map((kind) => this.remember(kind, path, null)).filter((w): w is KnownWatch => w !== null);
    let reply: MessageBody;
    try {
      reply = await this.call(body, false);
    } catch (error) {
      // No watch was set: put back what the client held before.
      for (const w of held) {
        const key = watchKey(w.kind, path);
        if (this.watches.get(key) !== w) continue;
        const before = previous.get(w.kind);
        if (before) this.watches.set(key, before);
        else this.watches.delete(key);
      }
      throw error;
    }
    const set = settle(reply);
    // An event for a change the reply already shows came from an older watch: the read's watch still stands.
    const firedBy = held.find((w) => w.fired_zxid !== undefined)?.fired_zxid;
    const fired = firedBy !== undefined && !(set.seen !== null && firedBy !== '' && compareZxidText(firedBy, set.seen) <= 0);
    for (const w of held) {
      const key = watchKey(w.kind, path);
      const current = this.watches.get(key);
      if (current !== undefined && current !== w) continue; // asked for again meanwhile
      if (fired || w.kind !== set.kind) {
        if (current === w) this.watches.delete(key);
        continue;
      }
      w.seen = set.seen;
      w.settled = true;
      delete w.fired_zxid;
      this.watches.set(key, w);
    }
    return reply;
  }

  private remember(kind: WatchKind, path: string, seen: string | null): KnownWatch | null {
    const key = watchKey(kind, path);
    if (!this.watches.has(key) && this.watches.size >= client_watches_max) {
      // The server set it; the client will deliver its event but not set it again after a reconnect.
      return null;
    }
    const watch: KnownWatch = { kind, path, seen, orphan: false, settled: false };
    this.watches.set(key, watch);
    return watch;
  }

  private unasked(from: string, body: MessageBody): void {
    if (body['session'] !== this.session) return;
    if (body.type === 'watch_event' && this.current_state === 'connected' && from === this.current_server) this.saw(body['zxid']);
    if (body.type === 'session_expired') {
      this.finish('expired');
      return;
    }
    if (body.type !== 'watch_event') return;
    const path = String(body['path']);
    const event = String(body['event']);
    this.fire(path, event, String(body['zxid'] ?? ''));
  }

  /** Delivers an event once: to the watches it fires that the client still holds (a second copy, from the old server and the new, finds none). */
  private fire(path: string, event: string, zxid: string): void {
    let wanted = false;
    for (const kind of fired_kinds[event] ?? []) {
      const watch = this.watches.get(watchKey(kind, path));
      if (watch === undefined) continue;
      this.watches.delete(watchKey(kind, path));
      watch.fired_zxid = zxid;
      if (!watch.orphan) wanted = true;
    }
    if (!wanted) return;
    for (const listener of [...this.watch_listeners]) listener({ path, event, zxid });
  }

  /** Sets every remembered watch again on the new server; a znode that changed meanwhile gets the event it missed. */
  private rearmWatches(): void {
    for (const watch of [...this.watches.values()]) {
      if (watch.orphan) continue;
      const read = watch.kind === 'child' ? this.call({ type: 'get_children', path: watch.path, watch: true }, false) : this.call({ type: 'exists', path: watch.path, watch: true }, false);
      read.then(
        (reply) => this.compareRearmed(watch, reply),
        // NoNode for a child watch: the znode went away meanwhile.
        (error: unknown) => {
          if (error instanceof ZkClientError && error.name_zk === 'NoNode') this.missed(watch, 'NodeDeleted', '');
        },
      );
    }
  }

  private compareRearmed(watch: KnownWatch, reply: MessageBody): void {
    if (this.watches.get(watchKey(watch.kind, watch.path)) !== watch) return; // fired, or asked for again, meanwhile
    const stat = (reply['stat'] ?? null) as Stat | null;
    if (watch.kind === 'child') {
      if (stat !== null && stat.pzxid !== watch.seen) this.missed(watch, 'NodeChildrenChanged', stat.pzxid);
    } else if (watch.kind === 'exists') {
      if (stat !== null) this.missed(watch, 'NodeCreated', stat.mzxid);
    } else if (stat === null) {
      this.missed(watch, 'NodeDeleted', '');
    } else if (stat.mzxid !== watch.seen) {
      this.missed(watch, 'NodeDataChanged', stat.mzxid);
    }
  }

  /** A change the client learned of by reading again, not from its server: deliver it in place of the event it missed. */
  private missed(watch: KnownWatch, event: ZkEventType, zxid: string): void {
    const key = watchKey(watch.kind, watch.path);
    if (this.watches.get(key) !== watch) return;
    this.watches.delete(key);
    for (const listener of [...this.watch_listeners]) listener({ path: watch.path, event, zxid });
    // The rearming read left a watch on the server that nobody asked for (exists on a znode now gone, data
    // on one that is there, child on a parent that is there): its event is dropped unless a read asks for
    // that watch again, which makes it the reader's (remember() replaces the entry).
    const left: WatchKind | null = watch.kind === 'child' ? (event === 'NodeDeleted' ? null : 'child') : event === 'NodeDeleted' ? 'exists' : 'data';
    const left_key = left === null ? null : watchKey(left, watch.path);
    if (left !== null && left_key !== null && !this.watches.has(left_key)) this.watches.set(left_key, { kind: left, path: watch.path, seen: null, orphan: true, settled: true });
  }
}

function sleep(transport: ZkTransport, ms: number): Promise<void> {
  return new Promise((resolve) => transport.after(ms, resolve));
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1)) % (i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

// ---- a transport over the node runtime ----------------------------------------------------------

const unasked_types = ['watch_event', 'session_expired'] as const;
const node_unasked = new WeakMap<Node, Set<(from: string, body: MessageBody) => void>>();

/**
 * The transport a node (a snowflake worker, a lock contender) gives its client: Node.rpc, whose error
 * replies come back as bodies again, and the node's handlers for the messages servers send unasked.
 * It takes over the node's watch_event and session_expired handlers.
 */
export function nodeTransport(node: Node): ZkTransport {
  let handlers = node_unasked.get(node);
  if (handlers === undefined) {
    const set = new Set<(from: string, body: MessageBody) => void>();
    handlers = set;
    node_unasked.set(node, set);
    for (const type of unasked_types) node.on(type, (message) => { for (const handler of [...set]) handler(message.src, message.body); });
  }
  const subscribers = handlers;
  return {
    rpc: async (server, body, timeout_ms) => {
      try {
        return await node.rpc(server, body, timeout_ms);
      } catch (error) {
        // An error reply is an answer; only a timeout (or the node's own refusal) is "no reply".
        if (error instanceof RpcError && error.body !== undefined) return error.body;
        throw error;
      }
    },
    onUnasked: (handler) => {
      subscribers.add(handler);
      return () => subscribers.delete(handler);
    },
    now: () => node.now(),
    after: (ms, run) => node.after(ms, run),
  };
}

function parseZxidText(z: string): [bigint, bigint] | null {
  const m = /^(\d+):(\d+)$/.exec(z);
  return m ? [BigInt(m[1]!), BigInt(m[2]!)] : null;
}

/** Orders two zxids in their wire form ("epoch:counter", both decimal). */
function compareZxidText(a: string, b: string): number {
  const x = parseZxidText(a);
  const y = parseZxidText(b);
  if (x === null || y === null) return 1;
  return x[0] !== y[0] ? (x[0] < y[0] ? -1 : 1) : x[1] !== y[1] ? (x[1] < y[1] ? -1 : 1) : 0;
}
