// Cuts a TCP byte stream into ZooKeeper's length-prefixed frames, whatever the chunks' split. Pure.

import { frame_bytes_max } from './protocol.js';

export type FrameResult = { ok: true; frames: Uint8Array[] } | { ok: false; frames: Uint8Array[]; reason: string };

/** Bytes held for an unfinished frame are at most its 4-byte length plus frame_bytes_max. */
export class FrameSplitter {
  private held: Uint8Array = new Uint8Array(0);
  private broken = false;

  constructor(private readonly max_bytes: number = frame_bytes_max) {}

  /** The frames the chunk completes; after a bad length, the frames before it and the reason, and nothing ever again. */
  push(chunk: Uint8Array): FrameResult {
    if (this.broken) return { ok: true, frames: [] };
    const bytes = this.held.length === 0 ? chunk : concat(this.held, chunk);
    const frames: Uint8Array[] = [];
    let at = 0;
    while (bytes.length - at >= 4) {
      const length = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getInt32(0);
      if (length < 0 || length > this.max_bytes) {
        this.broken = true;
        this.held = new Uint8Array(0);
        return { ok: false, frames, reason: `a frame of ${length} bytes (at most ${this.max_bytes}, ZooKeeper's jute.maxbuffer)` };
      }
      if (bytes.length - at - 4 < length) break;
      frames.push(bytes.slice(at + 4, at + 4 + length));
      at += 4 + length;
    }
    this.held = bytes.slice(at);
    return { ok: true, frames };
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
