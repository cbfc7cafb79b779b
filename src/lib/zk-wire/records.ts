// The records of ZooKeeper's client protocol (its zookeeper.jute definitions) and how each travels:
// the handshake, the request and reply headers, stat, ACL, watch events, each request type's body and
// each reply's body, multi's framing. Both directions are here, so a test (or a client) can build what
// a server parses and parse what it writes. Pure.

import { JuteError, JuteReader, JuteWriter } from './jute.js';
import { op_codes } from './protocol.js';

// ---- the handshake ------------------------------------------------------------------------------

export interface ConnectRequest {
  protocolVersion: number;
  lastZxidSeen: bigint;
  timeOut: number;
  sessionId: bigint;
  passwd: Uint8Array | null;
  /** null: the client sent no readOnly byte (Go clients, node-zookeeper-client); Java and kazoo send it. */
  readOnly: boolean | null;
}

export interface ConnectResponse {
  protocolVersion: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Uint8Array | null;
  /** null: not written (a server writes it only to a client that sent one). */
  readOnly: boolean | null;
}

export function writeConnectRequest(w: JuteWriter, r: ConnectRequest): JuteWriter {
  w.int(r.protocolVersion).long(r.lastZxidSeen).int(r.timeOut).long(r.sessionId).buffer(r.passwd);
  if (r.readOnly !== null) w.bool(r.readOnly);
  return w;
}

export function readConnectRequest(r: JuteReader): ConnectRequest {
  const request: ConnectRequest = { protocolVersion: r.int(), lastZxidSeen: r.long(), timeOut: r.int(), sessionId: r.long(), passwd: r.buffer(), readOnly: null };
  if (r.remaining > 0) request.readOnly = r.bool();
  return request;
}

export function writeConnectResponse(w: JuteWriter, r: ConnectResponse): JuteWriter {
  w.int(r.protocolVersion).int(r.timeOut).long(r.sessionId).buffer(r.passwd);
  if (r.readOnly !== null) w.bool(r.readOnly);
  return w;
}

export function readConnectResponse(r: JuteReader): ConnectResponse {
  const response: ConnectResponse = { protocolVersion: r.int(), timeOut: r.int(), sessionId: r.long(), passwd: r.buffer(), readOnly: null };
  if (r.remaining > 0) response.readOnly = r.bool();
  return response;
}

// ---- headers ------------------------------------------------------------------------------------

export interface RequestHeader {
  xid: number;
  type: number;
}

export interface ReplyHeader {
  xid: number;
  zxid: bigint;
  err: number;
}

export function readRequestHeader(r: JuteReader): RequestHeader {
  return { xid: r.int(), type: r.int() };
}

export function writeReplyHeader(w: JuteWriter, h: ReplyHeader): JuteWriter {
  return w.int(h.xid).long(h.zxid).int(h.err);
}

export function readReplyHeader(r: JuteReader): ReplyHeader {
  return { xid: r.int(), zxid: r.long(), err: r.int() };
}

// ---- shared records -----------------------------------------------------------------------------

export interface Stat {
  czxid: bigint;
  mzxid: bigint;
  ctime: bigint;
  mtime: bigint;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  pzxid: bigint;
}

export function writeStat(w: JuteWriter, s: Stat): JuteWriter {
  return w.long(s.czxid).long(s.mzxid).long(s.ctime).long(s.mtime).int(s.version).int(s.cversion).int(s.aversion).long(s.ephemeralOwner).int(s.dataLength).int(s.numChildren).long(s.pzxid);
}

export function readStat(r: JuteReader): Stat {
  return { czxid: r.long(), mzxid: r.long(), ctime: r.long(), mtime: r.long(), version: r.int(), cversion: r.int(), aversion: r.int(), ephemeralOwner: r.long(), dataLength: r.int(), numChildren: r.int(), pzxid: r.long() };
}

