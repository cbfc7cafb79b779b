// Jute, ZooKeeper's serialization, as its binary archive writes it: big-endian ints (4 bytes) and
// longs (8), a boolean as one byte, a buffer as its int length then its bytes (length -1: null), a
// ustring as a buffer of UTF-8, a vector as its int count (-1: null) then its items. Pure: bytes in,
// values out.

/** A record that does not parse: ZooKeeper answers such a request MarshallingError. */
export class JuteError extends Error {}

const utf8_strict = new TextDecoder('utf-8', { fatal: true });
const utf8_encoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return utf8_encoder.encode(text);
}

/** Writes primitives into a buffer that grows as needed. */
export class JuteWriter {
  private bytes = new Uint8Array(64);
  private view = new DataView(this.bytes.buffer);
  private length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  int(value: number): this {
    this.reserve(4);
    this.view.setInt32(this.length, value);
    this.length += 4;
    return this;
  }

  long(value: bigint): this {
    this.reserve(8);
    this.view.setBigInt64(this.length, BigInt.asIntN(64, value));
    this.length += 8;
    return this;
  }

  bool(value: boolean): this {
    this.reserve(1);
    this.bytes[this.length++] = value ? 1 : 0;
    return this;
  }

  /** null is written as length -1. */
  buffer(value: Uint8Array | null): this {
    if (value === null) return this.int(-1);
    this.int(value.length);
    this.reserve(value.length);
    this.bytes.set(value, this.length);
    this.length += value.length;
    return this;
  }

  ustring(value: string | null): this {
    return this.buffer(value === null ? null : utf8(value));
  }

  /** null is written as count -1. */
  vector<T>(items: readonly T[] | null, item: (w: this, value: T) => void): this {
    if (items === null) return this.int(-1);
    this.int(items.length);
    for (const x of items) item(this, x);
    return this;
  }

  /** What was written, as one copy. */
  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

/** Reads primitives from one frame; any read past its end throws JuteError. */
export class JuteReader {
  private offset = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  private need(n: number, what: string): void {
    if (this.remaining < n) throw new JuteError(`${what} needs ${n} bytes; ${this.remaining} left in the frame`);
  }

  int(): number {
    this.need(4, 'an int');
    const v = this.view.getInt32(this.offset);
    this.offset += 4;
    return v;
  }

  long(): bigint {
    this.need(8, 'a long');
    const v = this.view.getBigInt64(this.offset);
    this.offset += 8;
    return v;
  }

  bool(): boolean {
    this.need(1, 'a boolean');
    return this.bytes[this.offset++] !== 0;
  }

  buffer(): Uint8Array | null {
    const n = this.int();
    if (n === -1) return null;
    if (n < 0) throw new JuteError(`a buffer of length ${n}`);
    this.need(n, 'a buffer');
    const v = this.bytes.slice(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  ustring(): string | null {
    const b = this.buffer();
    if (b === null) return null;
    try {
      return utf8_strict.decode(b);
    } catch {
      throw new JuteError('a string that is not UTF-8');
    }
  }

  /** A ustring where null is not allowed (a path). */
  text(what: string): string {
    const s = this.ustring();
    if (s === null) throw new JuteError(`${what} is null`);
    return s;
  }

  vector<T>(item: (r: this) => T): T[] | null {
    const n = this.int();
    if (n === -1) return null;
    // Every item takes at least one byte: a larger count cannot be honest.
    if (n < 0 || n > this.remaining) throw new JuteError(`a vector of ${n} items in ${this.remaining} bytes`);
    const items: T[] = [];
    for (let i = 0; i < n; i++) items.push(item(this));
    return items;
  }
}
