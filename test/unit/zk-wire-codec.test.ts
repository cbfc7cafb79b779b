// ZooKeeper's jute encoding (src/lib/zk-wire/): the bytes of the records a client and a server
// exchange, checked against layouts written out by hand from zookeeper.jute (big-endian ints and
// longs, one-byte booleans, length-prefixed buffers and strings, count-prefixed vectors), round trips
// of every request and reply shape, and the frame splitter's limits.

import { describe, expect, it } from 'vitest';
import { sessionFromWire, sessionPassword, sessionToWire, statToWire, zxidFromWire, zxidToWire, container_ephemeral_owner } from '../../src/lib/zk-wire/dialect.js';
import { FrameSplitter } from '../../src/lib/zk-wire/frames.js';
import { JuteError, JuteReader, JuteWriter } from '../../src/lib/zk-wire/jute.js';
import { err_codes, frame_bytes_max, op_codes } from '../../src/lib/zk-wire/protocol.js';
import {
  framed,
  readConnectRequest,
  readConnectResponse,
  readReplyBody,
  readReplyHeader,
  readRequestBody,
  readRequestHeader,
  replyFrame,
  requestFrame,
  writeConnectRequest,
  writeConnectResponse,
  writeReplyHeader,
  writeWatcherEvent,
  readWatcherEvent,
  type Stat,
  type WireReply,
  type WireRequest,
} from '../../src/lib/zk-wire/records.js';

