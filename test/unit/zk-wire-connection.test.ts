// The wire connection (src/lib/zk-wire/connection.ts) against a scripted host: what a ZooKeeper
// client writes goes in as bytes, the dialect requests the connection makes are answered by the test,
// and what comes back is parsed as a ZooKeeper client parses it. Covers the handshake (both forms),
// re-attach with a good and a bad password, the expired answer, a client ahead of the server, replies
// in request order, pings, watch events, unknown opcodes, malformed frames, and the four-letter words.

import { describe, expect, it } from 'vitest';
import type { MessageBody } from '../../src/lib/protocol/messages.js';
import { ZabCore } from '../../src/systems/zab/core/core.js';
import { ZkServer } from '../../src/systems/zab/zk-server.js';
import { createWireConnection, dialect_reply_timeout_ms, queued_requests_max } from '../../src/lib/zk-wire/connection.js';
import { sessionPassword } from '../../src/lib/zk-wire/dialect.js';
import { FrameSplitter } from '../../src/lib/zk-wire/frames.js';
import type { WireConnection, WireConnectionHost, WireServerState } from '../../src/lib/zk-wire/host.js';
import { JuteReader, JuteWriter } from '../../src/lib/zk-wire/jute.js';
import { err_codes, frame_bytes_max, op_codes } from '../../src/lib/zk-wire/protocol.js';
import {
  framed,
  readConnectResponse,
  readReplyBody,
  readReplyHeader,
  readWatcherEvent,
  requestFrame,
  writeConnectRequest,
  type ConnectResponse,
  type ReplyHeader,
  type WireReply,
  type WireRequest,
} from '../../src/lib/zk-wire/records.js';

const secret = new Uint8Array([7, 7, 7, 7]);
const open_acl = [{ perms: 31, scheme: 'world', id: 'anyone' }];
const stat = { czxid: '1:3', mzxid: '1:4', pzxid: '1:5', ctime: 10, mtime: 11, version: 2, cversion: 0, ephemeralOwner: null, dataLength: 2, numChildren: 0 };

interface Asked {
  body: MessageBody;
  resolve(reply: MessageBody): void;
  reject(error: Error): void;
}

/** A host whose dialect requests wait for the test to answer them. */
class ScriptedHost implements WireConnectionHost {
  readonly server: string;
  readonly client: string;
  readonly secret = secret;
  readonly tick_ms = 100;
  readonly asked: Asked[] = [];
  /** Answers each request at once when set (a real coordinator below); else the test answers. */
  serve: ((client: string, body: MessageBody) => Promise<MessageBody>) | null = null;
  readonly written: Uint8Array[] = [];
  readonly logs: string[] = [];
  closed = false;
  state: WireServerState = { up: true, role: 'leading', last_zxid: 0x100000004n, connections: 3, znodes: 12, sessions: 2 };
  private handler: ((body: MessageBody) => void) | null = null;
  private clock = 0;
  /** Answers each request at once when it returns a reply. */
  auto: ((body: MessageBody) => MessageBody | undefined) | null = null;

  constructor(server = 'n1', client = 'c9') {
    this.server = server;
    this.client = client;
  }

  request(body: Omit<MessageBody, 'msg_id'>): Promise<MessageBody> {
    if (this.serve !== null) return this.serve(this.client, body as MessageBody);
    return new Promise((resolve, reject) => {
      const reply = this.auto?.(body as MessageBody);
      if (reply !== undefined) resolve(reply);
      else this.asked.push({ body: body as MessageBody, resolve, reject });
    });
  }
  onUnasked(handler: (body: MessageBody) => void): void {
    this.handler = handler;
  }
  write(bytes: Uint8Array): void {
    expect(this.closed).toBe(false);
    this.written.push(bytes);
  }
  close(): void {
    this.closed = true;
  }
  serverState(): WireServerState {
    return this.state;
  }
  now(): number {
    return (this.clock += 1);
  }
  log(line: string): void {
    this.logs.push(line);
  }
  push(body: MessageBody): void {
    this.handler?.(body);
  }
  /** The oldest request not yet answered, answered with `reply`. */
  answer(reply: MessageBody): MessageBody {
    const next = this.asked.shift();
    if (next === undefined) throw new Error('no request is waiting');
    next.resolve(reply);
    return next.body;
  }
}

/** Lets the connection's promises run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** The client side: builds what a ZooKeeper client writes and reads what the server wrote back. */
class WireClient {
  readonly host: ScriptedHost;
  readonly conn: WireConnection;
  private read_at = 0;
  private readonly splitter = new FrameSplitter();
  private readonly frames: Uint8Array[] = [];

  constructor(host = new ScriptedHost()) {
    this.host = host;
    this.conn = createWireConnection(host);
  }

  sendConnect(fields: Partial<{ lastZxidSeen: bigint; timeOut: number; sessionId: bigint; passwd: Uint8Array; readOnly: boolean | null }> = {}): void {
    const w = writeConnectRequest(new JuteWriter(), {
      protocolVersion: 0,
      lastZxidSeen: fields.lastZxidSeen ?? 0n,
      timeOut: fields.timeOut ?? 4000,
      sessionId: fields.sessionId ?? 0n,
      passwd: fields.passwd ?? new Uint8Array(16),
      readOnly: fields.readOnly === undefined ? null : fields.readOnly,
    });
    this.conn.onBytes(framed(w.finish()));
  }

  send(xid: number, type: number, body: WireRequest): void {
    this.conn.onBytes(requestFrame(xid, type, body));
  }

  /** Frames written since the last call. */
  newFrames(): Uint8Array[] {
    for (; this.read_at < this.host.written.length; this.read_at++) {
      const r = this.splitter.push(this.host.written[this.read_at]!);
      expect(r.ok).toBe(true);
      this.frames.push(...r.frames);
    }
    return this.frames.splice(0);
  }

