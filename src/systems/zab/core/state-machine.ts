// What a Zab server's committed txns drive: the state machine interface, and the digest machine the
// simulation uses. Pure: no I/O, no clock.

// What a Zab server's committed txns drive. The protocol core treats txns as opaque; a state machine
// (the data tree and sessions of a ZooKeeper-style coordinator, or the small digest machine below that
// the simulation uses) plugs in the way Raft's core/kv.ts does: the runtime restores it from the Ready's
// apply_snapshot, applies the Ready's committed txns in order, and hands its snapshot() to
// core.compact() when it wants the log shortened.

import type { LoggedTxn } from './messages.js';
import { formatZxid, zxid_zero, type Zxid } from './zxid.js';

export interface ZabStateMachine<R = unknown> {
  /** Applies one committed txn (in zxid order); deterministic, so every replica gets the same result. */
  apply(entry: LoggedTxn): R;
  /** An image of everything applied so far, for core.compact() and SNAP. JSON-safe. */
  snapshot(): unknown;
  /** The zxid of the last txn applied (zero before any). */
  readonly applied_zxid: Zxid;
}

export interface DigestImage {
  version: 1;
  zxid: Zxid;
  count: number;
  digest: number;
}

/**
 * The simulation's state machine: a running digest of every txn applied and its zxid, so two replicas
 * that applied different txns (or the same ones in another order) end with different images.
 */
export class DigestMachine implements ZabStateMachine<number> {
  private zxid: Zxid = zxid_zero;
  private count = 0;
  private digest = 0x811c9dc5;

  get applied_zxid(): Zxid {
    return this.zxid;
  }

  get applied_count(): number {
    return this.count;
  }

  /** Returns the digest after the txn. */
  apply(entry: LoggedTxn): number {
    this.digest = fnv1a(this.digest, `${formatZxid(entry.zxid)}=${JSON.stringify(entry.txn)};`);
    this.zxid = entry.zxid;
    this.count += 1;
    return this.digest;
  }

  snapshot(): DigestImage {
    return { version: 1, zxid: this.zxid, count: this.count, digest: this.digest };
  }

  static restore(image: unknown): DigestMachine {
    const m = new DigestMachine();
    if (image === null || image === undefined) return m;
    const d = image as DigestImage;
    if (d.version !== 1) throw new Error(`unknown digest image version ${String(d.version)}`);
    m.zxid = d.zxid;
    m.count = d.count;
    m.digest = d.digest;
    return m;
  }
}

function fnv1a(seed: number, text: string): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