/** Bytes from hex written with spaces between fields. */
function hex(text: string): string {
  return text.replace(/\s+/g, '');
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

const open_acl = [{ perms: 31, scheme: 'world', id: 'anyone' }];

const stat: Stat = {
  czxid: 0x100000003n,
  mzxid: 0x100000004n,
  ctime: 1_700_000_000_000n,
  mtime: 1_700_000_000_500n,
  version: 2,
  cversion: 1,
  aversion: 0,
  ephemeralOwner: 0x200000007n,
  dataLength: 5,
  numChildren: 1,
  pzxid: 0x100000005n,
};

describe('jute primitives', () => {
  it('writes big-endian ints and longs, one-byte booleans, a null buffer as length -1, a vector as its count', () => {
    const w = new JuteWriter().int(-2).long(0x0102030405060708n).bool(true).bool(false).buffer(null).ustring('é').vector(['a', 'bc'], (x, s) => x.ustring(s));
    expect(toHex(w.finish())).toBe(hex('fffffffe 0102030405060708 01 00 ffffffff 00000002c3a9 00000002 0000000161 000000026263'));
  });

  it('reads what it wrote, and refuses to read past the frame', () => {
    const bytes = new JuteWriter().int(7).long(-1n).buffer(new Uint8Array([1, 2])).finish();
    const r = new JuteReader(bytes);
    expect([r.int(), r.long(), [...(r.buffer() ?? [])]]).toEqual([7, -1n, [1, 2]]);
    expect(() => r.int()).toThrow(JuteError);
    // A buffer claiming more than the frame holds, and a vector claiming more items than bytes.
    expect(() => new JuteReader(new JuteWriter().int(100).finish()).buffer()).toThrow(JuteError);
    expect(() => new JuteReader(new JuteWriter().int(1000).int(0).finish()).vector((x) => x.int())).toThrow(JuteError);
    expect(() => new JuteReader(new JuteWriter().buffer(new Uint8Array([0xff, 0xfe])).finish()).ustring()).toThrow(/UTF-8/);
  });
});

describe('the handshake', () => {
  const request = { protocolVersion: 0, lastZxidSeen: 0n, timeOut: 30_000, sessionId: 0n, passwd: new Uint8Array(16) };
  const layout = '00000000 0000000000000000 00007530 0000000000000000 00000010' + ' 00'.repeat(16);

  it('a ConnectRequest without the readOnly byte (Go clients, node-zookeeper-client) is 44 bytes', () => {
    const bytes = writeConnectRequest(new JuteWriter(), { ...request, readOnly: null }).finish();
    expect(toHex(bytes)).toBe(hex(layout));
    expect(toHex(framed(bytes))).toBe(hex('0000002c' + layout));
    expect(readConnectRequest(new JuteReader(bytes))).toEqual({ ...request, readOnly: null });
  });

  it('a ConnectRequest with it (Java, kazoo) is 45 bytes, the last the readOnly flag', () => {
    const bytes = writeConnectRequest(new JuteWriter(), { ...request, readOnly: true }).finish();
    expect(toHex(bytes)).toBe(hex(layout + ' 01'));
    expect(readConnectRequest(new JuteReader(bytes)).readOnly).toBe(true);
  });

  it('a ConnectResponse round-trips with and without readOnly', () => {
    const response = { protocolVersion: 0, timeOut: 4000, sessionId: 0x200000007n, passwd: new Uint8Array(16).fill(9), readOnly: null };
    const bytes = writeConnectResponse(new JuteWriter(), response).finish();
    expect(toHex(bytes.subarray(0, 16))).toBe(hex('00000000 00000fa0 0000000200000007'));
    expect(readConnectResponse(new JuteReader(bytes))).toEqual(response);
    expect(readConnectResponse(new JuteReader(writeConnectResponse(new JuteWriter(), { ...response, readOnly: false }).finish())).readOnly).toBe(false);
  });
});

describe('requests', () => {
  it('a create request: header, path, data, the open ACL, flags', () => {
    const frame = requestFrame(1, op_codes.create, { op: 'create', type: op_codes.create, path: '/a', data: new TextEncoder().encode('hi'), acl: open_acl, flags: 1 });
    const body = '00000001 00000001 00000002 2f61 00000002 6869 00000001 0000001f 00000005 776f726c64 00000006 616e796f6e65 00000001';
    expect(toHex(frame)).toBe(hex(`${(hex(body).length / 2).toString(16).padStart(8, '0')} ${body}`));
    const r = new JuteReader(frame.subarray(4));
    expect(readRequestHeader(r)).toEqual({ xid: 1, type: op_codes.create });
    expect(readRequestBody(op_codes.create, r)).toEqual({ op: 'create', type: 1, path: '/a', data: new TextEncoder().encode('hi'), acl: open_acl, flags: 1 });
  });

  it('a multi request: each op behind a MultiHeader {type, false, -1}, then {-1, true, -1}', () => {
    const frame = requestFrame(3, op_codes.multi, {
      op: 'multi',
      ops: [
        { type: op_codes.delete, path: '/a', version: -1 },
        { type: op_codes.check, path: '/b', version: 4 },
      ],
    });
    expect(toHex(frame.subarray(4))).toBe(hex('00000003 0000000e  00000002 00 ffffffff 00000002 2f61 ffffffff  0000000d 00 ffffffff 00000002 2f62 00000004  ffffffff 01 ffffffff'));
  });

  it('every request shape round-trips', () => {
    const data = new Uint8Array([1, 2, 3]);
    const cases: Array<[number, WireRequest]> = [
      [op_codes.create2, { op: 'create', type: op_codes.create2, path: '/x', data: null, acl: open_acl, flags: 3 }],
      [op_codes.createTTL, { op: 'create', type: op_codes.createTTL, path: '/x', data, acl: open_acl, flags: 5, ttl: 1000n }],
      [op_codes.delete, { op: 'delete', path: '/x', version: 3 }],
      [op_codes.exists, { op: 'read', type: op_codes.exists, path: '/x', watch: true }],
      [op_codes.getChildren2, { op: 'read', type: op_codes.getChildren2, path: '/x', watch: false }],
      [op_codes.setData, { op: 'setData', path: '/x', data, version: -1 }],
      [op_codes.getACL, { op: 'getACL', path: '/x' }],
      [op_codes.setACL, { op: 'setACL', path: '/x', acl: open_acl, version: 0 }],
      [op_codes.sync, { op: 'sync', path: '/' }],
      [op_codes.check, { op: 'check', path: '/x', version: 1 }],
      [op_codes.removeWatches, { op: 'watches', type: op_codes.removeWatches, path: '/x', watcherType: 3 }],
      [op_codes.setWatches, { op: 'setWatches', type: op_codes.setWatches, relativeZxid: 0x100000009n, data: ['/a'], exist: ['/b', '/c'], child: [], persistent: [], persistentRecursive: [] }],
      [op_codes.setWatches2, { op: 'setWatches', type: op_codes.setWatches2, relativeZxid: 5n, data: [], exist: [], child: ['/d'], persistent: ['/p'], persistentRecursive: ['/q'] }],
      [op_codes.auth, { op: 'auth', authType: 0, scheme: 'digest', auth: new TextEncoder().encode('u:p') }],
      [op_codes.multi, { op: 'multi', ops: [{ type: op_codes.create, path: '/m', data, acl: open_acl, flags: 0 }, { type: op_codes.setData, path: '/m', data, version: 0 }] }],
      [op_codes.multiRead, { op: 'multiRead', ops: [{ type: op_codes.getData, path: '/r', watch: false }, { type: op_codes.getChildren, path: '/', watch: false }] }],
      [op_codes.closeSession, { op: 'closeSession' }],
    ];
    for (const [type, body] of cases) {
      const r = new JuteReader(requestFrame(9, type, body).subarray(4));
      expect(readRequestHeader(r)).toEqual({ xid: 9, type });
      expect(readRequestBody(type, r)).toEqual(body);
      expect(r.remaining).toBe(0);
    }
  });

  it('a type it does not parse reads as null (answered Unimplemented); a short body throws', () => {
    expect(readRequestBody(op_codes.reconfig, new JuteReader(new Uint8Array(0)))).toBeNull();
    expect(readRequestBody(4242, new JuteReader(new Uint8Array(0)))).toBeNull();
    expect(() => readRequestBody(op_codes.getData, new JuteReader(new JuteWriter().ustring('/a').finish()))).toThrow(JuteError);
  });
});

describe('replies', () => {
  it('an error reply is the header alone: xid, zxid, err', () => {
    const frame = replyFrame({ xid: 5, zxid: 0x100000003n, err: err_codes.NoNode }, { kind: 'stat', stat });
    expect(toHex(frame)).toBe(hex('00000010 00000005 0000000100000003 ffffff9b'));
  });

  it('a notification: xid -1, zxid -1, err 0, then WatcherEvent {type, state, path}', () => {
    const w = writeReplyHeader(new JuteWriter(), { xid: -1, zxid: -1n, err: 0 });
    const bytes = writeWatcherEvent(w, { type: 3, state: 3, path: '/a' }).finish();
    expect(toHex(bytes)).toBe(hex('ffffffff ffffffffffffffff 00000000 00000003 00000003 00000002 2f61'));
    const r = new JuteReader(bytes);
    readReplyHeader(r);
    expect(readWatcherEvent(r)).toEqual({ type: 3, state: 3, path: '/a' });
  });

  it('a stat is 68 bytes in jute order: czxid mzxid ctime mtime version cversion aversion ephemeralOwner dataLength numChildren pzxid', () => {
    const frame = replyFrame({ xid: 1, zxid: 0n, err: 0 }, { kind: 'stat', stat });
    const body = toHex(frame.subarray(4 + 16));
    expect(body).toBe(
      hex('0000000100000003 0000000100000004 0000018bcfe56800 0000018bcfe569f4 00000002 00000001 00000000 0000000200000007 00000005 00000001 0000000100000005'),
    );
  });

  it('a failed multi: header err 0, each op an ErrorResult (Ok before the failed op, its code, RuntimeInconsistency after)', () => {
    const frame = replyFrame(
      { xid: 2, zxid: 0n, err: 0 },
      {
        kind: 'multi',
        results: [
          { type: -1, err: 0 },
          { type: -1, err: err_codes.NoNode },
          { type: -1, err: err_codes.RuntimeInconsistency },
        ],
      },
    );
    expect(toHex(frame.subarray(4 + 16))).toBe(hex('ffffffff 00 00000000 00000000  ffffffff 00 ffffff9b ffffff9b  ffffffff 00 fffffffe fffffffe  ffffffff 01 ffffffff'));
  });

  it('every reply shape round-trips', () => {
    const cases: WireReply[] = [
      { kind: 'empty' },
      { kind: 'path', path: '/a0000000001' },
      { kind: 'path_stat', path: '/a', stat },
      { kind: 'stat', stat },
      { kind: 'data_stat', data: new Uint8Array([104, 105]), stat },
      { kind: 'children', children: ['a', 'b'] },
      { kind: 'children_stat', children: [], stat },
      { kind: 'acl_stat', acl: open_acl, stat },
      {
        kind: 'multi',
        results: [
          { type: op_codes.create, path: '/a' },
          { type: op_codes.create2, path: '/b', stat },
          { type: op_codes.delete },
          { type: op_codes.setData, stat },
          { type: op_codes.check },
          { type: op_codes.getData, data: new Uint8Array([1]), stat },
          { type: op_codes.getChildren, children: ['c'] },
          { type: op_codes.error, err: err_codes.NoNode },
        ],
      },
    ];
    for (const body of cases) {
      const r = new JuteReader(replyFrame({ xid: 1, zxid: 7n, err: 0 }, body).subarray(4));
      expect(readReplyHeader(r)).toEqual({ xid: 1, zxid: 7n, err: 0 });
      expect(readReplyBody(body.kind, r)).toEqual(body);
      expect(r.remaining).toBe(0);
    }
  });
});

describe('frames', () => {
  it('cuts frames however the stream is split, and holds a partial one', () => {
    const frames = [framed(new Uint8Array([1])), framed(new Uint8Array([2, 3])), framed(new Uint8Array(0))];
    const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of frames) {
      stream.set(f, at);
      at += f.length;
    }
    const splitter = new FrameSplitter();
    const got: number[][] = [];
    for (const byte of stream) {
      const r = splitter.push(new Uint8Array([byte]));
      expect(r.ok).toBe(true);
      got.push(...r.frames.map((f) => [...f]));
    }
    expect(got).toEqual([[1], [2, 3], []]);
    expect(new FrameSplitter().push(stream).frames.map((f) => [...f])).toEqual([[1], [2, 3], []]);
  });

  it("refuses a negative length or one over jute.maxbuffer (0xfffff), keeping the frames before it", () => {
    const over = new Uint8Array(8);
    new DataView(over.buffer).setInt32(4, frame_bytes_max + 1);
    over.set(framed(new Uint8Array(0)), 0);
    const r = new FrameSplitter().push(over);
    expect(r.ok).toBe(false);
    expect(r.frames).toHaveLength(1);
    if (!r.ok) expect(r.reason).toMatch(/1048576 bytes.*jute.maxbuffer/);
    expect(new FrameSplitter().push(new Uint8Array([0xff, 0xff, 0xff, 0xfb])).ok).toBe(false);
    // A frame of exactly the limit is accepted.
    const at_limit = new Uint8Array(4);
    new DataView(at_limit.buffer).setInt32(0, frame_bytes_max);
    expect(new FrameSplitter().push(at_limit).ok).toBe(true);
  });
});

