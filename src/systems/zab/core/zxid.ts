// Zab's transaction ids: their shape, order and text. Pure: no I/O.

// Zab transaction ids. ZooKeeper packs a zxid into 64 bits, epoch << 32 | counter; here it is a pair,
// which is JSON-safe on the wire and compares the same way (epoch first, then counter).

export interface Zxid {
  readonly epoch: number;
  readonly counter: number;
}

/** The counter is ZooKeeper's low 32 bits; a leader whose counter would pass this must start a new epoch. */
export const zxid_counter_max = 0xffff_ffff;
/** Epochs are ZooKeeper's high 32 bits. */
export const zxid_epoch_max = 0xffff_ffff;

export const zxid_zero: Zxid = Object.freeze({ epoch: 0, counter: 0 });

export function zxid(epoch: number, counter: number): Zxid {
  return { epoch, counter };
}

/** Negative, zero or positive as a is before, equal to or after b. */
export function compareZxid(a: Zxid, b: Zxid): number {
  return a.epoch !== b.epoch ? a.epoch - b.epoch : a.counter - b.counter;
}

export function zxidEquals(a: Zxid, b: Zxid): boolean {
  return a.epoch === b.epoch && a.counter === b.counter;
}

export function maxZxid(a: Zxid, b: Zxid): Zxid {
  return compareZxid(a, b) >= 0 ? a : b;
}

export function minZxid(a: Zxid, b: Zxid): Zxid {
  return compareZxid(a, b) <= 0 ? a : b;
}

/** The dashboard's form: "epoch:counter". */
export function formatZxid(z: Zxid): string {
  return `${z.epoch}:${z.counter}`;
}

/** The inverse of formatZxid; null for anything else. */
export function parseZxid(text: unknown): Zxid | null {
  if (typeof text !== 'string') return null;
  const m = /^(\d{1,10}):(\d{1,10})$/.exec(text);
  if (m === null) return null;
  const z = zxid(Number(m[1]), Number(m[2]));
  return isZxid(z) ? z : null;
}

/** ZooKeeper's form, as its logs and four-letter words print it: 0x followed by the 64-bit value in hex. */
export function zxidHex(z: Zxid): string {
  return `0x${((BigInt(z.epoch) << 32n) | BigInt(z.counter)).toString(16)}`;
}

export function isZxid(value: unknown): value is Zxid {
  if (typeof value !== 'object' || value === null) return false;
  const z = value as Record<string, unknown>;
  return isUint32(z['epoch'], zxid_epoch_max) && isUint32(z['counter'], zxid_counter_max);
}

function isUint32(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}
