// A placeholder state machine for the Zab host until the ZooKeeper data tree plugs in: one register
// that `zab_write` sets and `zab_read` reads. It implements the core's ZabStateMachine, so the host
// drives it exactly as it will drive the tree: restore from a snapshot, apply committed txns in zxid
// order, snapshot() for compaction and SNAP.

import type { LoggedTxn } from './core/messages.js';
import type { ZabStateMachine } from './core/state-machine.js';
import { zxid_zero, type Zxid } from './core/zxid.js';

/** What a `zab_write` proposes: the value, and who waits for it (the server and its own request number). */
export interface RegisterTxn {
  type: 'write';
  value: unknown;
  /** The server the client asked, with its incarnation (a restarted server does not answer its past self's requests). */
  origin: string;
  request: number;
}

export interface RegisterImage {
  version: 1;
  zxid: Zxid;
  /** Txns applied since the ensemble began: a txn's position in the one sequence every server delivers. */
  count: number;
  value: unknown;
}

export function isRegisterTxn(txn: unknown): txn is RegisterTxn {
  if (typeof txn !== 'object' || txn === null) return false;
  const t = txn as Record<string, unknown>;
  return t['type'] === 'write' && 'value' in t && typeof t['origin'] === 'string' && Number.isSafeInteger(t['request']);
}

export class RegisterMachine implements ZabStateMachine<{ count: number }> {
  private zxid: Zxid = zxid_zero;
  private count = 0;
  private current: unknown = null;

  get applied_zxid(): Zxid {
    return this.zxid;
  }

  get applied_count(): number {
    return this.count;
  }

  get value(): unknown {
    return this.current;
  }

  /** A txn that is not a write (another machine's, or malformed) still counts as delivered but changes nothing. */
  apply(entry: LoggedTxn): { count: number } {
    if (isRegisterTxn(entry.txn)) this.current = entry.txn.value;
    this.zxid = entry.zxid;
    this.count += 1;
    return { count: this.count };
  }

  snapshot(): RegisterImage {
    return { version: 1, zxid: this.zxid, count: this.count, value: this.current };
  }

  static restore(image: unknown): RegisterMachine {
    const m = new RegisterMachine();
    if (image === null || image === undefined) return m;
    const r = image as RegisterImage;
    if (r.version !== 1) throw new Error(`unknown register image version ${String(r.version)}`);
    m.zxid = r.zxid;
    m.count = r.count;
    m.current = r.value;
    return m;
  }
}