export interface Acl {
  perms: number;
  scheme: string;
  id: string;
}

function writeAcl(w: JuteWriter, a: Acl): void {
  w.int(a.perms).ustring(a.scheme).ustring(a.id);
}

function readAcl(r: JuteReader): Acl {
  return { perms: r.int(), scheme: r.text('an ACL scheme'), id: r.text('an ACL id') };
}

export interface WatcherEvent {
  type: number;
  state: number;
  path: string;
}

export function writeWatcherEvent(w: JuteWriter, e: WatcherEvent): JuteWriter {
  return w.int(e.type).int(e.state).ustring(e.path);
}

export function readWatcherEvent(r: JuteReader): WatcherEvent {
  return { type: r.int(), state: r.int(), path: r.ustring() ?? '' };
}

// ---- request bodies -----------------------------------------------------------------------------

/** A create of any kind: create, create2, createContainer (CreateRequest) or createTTL (CreateTTLRequest). */
export interface CreateBody {
  path: string;
  data: Uint8Array | null;
  acl: Acl[];
  flags: number;
  /** createTTL only. */
  ttl?: bigint;
}

export type MultiOp =
  | ({ type: typeof op_codes.create | typeof op_codes.create2 | typeof op_codes.createContainer | typeof op_codes.createTTL } & CreateBody)
  | { type: typeof op_codes.delete; path: string; version: number }
  | { type: typeof op_codes.setData; path: string; data: Uint8Array | null; version: number }
  | { type: typeof op_codes.check; path: string; version: number };

/** A read in a multiRead (GetDataRequest or GetChildrenRequest; their watch flags set no watch). */
export interface MultiReadOp {
  type: typeof op_codes.getData | typeof op_codes.getChildren;
  path: string;
  watch: boolean;
}

export type WireRequest =
  | ({ op: 'create'; type: MultiOp['type'] } & CreateBody)
  | { op: 'delete'; path: string; version: number }
  | { op: 'read'; type: typeof op_codes.exists | typeof op_codes.getData | typeof op_codes.getChildren | typeof op_codes.getChildren2; path: string; watch: boolean }
  | { op: 'setData'; path: string; data: Uint8Array | null; version: number }
  | { op: 'getACL'; path: string }
  | { op: 'setACL'; path: string; acl: Acl[]; version: number }
  | { op: 'sync'; path: string }
  | { op: 'check'; path: string; version: number }
  | { op: 'multi'; ops: MultiOp[] }
  /** multiRead: reads only, each answered on its own. */
  | { op: 'multiRead'; ops: MultiReadOp[] }
  | { op: 'watches'; type: typeof op_codes.checkWatches | typeof op_codes.removeWatches; path: string; watcherType: number }
  | { op: 'setWatches'; type: typeof op_codes.setWatches | typeof op_codes.setWatches2; relativeZxid: bigint; data: string[]; exist: string[]; child: string[]; persistent: string[]; persistentRecursive: string[] }
  | { op: 'auth'; authType: number; scheme: string; auth: Uint8Array | null }
  | { op: 'ping' }
  | { op: 'closeSession' };

const create_types: ReadonlySet<number> = new Set([op_codes.create, op_codes.create2, op_codes.createContainer, op_codes.createTTL]);
const read_types: ReadonlySet<number> = new Set([op_codes.exists, op_codes.getData, op_codes.getChildren, op_codes.getChildren2]);

function readCreate(r: JuteReader, type: number): CreateBody {
  const body: CreateBody = { path: r.text('the path'), data: r.buffer(), acl: r.vector(readAcl) ?? [], flags: r.int() };
  if (type === op_codes.createTTL) body.ttl = r.long();
  return body;
}

function writeCreate(w: JuteWriter, type: number, c: CreateBody): void {
  w.ustring(c.path).buffer(c.data).vector(c.acl, writeAcl).int(c.flags);
  if (type === op_codes.createTTL) w.long(c.ttl ?? 0n);
}