describe('the dialect and the wire name the same things', () => {
  it('session ids: s<epoch hex>.<counter hex> is epoch << 32 | counter', () => {
    expect(sessionToWire('s2.7')).toBe(0x200000007n);
    expect(sessionToWire('sffffffff.1')).toBe(-0xffffffffn);
    expect(sessionFromWire(sessionToWire('sffffffff.1')!)).toBe('sffffffff.1');
    expect(sessionFromWire(0x1a0000002bn)).toBe('s1a.2b');
    expect(sessionToWire('2.7')).toBeNull();
  });

  it('zxids: epoch:counter is epoch << 32 | counter', () => {
    expect(zxidToWire('1:3')).toBe(0x100000003n);
    expect(zxidFromWire(0x100000003n)).toBe('1:3');
    expect(zxidFromWire(-1n)).toBe('0:0');
    expect(zxidToWire('4294967296:0')).toBeNull();
  });

  it("a stat: the owner's session id, a container's owner as ZooKeeper 3.6+ reports it, the ACL version", () => {
    const s = { czxid: '1:3', mzxid: '1:4', pzxid: '1:5', ctime: 10, mtime: 11, version: 2, cversion: 1, aversion: 0, ephemeralOwner: 's2.7', dataLength: 5, numChildren: 1 };
    expect(statToWire(s)).toEqual({ ...stat, ctime: 10n, mtime: 11n });
    expect(statToWire({ ...s, aversion: 3 })).toEqual({ ...stat, ctime: 10n, mtime: 11n, aversion: 3 });
    expect(statToWire({ ...s, ephemeralOwner: null }).ephemeralOwner).toBe(0n);
    expect(statToWire({ ...s, ephemeralOwner: null, container: true }).ephemeralOwner).toBe(container_ephemeral_owner);
    expect(container_ephemeral_owner).toBe(BigInt.asIntN(64, 0x8000000000000000n));
  });

  it('a session password is 16 bytes, the same for the same secret and id, different for another id or secret', () => {
    const secret = new Uint8Array([1, 2, 3]);
    const p = sessionPassword(secret, 5n);
    expect(p).toHaveLength(16);
    expect(toHex(sessionPassword(secret, 5n))).toBe(toHex(p));
    expect(toHex(sessionPassword(secret, 6n))).not.toBe(toHex(p));
    expect(toHex(sessionPassword(new Uint8Array([9]), 5n))).not.toBe(toHex(p));
  });
});
