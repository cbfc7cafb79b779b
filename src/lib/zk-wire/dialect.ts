// How the coordinator's JSON client dialect (docs/zab.md, "Client messages") and ZooKeeper's wire
// protocol name the same things: session ids, zxids, stats, error names, session passwords. Pure.

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { MessageBody } from '../protocol/messages.js';
import { err_codes, session_password_bytes, type ErrName } from './protocol.js';
import type { Stat } from './records.js';

const uint32_max = 0xffff_ffffn;

/** ZooKeeper 3.6 and later report a container znode's ephemeralOwner as this (EphemeralType.CONTAINER). */
export const container_ephemeral_owner = -0x8000_0000_0000_0000n;

/** The dialect's session id `s<epoch hex>.<counter hex>` as ZooKeeper's 64 bits, epoch << 32 | counter; null for another form. */
export function sessionToWire(session: unknown): bigint | null {
  if (typeof session !== 'string') return null;
  const m = /^s([0-9a-f]{1,8})\.([0-9a-f]{1,8})$/.exec(session);
  if (m === null) return null;
  return BigInt.asIntN(64, (BigInt(`0x${m[1]!}`) << 32n) | BigInt(`0x${m[2]!}`));
}

/** The inverse of sessionToWire. */
export function sessionFromWire(id: bigint): string {
  const u = BigInt.asUintN(64, id);
  return `s${(u >> 32n).toString(16)}.${(u & uint32_max).toString(16)}`;
}

/** The dialect's zxid "epoch:counter" as ZooKeeper's 64 bits; null for another form. */
export function zxidToWire(zxid: unknown): bigint | null {
  if (typeof zxid !== 'string') return null;
  const m = /^(\d{1,10}):(\d{1,10})$/.exec(zxid);
  if (m === null) return null;
  const epoch = BigInt(m[1]!);
  const counter = BigInt(m[2]!);
  if (epoch > uint32_max || counter > uint32_max) return null;
  return BigInt.asIntN(64, (epoch << 32n) | counter);
}

/** The inverse of zxidToWire (a negative zxid, which no server writes, reads as 0:0). */
export function zxidFromWire(zxid: bigint): string {
  if (zxid < 0n) return '0:0';
  return `${zxid >> 32n}:${zxid & uint32_max}`;
}

/** The dialect's stat as ZooKeeper's; zxids and times it lacks read as 0. */
export function statToWire(stat: unknown): Stat {
  const s = (typeof stat === 'object' && stat !== null ? stat : {}) as Record<string, unknown>;
  const int = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) ? v : 0);
  const long = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n);
  const owner = s.container === true ? container_ephemeral_owner : (sessionToWire(s.ephemeralOwner) ?? 0n);
  return {
    czxid: zxidToWire(s.czxid) ?? 0n,
    mzxid: zxidToWire(s.mzxid) ?? 0n,
    ctime: long(s.ctime),
    mtime: long(s.mtime),
    version: int(s.version),
    cversion: int(s.cversion),
    aversion: int(s.aversion),
    ephemeralOwner: owner,
    dataLength: int(s.dataLength),
    numChildren: int(s.numChildren),
    pzxid: zxidToWire(s.pzxid) ?? 0n,
  };
}

/** The zxids a stat names (its czxid, mzxid, pzxid). */
export function statZxids(stat: unknown): string[] {
  if (typeof stat !== 'object' || stat === null) return [];
  const s = stat as Record<string, unknown>;
  return [s.czxid, s.mzxid, s.pzxid].filter((z): z is string => typeof z === 'string');
}

/**
 * ZooKeeper's code for a dialect error: its zk_error name when ZooKeeper has one; an error without a
 * name is the node runtime's (code 10: not supported, which is Unimplemented), anything else SystemError.
 */
export function errorCodeOf(reply: MessageBody): number {
  const name = reply.zk_error;
  if (typeof name === 'string' && name in err_codes) return err_codes[name as ErrName];
  if (reply.code === 10) return err_codes.Unimplemented;
  return err_codes.SystemError;
}

/** A session's password: the same on every server of the cluster (all share the secret), unguessable without it. */
export function sessionPassword(secret: Uint8Array, session_id: bigint): Uint8Array {
  const id = new Uint8Array(8);
  new DataView(id.buffer).setBigInt64(0, BigInt.asIntN(64, session_id));
  return new Uint8Array(createHmac('sha256', secret).update(id).digest().subarray(0, session_password_bytes));
}

/** Whether `passwd` is the session's password (compared in constant time). */
export function passwordMatches(secret: Uint8Array, session_id: bigint, passwd: Uint8Array | null): boolean {
  const expected = sessionPassword(secret, session_id);
  return passwd !== null && passwd.length === expected.length && timingSafeEqual(passwd, expected);
}