function readStrings(r: JuteReader): string[] {
  return r.vector((x) => x.text('a path')) ?? [];
}

function writeStrings(w: JuteWriter, items: readonly string[]): void {
  w.vector(items, (x, s) => x.ustring(s));
}

/** The body of a request of type `type`; null for a type this server does not parse (answered Unimplemented). */
export function readRequestBody(type: number, r: JuteReader): WireRequest | null {
  if (create_types.has(type)) return { op: 'create', type: type as MultiOp['type'], ...readCreate(r, type) };
  if (read_types.has(type)) return { op: 'read', type: type as 3 | 4 | 8 | 12, path: r.text('the path'), watch: r.bool() };
  switch (type) {
    case op_codes.delete:
      return { op: 'delete', path: r.text('the path'), version: r.int() };
    case op_codes.setData:
      return { op: 'setData', path: r.text('the path'), data: r.buffer(), version: r.int() };
    case op_codes.getACL:
      return { op: 'getACL', path: r.text('the path') };
    case op_codes.setACL:
      return { op: 'setACL', path: r.text('the path'), acl: r.vector(readAcl) ?? [], version: r.int() };
    case op_codes.sync:
      return { op: 'sync', path: r.text('the path') };
    case op_codes.check:
      return { op: 'check', path: r.text('the path'), version: r.int() };
    case op_codes.multi:
      return { op: 'multi', ops: readMultiOps(r) };
    case op_codes.multiRead:
      return { op: 'multiRead', ops: readMultiReadOps(r) };
    case op_codes.checkWatches:
    case op_codes.removeWatches:
      return { op: 'watches', type, path: r.text('the path'), watcherType: r.int() };
    case op_codes.setWatches:
    case op_codes.setWatches2: {
      const relativeZxid = r.long();
      const data = readStrings(r);
      const exist = readStrings(r);
      const child = readStrings(r);
      const two = type === op_codes.setWatches2;
      return { op: 'setWatches', type, relativeZxid, data, exist, child, persistent: two ? readStrings(r) : [], persistentRecursive: two ? readStrings(r) : [] };
    }
    case op_codes.auth:
      return { op: 'auth', authType: r.int(), scheme: r.text('the scheme'), auth: r.buffer() };
    case op_codes.ping:
      return { op: 'ping' };
    case op_codes.closeSession:
      return { op: 'closeSession' };
    default:
      return null;
  }
}

/** A request's body as a client writes it (the inverse of readRequestBody). */
export function writeRequestBody(w: JuteWriter, type: number, q: WireRequest): JuteWriter {
  switch (q.op) {
    case 'create':
      writeCreate(w, type, q);
      break;
    case 'read':
      w.ustring(q.path).bool(q.watch);
      break;
    case 'delete':
    case 'check':
      w.ustring(q.path).int(q.version);
      break;
    case 'setData':
      w.ustring(q.path).buffer(q.data).int(q.version);
      break;
    case 'getACL':
    case 'sync':
      w.ustring(q.path);
      break;
    case 'setACL':
      w.ustring(q.path).vector(q.acl, writeAcl).int(q.version);
      break;
    case 'multi':
      writeMultiOps(w, q.ops);
      break;
    case 'multiRead':
      for (const op of q.ops) w.int(op.type).bool(false).int(-1).ustring(op.path).bool(op.watch);
      w.int(-1).bool(true).int(-1);
      break;
    case 'watches':
      w.ustring(q.path).int(q.watcherType);
      break;
    case 'setWatches':
      w.long(q.relativeZxid);
      for (const list of [q.data, q.exist, q.child]) writeStrings(w, list);
      if (type === op_codes.setWatches2) for (const list of [q.persistent, q.persistentRecursive]) writeStrings(w, list);
      break;
    case 'auth':
      w.int(q.authType).ustring(q.scheme).buffer(q.auth);
      break;
    case 'ping':
    case 'closeSession':
      break;
  }
  return w;
}