  connectResponse(): { response: ConnectResponse; bytes: number } {
    const [frame, ...rest] = this.newFrames();
    expect(rest).toEqual([]);
    expect(frame).toBeDefined();
    return { response: readConnectResponse(new JuteReader(frame!)), bytes: frame!.length };
  }

  replies(kind: WireReply['kind'] = 'empty'): Array<{ header: ReplyHeader; body: WireReply | null }> {
    return this.newFrames().map((f) => {
      const r = new JuteReader(f);
      const header = readReplyHeader(r);
      return { header, body: header.err === 0 && header.xid >= 0 ? readReplyBody(kind, r) : null };
    });
  }

  /** A new session s2.7 with a 4000 ms timeout, through the handshake. */
  async open(): Promise<void> {
    this.sendConnect();
    await settle();
    this.host.answer({ type: 'connect_ok', session: 's2.7', timeout_ms: 4000, server: 'n1', server_incarnation: 1, zxid: '1:2' });
    await settle();
    this.connectResponse();
  }
}

describe('the handshake', () => {
  it('opens a session from a ConnectRequest without the readOnly byte, and answers without one', async () => {
    const c = new WireClient();
    c.sendConnect({ timeOut: 30_000 });
    await settle();
    expect(c.host.asked.map((a) => a.body)).toEqual([{ type: 'connect', timeout_ms: 30_000, last_zxid_seen: '0:0' }]);
    c.host.answer({ type: 'connect_ok', session: 's2.7', timeout_ms: 2000, server: 'n1', server_incarnation: 1, zxid: '2:0' });
    await settle();
    const { response, bytes } = c.connectResponse();
    expect(bytes).toBe(36);
    expect(response).toEqual({ protocolVersion: 0, timeOut: 2000, sessionId: 0x200000007n, passwd: sessionPassword(secret, 0x200000007n), readOnly: null });
    expect(c.host.closed).toBe(false);
  });

  it('asks for a positive timeout when the client asks for none (ZooKeeper clamps it to its minimum)', async () => {
    const c = new WireClient();
    c.sendConnect({ timeOut: 0 });
    await settle();
    expect(c.host.asked[0]!.body).toMatchObject({ type: 'connect', timeout_ms: 1 });
  });

  it('answers a ConnectRequest with the readOnly byte with one (false: these servers are never read-only)', async () => {
    const c = new WireClient();
    c.sendConnect({ readOnly: true });
    await settle();
    c.host.answer({ type: 'connect_ok', session: 's2.8', timeout_ms: 4000, zxid: '2:0' });
    await settle();
    const { response, bytes } = c.connectResponse();
    expect(bytes).toBe(37);
    expect(response.readOnly).toBe(false);
    expect(response.sessionId).toBe(0x200000008n);
  });

  it('re-attaches a session with its password: the dialect connect names the session and the zxid the client saw', async () => {
    const c = new WireClient();
    c.sendConnect({ sessionId: 0x200000007n, passwd: sessionPassword(secret, 0x200000007n), lastZxidSeen: 0x100000009n });
    await settle();
    expect(c.host.asked[0]!.body).toEqual({ type: 'connect', timeout_ms: 4000, last_zxid_seen: '1:9', session: 's2.7' });
    c.host.answer({ type: 'connect_ok', session: 's2.7', timeout_ms: 6000, zxid: '3:1' });
    await settle();
    expect(c.connectResponse().response).toMatchObject({ timeOut: 6000, sessionId: 0x200000007n });
    // The reply headers carry the client's zxid until a reply says more (not the re-attach's own, whose watches are not set again yet).
    c.send(1, op_codes.exists, { op: 'read', type: op_codes.exists, path: '/a', watch: false });
    await settle();
    c.host.answer({ type: 'exists_ok', stat: null });
    await settle();
    expect(c.replies()[0]!.header).toEqual({ xid: 1, zxid: 0x100000009n, err: err_codes.NoNode });
  });

  it('answers a wrong password as an expired session: timeout 0, session 0, a zeroed password, then closes; the server is not asked', async () => {
    const c = new WireClient();
    c.sendConnect({ sessionId: 0x200000007n, passwd: sessionPassword(secret, 0x200000008n), readOnly: false });
    await settle();
    expect(c.host.asked).toEqual([]);
    expect(c.connectResponse().response).toEqual({ protocolVersion: 0, timeOut: 0, sessionId: 0n, passwd: new Uint8Array(16), readOnly: false });
    expect(c.host.closed).toBe(true);
    expect(c.host.logs).toEqual([expect.stringMatching(/wrong password/)]);
  });

  it('answers a session the server says is expired the same way', async () => {
    const c = new WireClient();
    c.sendConnect({ sessionId: 0x200000007n, passwd: sessionPassword(secret, 0x200000007n) });
    await settle();
    c.host.answer({ type: 'error', code: 14, zk_error: 'SessionExpired', text: 'session s2.7 is not open' });
    await settle();
    expect(c.connectResponse().response).toMatchObject({ timeOut: 0, sessionId: 0n });
    expect(c.host.closed).toBe(true);
  });

  it('closes without a word when the client has seen more than the server (ZxidAhead) or the server is not serving', async () => {
    for (const reply of [
      { type: 'error', code: 11, zk_error: 'ZxidAhead', text: 'n1 applied 1:3; the client saw 1:9' },
      { type: 'error', code: 11, zk_error: 'ConnectionLoss', text: 'n1 is not serving' },
    ]) {
      const c = new WireClient();
      c.sendConnect({ lastZxidSeen: 0x100000009n });
      await settle();
      c.host.answer(reply);
      await settle();
      expect(c.host.written).toEqual([]);
      expect(c.host.closed).toBe(true);
      expect(c.host.logs).toEqual([expect.stringContaining(reply.zk_error)]);
    }
  });

  it('closes when the first frame is not a ConnectRequest', () => {
    const c = new WireClient();
    c.conn.onBytes(framed(new Uint8Array([0, 0, 0, 0])));
    expect(c.host.closed).toBe(true);
    expect(c.host.logs).toEqual([expect.stringMatching(/not a ZooKeeper ConnectRequest/)]);
  });
});