// ---- multi --------------------------------------------------------------------------------------

/** Ops one multi may carry; a longer one is refused as malformed (the frame limit bounds it anyway). */
export const multi_ops_max = 10_000;

/** Each op is a MultiHeader {type, done false, err -1} and its request; a header with done true ends the list. */
function readMultiOps(r: JuteReader): MultiOp[] {
  const ops: MultiOp[] = [];
  for (;;) {
    const type = r.int();
    const done = r.bool();
    r.int(); // err: -1 in a request
    if (done) return ops;
    if (ops.length >= multi_ops_max) throw new JuteError(`a multi of more than ${multi_ops_max} ops`);
    if (create_types.has(type)) ops.push({ type: type as 1 | 15 | 19 | 21, ...readCreate(r, type) });
    else if (type === op_codes.delete || type === op_codes.check) ops.push({ type, path: r.text('the path'), version: r.int() });
    else if (type === op_codes.setData) ops.push({ type, path: r.text('the path'), data: r.buffer(), version: r.int() });
    else throw new JuteError(`a multi op of type ${type}`);
  }
}

function readMultiReadOps(r: JuteReader): MultiReadOp[] {
  const ops: MultiReadOp[] = [];
  for (;;) {
    const type = r.int();
    const done = r.bool();
    r.int();
    if (done) return ops;
    if (ops.length >= multi_ops_max) throw new JuteError(`a multiRead of more than ${multi_ops_max} ops`);
    if (type !== op_codes.getData && type !== op_codes.getChildren) throw new JuteError(`a multiRead op of type ${type}`);
    ops.push({ type, path: r.text('the path'), watch: r.bool() });
  }
}

function writeMultiOps(w: JuteWriter, ops: readonly MultiOp[]): void {
  for (const op of ops) {
    w.int(op.type).bool(false).int(-1);
    if (op.type === op_codes.delete || op.type === op_codes.check) w.ustring(op.path).int(op.version);
    else if (op.type === op_codes.setData) w.ustring(op.path).buffer(op.data).int(op.version);
    else writeCreate(w, op.type, op);
  }
  w.int(-1).bool(true).int(-1);
}

/** One op's result: a create's path (create) or path and stat (create2), a set's stat, nothing, or an error (type -1). */
export type MultiResult =
  | { type: typeof op_codes.create; path: string }
  | { type: typeof op_codes.create2; path: string; stat: Stat }
  | { type: typeof op_codes.delete | typeof op_codes.check }
  | { type: typeof op_codes.setData; stat: Stat }
  | { type: typeof op_codes.getData; data: Uint8Array | null; stat: Stat }
  | { type: typeof op_codes.getChildren; children: string[] }
  | { type: typeof op_codes.error; err: number };

function writeMultiResults(w: JuteWriter, results: readonly MultiResult[]): void {
  for (const x of results) {
    w.int(x.type).bool(false).int(x.type === op_codes.error ? x.err : 0);
    if (x.type === op_codes.create) w.ustring(x.path);
    else if (x.type === op_codes.create2) writeStat(w.ustring(x.path), x.stat);
    else if (x.type === op_codes.setData) writeStat(w, x.stat);
    else if (x.type === op_codes.getData) writeStat(w.buffer(x.data), x.stat);
    else if (x.type === op_codes.getChildren) writeStrings(w, x.children);
    else if (x.type === op_codes.error) w.int(x.err);
  }
  w.int(-1).bool(true).int(-1);
}

function readMultiResults(r: JuteReader): MultiResult[] {
  const results: MultiResult[] = [];
  for (;;) {
    const type = r.int();
    const done = r.bool();
    r.int();
    if (done) return results;
    if (results.length >= multi_ops_max) throw new JuteError(`a multi of more than ${multi_ops_max} results`);
    if (type === op_codes.create) results.push({ type, path: r.text('the path') });
    else if (type === op_codes.create2) results.push({ type, path: r.text('the path'), stat: readStat(r) });
    else if (type === op_codes.delete || type === op_codes.check) results.push({ type });
    else if (type === op_codes.setData) results.push({ type, stat: readStat(r) });
    else if (type === op_codes.getData) results.push({ type, data: r.buffer(), stat: readStat(r) });
    else if (type === op_codes.getChildren) results.push({ type, children: readStrings(r) });
    else if (type === op_codes.error) results.push({ type, err: r.int() });
    else throw new JuteError(`a multi result of type ${type}`);
  }
}

// ---- reply bodies -------------------------------------------------------------------------------

export type WireReply =
  | { kind: 'empty' }
  /** CreateResponse, SyncResponse. */
  | { kind: 'path'; path: string }
  /** Create2Response. */
  | { kind: 'path_stat'; path: string; stat: Stat }
  /** ExistsResponse, SetDataResponse, SetACLResponse. */
  | { kind: 'stat'; stat: Stat }
  | { kind: 'data_stat'; data: Uint8Array | null; stat: Stat }
  | { kind: 'children'; children: string[] }
  | { kind: 'children_stat'; children: string[]; stat: Stat }
  | { kind: 'acl_stat'; acl: Acl[]; stat: Stat }
  | { kind: 'multi'; results: MultiResult[] };

export function writeReplyBody(w: JuteWriter, b: WireReply): JuteWriter {
  switch (b.kind) {
    case 'empty':
      break;
    case 'path':
      w.ustring(b.path);
      break;
    case 'path_stat':
      writeStat(w.ustring(b.path), b.stat);
      break;
    case 'stat':
      writeStat(w, b.stat);
      break;
    case 'data_stat':
      writeStat(w.buffer(b.data), b.stat);
      break;
    case 'children':
      writeStrings(w, b.children);
      break;
    case 'children_stat':
      writeStrings(w, b.children);
      writeStat(w, b.stat);
      break;
    case 'acl_stat':
      writeStat(w.vector(b.acl, writeAcl), b.stat);
      break;
    case 'multi':
      writeMultiResults(w, b.results);
      break;
  }
  return w;
}

/** A reply's body as a client reads it, knowing which kind it asked for. */
export function readReplyBody(kind: WireReply['kind'], r: JuteReader): WireReply {
  switch (kind) {
    case 'empty':
      return { kind };
    case 'path':
      return { kind, path: r.text('the path') };
    case 'path_stat':
      return { kind, path: r.text('the path'), stat: readStat(r) };
    case 'stat':
      return { kind, stat: readStat(r) };
    case 'data_stat':
      return { kind, data: r.buffer(), stat: readStat(r) };
    case 'children':
      return { kind, children: readStrings(r) };
    case 'children_stat':
      return { kind, children: readStrings(r), stat: readStat(r) };
    case 'acl_stat':
      return { kind, acl: r.vector(readAcl) ?? [], stat: readStat(r) };
    case 'multi':
      return { kind, results: readMultiResults(r) };
  }
}

// ---- frames -------------------------------------------------------------------------------------

/** A frame: the int length of what follows, then it. */
export function framed(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setInt32(0, payload.length);
  out.set(payload, 4);
  return out;
}

/** A reply frame: header, then body (none for an error, as ZooKeeper writes them). */
export function replyFrame(header: ReplyHeader, body: WireReply): Uint8Array {
  const w = writeReplyHeader(new JuteWriter(), header);
  if (header.err === 0) writeReplyBody(w, body);
  return framed(w.finish());
}

/** A request frame, as a client writes it. */
export function requestFrame(xid: number, type: number, body: WireRequest): Uint8Array {
  const w = new JuteWriter().int(xid).int(type);
  return framed(writeRequestBody(w, type, body).finish());
}