describe('requests', () => {
  it('holds a read behind an earlier write until the write is answered, then sends the rest on; replies in request order', async () => {
    const c = new WireClient();
    await c.open();
    // Three requests in one chunk, split at odd places.
    const bytes = Buffer.concat([
      requestFrame(1, op_codes.create, { op: 'create', type: op_codes.create, path: '/a', data: new TextEncoder().encode('hi'), acl: open_acl, flags: 1 }),
      requestFrame(2, op_codes.getData, { op: 'read', type: op_codes.getData, path: '/a', watch: true }),
      requestFrame(3, op_codes.create2, { op: 'create', type: op_codes.create2, path: '/b', data: null, acl: open_acl, flags: 2 }),
    ]);
    c.conn.onBytes(bytes.subarray(0, 7));
    c.conn.onBytes(bytes.subarray(7));
    await settle();
    // A read after a write must see it: the read waits until the write is answered, and what follows the read waits too.
    expect(c.host.asked.map((a) => a.body)).toEqual([{ type: 'create', session: 's2.7', path: '/a', data: 'hi', ephemeral: true, sequential: false }]);
    c.host.answer({ type: 'create_ok', path: '/a', stat: { ...stat, ephemeralOwner: 's2.7' } });
    await settle();
    expect(c.host.asked.map((a) => a.body)).toEqual([
      { type: 'get_data', session: 's2.7', path: '/a', watch: true },
      { type: 'create', session: 's2.7', path: '/b', data: '', ephemeral: false, sequential: true },
    ]);
    // The create is answered first; its reply waits for the read's.
    c.host.asked.splice(1, 1)[0]!.resolve({ type: 'create_ok', path: '/b0000000003', stat: { ...stat, czxid: '1:7', mzxid: '1:7', pzxid: '1:7' } });
    await settle();
    expect(c.newFrames()).toHaveLength(1);
    c.host.answer({ type: 'get_data_ok', data: 'hi', stat });
    await settle();
    const frames = c.newFrames();
    expect(frames).toHaveLength(2);
    const parsed = frames.map((f, i) => {
      const r = new JuteReader(f);
      return { header: readReplyHeader(r), body: readReplyBody((['data_stat', 'path_stat'] as const)[i]!, r) };
    });
    expect(parsed.map((p) => p.header)).toEqual([
      { xid: 2, zxid: 0x100000007n, err: 0 },
      { xid: 3, zxid: 0x100000007n, err: 0 },
    ]);
    expect(parsed[0]!.body).toMatchObject({ kind: 'data_stat', data: new TextEncoder().encode('hi'), stat: { version: 2, dataLength: 2, mzxid: 0x100000004n } });
    expect(parsed[1]!.body).toMatchObject({ kind: 'path_stat', path: '/b0000000003', stat: { czxid: 0x100000007n } });
  });

  it('sends pipelined writes on together, and reads together, writing the replies in request order whatever order they come in', async () => {
    const c = new WireClient();
    await c.open();
    c.send(1, op_codes.setData, { op: 'setData', path: '/a', data: null, version: -1 });
    c.send(2, op_codes.delete, { op: 'delete', path: '/b', version: -1 });
    c.send(3, op_codes.sync, { op: 'sync', path: '/' });
    await settle();
    expect(c.host.asked.map((a) => a.body.type)).toEqual(['set_data', 'delete', 'sync']);
    c.host.asked[2]!.resolve({ type: 'sync_ok', zxid: '1:9' });
    c.host.asked[1]!.resolve({ type: 'delete_ok', path: '/b' });
    await settle();
    expect(c.newFrames()).toEqual([]);
    c.host.asked[0]!.resolve({ type: 'set_data_ok', stat });
    c.host.asked.length = 0;
    await settle();
    expect(c.replies().map((r) => r.header.xid)).toEqual([1, 2, 3]);

    c.send(4, op_codes.exists, { op: 'read', type: op_codes.exists, path: '/a', watch: false });
    c.send(5, op_codes.getChildren, { op: 'read', type: op_codes.getChildren, path: '/', watch: true });
    await settle();
    expect(c.host.asked.map((a) => a.body.type)).toEqual(['exists', 'get_children']);
    c.host.asked[1]!.resolve({ type: 'get_children_ok', children: ['a'], stat });
    c.host.asked[0]!.resolve({ type: 'exists_ok', stat });
    await settle();
    expect(c.replies().map((r) => r.header.xid)).toEqual([4, 5]);
  });

  it('answers a ping (xid -2) beside the queue, with the zxid the server gave', async () => {
    const c = new WireClient();
    await c.open();
    c.send(1, op_codes.setData, { op: 'setData', path: '/a', data: null, version: -1 });
    c.send(-2, op_codes.ping, { op: 'ping' });
    await settle();
    expect(c.host.asked.map((a) => a.body.type)).toEqual(['set_data', 'ping']);
    c.host.asked.splice(1, 1)[0]!.resolve({ type: 'ping_ok', session: 's2.7', server_incarnation: 1, zxid: '1:8' });
    await settle();
    expect(c.replies()).toEqual([{ header: { xid: -2, zxid: 0x100000008n, err: 0 }, body: null }]);
    c.host.answer({ type: 'set_data_ok', stat });
    await settle();
    expect(c.replies('stat').map((r) => r.header)).toEqual([{ xid: 1, zxid: 0x100000008n, err: 0 }]);
  });

  it('answers a ping sent during the handshake once the session is open', async () => {
    const c = new WireClient();
    c.sendConnect();
    c.send(-2, op_codes.ping, { op: 'ping' });
    await settle();
    expect(c.host.asked.map((a) => a.body.type)).toEqual(['connect']);
    c.host.answer({ type: 'connect_ok', session: 's2.7', timeout_ms: 4000, zxid: '1:2' });
    await settle();
    expect(c.host.answer({ type: 'ping_ok', session: 's2.7', server_incarnation: 1, zxid: '1:3' })).toEqual({ type: 'ping', session: 's2.7' });
    await settle();
    const [, ping] = c.newFrames();
    expect(readReplyHeader(new JuteReader(ping!))).toEqual({ xid: -2, zxid: 0x100000003n, err: 0 });
  });

  it('turns a watch_event into a notification: xid -1, SyncConnected, the event type and path', async () => {
    const c = new WireClient();
    await c.open();
    c.host.push({ type: 'watch_event', session: 's2.7', path: '/a', event: 'NodeDataChanged', zxid: '1:9' });
    c.host.push({ type: 'watch_event', session: 's9.9', path: '/other', event: 'NodeDeleted', zxid: '1:9' });
    c.host.push({ type: 'watch_event', session: 's2.7', path: '/a', event: 'NodeChildrenChanged', zxid: '1:10' });
    const events = c.newFrames().map((f) => {
      const r = new JuteReader(f);
      return { header: readReplyHeader(r), event: readWatcherEvent(r) };
    });
    expect(events).toEqual([
      { header: { xid: -1, zxid: -1n, err: 0 }, event: { type: 3, state: 3, path: '/a' } },
      { header: { xid: -1, zxid: -1n, err: 0 }, event: { type: 4, state: 3, path: '/a' } },
    ]);
  });

  it('answers an unknown opcode and reconfig Unimplemented (-6), a body that does not parse MarshallingError (-5), and stays open', async () => {
    const c = new WireClient();
    await c.open();
    c.conn.onBytes(framed(new JuteWriter().int(1).int(4242).int(99).finish()));
    c.conn.onBytes(framed(new JuteWriter().int(2).int(op_codes.reconfig).ustring('x').finish()));
    c.conn.onBytes(framed(new JuteWriter().int(3).int(op_codes.getData).ustring('/a').finish()));
    c.send(4, op_codes.createTTL, { op: 'create', type: op_codes.createTTL, path: '/t', data: null, acl: open_acl, flags: 5, ttl: 100n });
    c.send(5, op_codes.exists, { op: 'read', type: op_codes.exists, path: '/a', watch: false });
    await settle();
    c.host.answer({ type: 'exists_ok', stat });
    await settle();
    expect(c.replies('stat').map((r) => [r.header.xid, r.header.err])).toEqual([
      [1, err_codes.Unimplemented],
      [2, err_codes.Unimplemented],
      [3, err_codes.MarshallingError],
      [4, err_codes.Unimplemented],
      [5, 0],
    ]);
    expect(c.host.closed).toBe(false);
  });

  it('exists on a missing znode is NoNode on the wire, and the watch is asked for', async () => {
    const c = new WireClient();
    await c.open();
    c.send(1, op_codes.exists, { op: 'read', type: op_codes.exists, path: '/gone', watch: true });
    await settle();
    expect(c.host.answer({ type: 'exists_ok', stat: null })).toEqual({ type: 'exists', session: 's2.7', path: '/gone', watch: true });
    await settle();
    expect(c.replies()[0]!.header.err).toBe(err_codes.NoNode);
  });

  it("maps the dialect's error names onto ZooKeeper's codes", async () => {
    const c = new WireClient();
    await c.open();
    const names = ['NoNode', 'NodeExists', 'BadVersion', 'NotEmpty', 'NoChildrenForEphemerals', 'BadArguments', 'QuotaExceeded', 'NoWatcher'];
    for (const [i, name] of names.entries()) {
      c.send(i + 1, op_codes.delete, { op: 'delete', path: '/a', version: 1 });
      await settle();
      c.host.answer({ type: 'error', code: 22, zk_error: name, text: 'no' });
      await settle();
    }
    c.send(99, op_codes.delete, { op: 'delete', path: '/a', version: 1 });
    await settle();
    c.host.answer({ type: 'error', code: 10, text: 'not supported' });
    await settle();
    expect(c.replies().map((r) => r.header.err)).toEqual([-101, -110, -103, -111, -108, -8, -125, -121, -6]);
  });

  it('closes the connection, answering nothing more, when the server answers ConnectionLoss or does not answer', async () => {
    const c = new WireClient();
    await c.open();
    c.send(1, op_codes.setData, { op: 'setData', path: '/a', data: null, version: -1 });
    c.send(2, op_codes.exists, { op: 'read', type: op_codes.exists, path: '/a', watch: false });
    await settle();
    c.host.answer({ type: 'error', code: 13, zk_error: 'ConnectionLoss', text: 'n1 lost its leader with the request in flight' });
    await settle();
    expect(c.host.written).toHaveLength(1); // the connect response only
    expect(c.host.closed).toBe(true);
    expect(c.host.logs).toEqual([expect.stringMatching(/set_data with ConnectionLoss: n1 lost its leader/)]);

    const d = new WireClient();
    await d.open();
    d.send(1, op_codes.sync, { op: 'sync', path: '/' });
    await settle();
    d.host.asked.shift()!.reject(new Error(`no reply within ${dialect_reply_timeout_ms}ms`));
    await settle();
    expect(d.host.closed).toBe(true);
  });

  it('closes when the leader expires the session, and on SessionExpired after writing it', async () => {
    const c = new WireClient();
    await c.open();
    c.host.push({ type: 'session_expired', session: 's2.7' });
    expect(c.host.closed).toBe(true);

    const d = new WireClient();
    await d.open();
    d.send(1, op_codes.getChildren, { op: 'read', type: op_codes.getChildren, path: '/', watch: false });
    await settle();
    d.host.answer({ type: 'error', code: 14, zk_error: 'SessionExpired', text: 'gone' });
    await settle();
    expect(d.replies().map((r) => r.header.err)).toEqual([err_codes.SessionExpired]);
    expect(d.host.closed).toBe(true);
  });

  it('closeSession: close_session, its reply, then the close', async () => {
    const c = new WireClient();
    await c.open();
    c.send(1, op_codes.closeSession, { op: 'closeSession' });
    await settle();
    expect(c.host.answer({ type: 'close_session_ok', session: 's2.7' })).toEqual({ type: 'close_session', session: 's2.7' });
    await settle();
    expect(c.replies().map((r) => r.header.xid)).toEqual([1]);
    expect(c.host.closed).toBe(true);
  });

  it('setWatches (xid -8) becomes set_watches relative to the zxid the client gives', async () => {
    const c = new WireClient();
    await c.open();
    c.send(-8, op_codes.setWatches, { op: 'setWatches', type: op_codes.setWatches, relativeZxid: 0x100000009n, data: ['/a'], exist: ['/b'], child: ['/'], persistent: [], persistentRecursive: [] });
    await settle();
    expect(c.host.answer({ type: 'set_watches_ok', session: 's2.7', zxid: '1:12', fired: 0 })).toEqual({ type: 'set_watches', session: 's2.7', relative_zxid: '1:9', data: ['/a'], exist: ['/b'], child: ['/'] });
    await settle();
    expect(c.replies()[0]!.header).toEqual({ xid: -8, zxid: 0x10000000cn, err: 0 });
  });

  it('removeWatches and checkWatches become remove_watches and check_watches', async () => {
    const c = new WireClient();
    await c.open();
    c.send(1, op_codes.removeWatches, { op: 'watches', type: op_codes.removeWatches, path: '/a', watcherType: 2 });
    c.send(2, op_codes.checkWatches, { op: 'watches', type: op_codes.checkWatches, path: '/a', watcherType: 1 });
    await settle();
    expect(c.host.answer({ type: 'remove_watches_ok', path: '/a' })).toEqual({ type: 'remove_watches', session: 's2.7', path: '/a', watcher_type: 2 });
    await settle();
    expect(c.host.answer({ type: 'error', code: 20, zk_error: 'NoWatcher', text: 'none' })).toEqual({ type: 'check_watches', session: 's2.7', path: '/a', watcher_type: 1 });
    await settle();
    expect(c.replies().map((r) => r.header.err)).toEqual([0, err_codes.NoWatcher]);
  });

  it('ACLs: getACL gives the open ACL and the stat; an ACL other than the open one is InvalidACL without asking the server', async () => {
    const c = new WireClient();
    await c.open();
    c.send(1, op_codes.getACL, { op: 'getACL', path: '/a' });
    await settle();
    c.host.answer({ type: 'get_acl_ok', acl: [{ scheme: 'world', id: 'anyone', perms: 31 }], stat });
    await settle();
    const [acl] = c.replies('acl_stat');
    expect(acl!.body).toMatchObject({ kind: 'acl_stat', acl: open_acl, stat: { version: 2 } });
    const digest = [{ perms: 31, scheme: 'digest', id: 'u:hash' }];
    c.send(2, op_codes.setACL, { op: 'setACL', path: '/a', acl: digest, version: -1 });
    c.send(3, op_codes.create, { op: 'create', type: op_codes.create, path: '/b', data: null, acl: [{ perms: 1, scheme: 'world', id: 'anyone' }], flags: 0 });
    c.send(4, op_codes.setACL, { op: 'setACL', path: '/a', acl: open_acl, version: -1 });
    await settle();
    expect(c.host.answer({ type: 'set_acl_ok', stat: { ...stat, aversion: 1 } })).toEqual({ type: 'set_acl', session: 's2.7', path: '/a', acl: [{ scheme: 'world', id: 'anyone', perms: 31 }], version: -1 });
    await settle();
    const set = c.replies('stat');
    expect(set.map((r) => r.header.err)).toEqual([err_codes.InvalidACL, err_codes.InvalidACL, 0]);
    // The server's ACL version reaches the client's stat.
    expect(set[2]!.body).toMatchObject({ kind: 'stat', stat: { aversion: 1, version: 2 } });
  });

  it('create modes: a container by createContainer or the container flag, TTL modes Unimplemented, unknown flags BadArguments', async () => {
    const c = new WireClient();
    await c.open();
    const create = (xid: number, type: number, flags: number) => c.send(xid, type, { op: 'create', type: type as 1, path: '/k', data: null, acl: open_acl, flags });
    create(1, op_codes.create, 6);
    create(2, op_codes.create, 9);
    create(3, op_codes.createTTL, 0);
    create(4, op_codes.createContainer, 0);
    create(5, op_codes.create, 4);
    await settle();
    expect(c.host.answer({ type: 'create_ok', path: '/k', stat: { ...stat, container: true } })).toEqual({ type: 'create', session: 's2.7', path: '/k', data: '', container: true, ephemeral: false, sequential: false });
    await settle();
    expect(c.host.answer({ type: 'error', code: 21, zk_error: 'NodeExists', text: '/k' })).toMatchObject({ type: 'create', path: '/k', container: true });
    await settle();
    const replies = c.replies('path_stat');
    expect(replies.map((r) => r.header.err)).toEqual([err_codes.Unimplemented, err_codes.BadArguments, err_codes.BadArguments, 0, err_codes.NodeExists]);
    expect(replies[3]!.body).toMatchObject({ stat: { ephemeralOwner: -0x8000000000000000n } });
  });

  it('multi: the results of each op; a failed op gives per-op errors (Ok, its code, RuntimeInconsistency) under header err 0', async () => {
    const c = new WireClient();
    await c.open();
    const ops = [
      { type: op_codes.create, path: '/m', data: null, acl: open_acl, flags: 0 },
      { type: op_codes.check, path: '/x', version: 1 },
      { type: op_codes.setData, path: '/m', data: null, version: -1 },
    ] as const;
    c.send(1, op_codes.multi, { op: 'multi', ops: [...ops] });
    await settle();
    expect(c.host.answer({ type: 'multi_ok', results: [{ type: 'create', path: '/m', stat }, { type: 'check' }, { type: 'set_data', stat }] })).toEqual({
      type: 'multi',
      session: 's2.7',
      ops: [
        { type: 'create', path: '/m', data: '', ephemeral: false, sequential: false },
        { type: 'check', path: '/x', version: 1 },
        { type: 'set_data', path: '/m', data: '', version: -1 },
      ],
    });
    await settle();
    expect(c.replies('multi')[0]!.body).toMatchObject({ kind: 'multi', results: [{ type: 1, path: '/m' }, { type: 13 }, { type: 5, stat: { version: 2 } }] });

    c.send(2, op_codes.multi, { op: 'multi', ops: [...ops] });
    await settle();
    c.host.answer({ type: 'error', code: 20, zk_error: 'NoNode', text: '/x', results: [{ type: 'error', zk_error: 'Ok' }, { type: 'error', zk_error: 'NoNode' }, { type: 'error', zk_error: 'RuntimeInconsistency' }] });
    await settle();
    const [failed] = c.replies('multi');
    expect(failed!.header.err).toBe(0);
    expect(failed!.body).toEqual({ kind: 'multi', results: [{ type: -1, err: 0 }, { type: -1, err: -101 }, { type: -1, err: -2 }] });

    // An op this server cannot take fails the multi here, with the same shape, and the server is not asked.
    c.send(3, op_codes.multi, { op: 'multi', ops: [ops[0], { type: op_codes.createTTL, path: '/t', data: null, acl: open_acl, flags: 5, ttl: 9n }, ops[2]] });
    await settle();
    expect(c.host.asked).toEqual([]);
    expect(c.replies('multi')[0]!.body).toEqual({ kind: 'multi', results: [{ type: -1, err: 0 }, { type: -1, err: -6 }, { type: -1, err: -2 }] });
  });

  it('multiRead: each read on its own, an error in one leaving the others', async () => {
    const c = new WireClient();
    await c.open();
    c.send(1, op_codes.multiRead, { op: 'multiRead', ops: [{ type: op_codes.getData, path: '/a', watch: false }, { type: op_codes.getChildren, path: '/gone', watch: false }, { type: op_codes.getChildren, path: '/', watch: false }] });
    await settle();
    expect(c.host.answer({ type: 'multi_ok', results: [{ type: 'get_data', data: 'hi', stat }, { type: 'error', zk_error: 'NoNode' }, { type: 'get_children', children: ['a'] }] })).toEqual({
      type: 'multi',
      session: 's2.7',
      ops: [
        { type: 'get_data', path: '/a' },
        { type: 'get_children', path: '/gone' },
        { type: 'get_children', path: '/' },
      ],
    });
    await settle();
    expect(c.replies('multi')[0]!.body).toMatchObject({
      kind: 'multi',
      results: [{ type: 4, data: new TextEncoder().encode('hi'), stat: { version: 2 } }, { type: -1, err: err_codes.NoNode }, { type: 8, children: ['a'] }],
    });
  });

  it('auth: a digest identity is taken (xid -4, err 0); an unknown scheme fails AuthFailed and closes', async () => {
    const c = new WireClient();
    await c.open();
    c.send(-4, op_codes.auth, { op: 'auth', authType: 0, scheme: 'digest', auth: new TextEncoder().encode('u:p') });
    await settle();
    expect(c.replies()[0]!.header).toEqual({ xid: -4, zxid: 0n, err: 0 });
    c.send(-4, op_codes.auth, { op: 'auth', authType: 0, scheme: 'kerberos', auth: null });
    await settle();
    expect(c.replies()[0]!.header).toMatchObject({ xid: -4, err: err_codes.AuthFailed });
    expect(c.host.closed).toBe(true);
  });

  it('queues requests until the handshake is done', async () => {
    const c = new WireClient();
    c.sendConnect();
    c.send(1, op_codes.sync, { op: 'sync', path: '/' });
    await settle();
    expect(c.host.asked.map((a) => a.body.type)).toEqual(['connect']);
    c.host.answer({ type: 'connect_ok', session: 's2.7', timeout_ms: 4000, zxid: '1:2' });
    await settle();
    expect(c.host.answer({ type: 'sync_ok', zxid: '1:3' })).toEqual({ type: 'sync', session: 's2.7', path: '/' });
    await settle();
    const [connected, sync, ...more] = c.newFrames();
    expect(readConnectResponse(new JuteReader(connected!)).sessionId).toBe(0x200000007n);
    expect(more).toEqual([]);
    const r = new JuteReader(sync!);
    expect(readReplyHeader(r)).toEqual({ xid: 1, zxid: 0x100000003n, err: 0 });
    expect(readReplyBody('path', r)).toEqual({ kind: 'path', path: '/' });
  });
});

describe('limits and bad input', () => {
  it('a frame over jute.maxbuffer: one log line and the close', async () => {
    const c = new WireClient();
    await c.open();
    c.conn.onBytes(new JuteWriter().int(frame_bytes_max + 1).finish());
    expect(c.host.closed).toBe(true);
    expect(c.host.logs).toHaveLength(1);
    expect(c.host.logs[0]).toMatch(/^closed: a frame of 1048576 bytes/);
    expect(c.host.logs[0]).not.toMatch(/\n/);
    c.conn.onBytes(framed(new Uint8Array(8)));
    expect(c.host.logs).toHaveLength(1);
  });

  it(`more than queued_requests_max (${queued_requests_max}) requests waiting: the close, with a log line`, async () => {
    const c = new WireClient();
    await c.open();
    for (let i = 0; i <= queued_requests_max; i++) c.send(i + 1, op_codes.sync, { op: 'sync', path: '/' });
    expect(c.host.closed).toBe(true);
    expect(c.host.logs).toEqual([expect.stringMatching(/queued_requests_max/)]);
  });

  it('onServerDown closes', async () => {
    const c = new WireClient();
    await c.open();
    c.conn.onServerDown();
    expect(c.host.closed).toBe(true);
    expect(c.host.logs).toEqual([expect.stringMatching(/n1 is down/)]);
  });
});

describe('four-letter words', () => {
  async function word(w: string, host = new ScriptedHost('n4lw')): Promise<{ text: string; closed: boolean }> {
    const c = new WireClient(host);
    // Split as a client's write may arrive.
    c.conn.onBytes(new TextEncoder().encode(w.slice(0, 2)));
    c.conn.onBytes(new TextEncoder().encode(w.slice(2)));
    return { text: Buffer.concat(host.written).toString('utf8'), closed: host.closed };
  }

  it('ruok: imok and the close; nothing from a server that is down', async () => {
    expect(await word('ruok')).toEqual({ text: 'imok', closed: true });
    const down = new ScriptedHost('n4lw');
    down.state = { ...down.state, up: false };
    expect(await word('ruok', down)).toEqual({ text: '', closed: true });
  });

  it("srvr and stat: ZooKeeper's lines, with the mode, zxid and node count from the server's state", async () => {
    // A connection on the same server, so the counts have something in them.
    const host = new ScriptedHost('n4lw');
    const c = new WireClient(host);
    await c.open();
    const srvr = await word('srvr');
    expect(srvr.closed).toBe(true);
    const lines = srvr.text.split('\n');
    expect(lines[0]).toMatch(/^Zookeeper version: 3\.8\./);
    expect(lines).toContain('Zxid: 0x100000004');
    expect(lines).toContain('Mode: leader');
    expect(lines).toContain('Node count: 12');
    expect(lines).toContain('Connections: 3');
    expect(lines.some((l) => /^Latency min\/avg\/max: \d+\/[\d.]+\/\d+$/.test(l))).toBe(true);
    expect(lines.some((l) => /^Received: [1-9]\d*$/.test(l))).toBe(true);
    const stat_text = (await word('stat')).text;
    expect(stat_text).toMatch(/\nClients:\n \/c9\[1\]\(queued=0,recved=1,sent=1\)\n/);
    const follower = new ScriptedHost('n4lw');
    follower.state = { ...follower.state, role: 'following' };
    expect((await word('srvr', follower)).text).toMatch(/\nMode: follower\n/);
    const looking = new ScriptedHost('n4lw');
    looking.state = { ...looking.state, role: 'looking' };
    expect((await word('srvr', looking)).text).toBe('This ZooKeeper instance is not currently serving requests\n');
  });

  it('mntr: tab-separated zk_ lines', async () => {
    const text = (await word('mntr')).text;
    const rows = new Map(text.trim().split('\n').map((l) => l.split('\t') as [string, string]));
    expect(rows.get('zk_server_state')).toBe('leader');
    expect(rows.get('zk_znode_count')).toBe('12');
    expect(rows.get('zk_num_alive_connections')).toBe('3');
    expect([...rows.keys()].every((k) => k.startsWith('zk_'))).toBe(true);
  });

  it('isro: rw', async () => {
    expect((await word('isro')).text).toBe('rw');
  });
});

/**
 * A real coordinator in process: one Zab core and its ZkServer, alone in their ensemble (so every
 * write commits at once), serving the hosts of several wire connections.
 */
class InProcessCoordinator {
  private now = 0;
  private next_msg_id = 1;
  private readonly waiting = new Map<number, (reply: MessageBody) => void>();
  private readonly hosts = new Map<string, ScriptedHost>();
  private readonly server: ZkServer;
  private readonly core: ZabCore;

  constructor() {
    this.server = new ZkServer({ id: 'n1', incarnation: 1, tick_ms: 100, now: () => this.now, wall_now: () => 1_000_000 + this.now, send: (to, body) => this.deliver(to, body), propose: (txn) => this.core.propose(txn) });
    this.core = new ZabCore({ id: 'n1', servers: [{ id: 'n1', sid: 1, observer: false }], config: {}, random: () => 0.5, now_ms: 0, prepare: this.server.prepare });
    for (let i = 0; i < 5000 && !this.server.isServing; i++) {
      this.now += 1;
      this.core.tick(this.now);
      this.pump();
    }
    expect(this.server.isServing).toBe(true);
  }

  private pump(): void {
    while (this.core.hasReady()) this.server.onReady(this.core.ready());
  }

  private deliver(to: string, body: MessageBody): void {
    const id = body.in_reply_to;
    if (typeof id === 'number') {
      this.waiting.get(id)?.(body);
      this.waiting.delete(id);
    } else this.hosts.get(to)?.push(body);
  }

  /** A wire client whose connection's host asks this coordinator. */
  client(id: string): WireClient {
    const host = new ScriptedHost('n1', id);
    host.serve = (client, body) =>
      new Promise((resolve) => {
        const msg_id = this.next_msg_id++;
        this.waiting.set(msg_id, resolve);
        this.server.handleClient({ src: client, dest: 'n1', body: { ...body, msg_id } });
        this.pump();
      });
    this.hosts.set(id, host);
    return new WireClient(host);
  }
}

describe('against a real coordinator in process', () => {
  const data = (text: string) => new TextEncoder().encode(text);

  /** Sends one request and gives back its reply, parsed as `kind`, and the watch events that came before it. */
  async function call(c: WireClient, xid: number, type: number, body: WireRequest, kind: WireReply['kind'] = 'empty') {
    c.send(xid, type, body);
    await settle();
    const frames = c.newFrames();
    const events = frames.slice(0, -1).map((f) => {
      const r = new JuteReader(f);
      expect(readReplyHeader(r).xid).toBe(-1);
      return readWatcherEvent(r);
    });
    const r = new JuteReader(frames.at(-1)!);
    const header = readReplyHeader(r);
    expect(header.xid).toBe(xid);
    return { header, body: header.err === 0 ? readReplyBody(kind, r) : null, events };
  }

  async function connect(c: WireClient, fields: Parameters<WireClient['sendConnect']>[0] = {}): Promise<ConnectResponse> {
    c.sendConnect(fields);
    await settle();
    return c.connectResponse().response;
  }

  it('a session: ephemeral sequential creates, reads, watches fired by another connection, re-attach, close', async () => {
    const zk = new InProcessCoordinator();
    const a = zk.client('c1');
    const b = zk.client('c2');
    const session = await connect(a, { timeOut: 1500, readOnly: false });
    expect(session).toMatchObject({ timeOut: 1500, readOnly: false });
    expect(session.sessionId).not.toBe(0n);
    await connect(b);

    expect((await call(a, 1, op_codes.create, { op: 'create', type: op_codes.create, path: '/lock', data: null, acl: open_acl, flags: 0 }, 'path')).body).toEqual({ kind: 'path', path: '/lock' });
    const mine = await call(a, 2, op_codes.create2, { op: 'create', type: op_codes.create2, path: '/lock/n-', data: data('a'), acl: open_acl, flags: 3 }, 'path_stat');
    expect(mine.body).toMatchObject({ kind: 'path_stat', path: '/lock/n-0000000000', stat: { ephemeralOwner: session.sessionId, dataLength: 1, version: 0 } });
    // The reply header carries the write's zxid.
    expect(mine.header.zxid).toBe((mine.body as { stat: { czxid: bigint } }).stat.czxid);
    expect((await call(a, 3, op_codes.getChildren2, { op: 'read', type: op_codes.getChildren2, path: '/lock', watch: true }, 'children_stat')).body).toMatchObject({ children: ['n-0000000000'], stat: { numChildren: 1, cversion: 1 } });
    expect((await call(a, 4, op_codes.exists, { op: 'read', type: op_codes.exists, path: '/flag', watch: true })).header.err).toBe(err_codes.NoNode);
    expect((await call(a, 5, op_codes.getData, { op: 'read', type: op_codes.getData, path: '/lock/n-0000000000', watch: true }, 'data_stat')).body).toMatchObject({ data: data('a') });

    // Another connection's writes fire a's three watches, each once.
    await call(b, 1, op_codes.create, { op: 'create', type: op_codes.create, path: '/flag', data: null, acl: open_acl, flags: 0 }, 'path');
    await call(b, 2, op_codes.setData, { op: 'setData', path: '/lock/n-0000000000', data: data('bb'), version: 0 }, 'stat');
    await call(b, 3, op_codes.create, { op: 'create', type: op_codes.create, path: '/lock/x', data: null, acl: open_acl, flags: 0 }, 'path');
    expect((await call(b, 4, op_codes.delete, { op: 'delete', path: '/lock/x', version: 5 })).header.err).toBe(err_codes.BadVersion);
    expect((await call(b, 5, op_codes.delete, { op: 'delete', path: '/lock', version: -1 })).header.err).toBe(err_codes.NotEmpty);
    // a hears each after b's write is done (the next request's reply brings them here).
    const heard = (await call(a, 6, op_codes.sync, { op: 'sync', path: '/' }, 'path')).events;
    expect(heard).toEqual([
      { type: 1, state: 3, path: '/flag' },
      { type: 3, state: 3, path: '/lock/n-0000000000' },
      { type: 4, state: 3, path: '/lock' },
    ]);

    // a's client moves to a new connection with its id and password, and sets a watch again.
    const again = zk.client('c3');
    const reattached = await connect(again, { sessionId: session.sessionId, passwd: session.passwd!, lastZxidSeen: mine.header.zxid });
    expect(reattached).toMatchObject({ sessionId: session.sessionId, timeOut: 1500 });
    // The data changed after the zxid the client gave: that watch fires at once, before the reply; the other is set.
    const set = await call(again, -8, op_codes.setWatches, { op: 'setWatches', type: op_codes.setWatches, relativeZxid: mine.header.zxid, data: ['/lock/n-0000000000'], exist: ['/nothing'], child: [], persistent: [], persistentRecursive: [] });
    expect(set.header.err).toBe(0);
    expect(set.events).toEqual([{ type: 3, state: 3, path: '/lock/n-0000000000' }]);

    // Closing the session deletes its ephemeral; b sees it gone.
    await call(again, 9, op_codes.closeSession, { op: 'closeSession' });
    expect(again.host.closed).toBe(true);
    expect((await call(b, 6, op_codes.exists, { op: 'read', type: op_codes.exists, path: '/lock/n-0000000000', watch: false })).header.err).toBe(err_codes.NoNode);

    // The closed session cannot be re-attached: the expired answer.
    const late = zk.client('c4');
    expect(await connect(late, { sessionId: session.sessionId, passwd: session.passwd! })).toMatchObject({ timeOut: 0, sessionId: 0n });
    expect(late.host.closed).toBe(true);
  });
});
