// What a link proxy to a RESP server (redis) adds to the bytes it carries: each command and reply framed,
// traced like a dslab message, and the server's application fault (`dslab fail redis1`) applied.
import type { AppFault } from '../faults/app-fault.js';
import { parseFrame, RespError, RespFramer, type RespValue } from './resp.js';

/** The reply the proxy gives in the server's place for a command its `--errors` fault fails: an error of the server's, not the command's. */
export const injected_error_reply = '-BUSY injected failure (dslab fail)\r\n';

/** Commands awaiting their replies on one connection; past this the connection is reset (a client that never reads). */
export const resp_slots_max = 100_000;

/** What a RESP link reaches of the cluster: the server's application fault, the trace, and the link's message numbers. */
export interface RespLinkHost {
  fault(): AppFault;
  /** Records one framed command or reply in the cluster's trace (as the router records a message), with how long it is held before it leaves for its receiver. */
  trace(line: string, delay_ms?: number): void;
  /** The next message number on this link (a command's msg_id, its reply's in_reply_to). */
  nextId(): number;
  random(): number;
}

/** What a RESP reply says in the trace: an error naming the command's own fault (ERR, WRONGTYPE) is a bad request (12), any other a failure (13). */
export function replyRecord(raw: Buffer): { type: 'work_ok' } | { type: 'error'; code: number } {
  // A simple error (-) or RESP3's blob error (!).
  if (raw[0] !== 0x2d && raw[0] !== 0x21) return { type: 'work_ok' };
  const value: RespValue | null = parseFrame(raw[0] === 0x21 ? Buffer.concat([Buffer.from('$'), raw.subarray(1)]) : raw);
  const message = value instanceof RespError ? value.message : String(value ?? '');
  return { type: 'error', code: /^(ERR|WRONGTYPE)\b/.test(message) ? 12 : 13 };
}

interface Slot {
  id: number;
  /** The reply's bytes once known (the server's, or the proxy's own). */
  reply: Buffer | null;
  record: ReturnType<typeof replyRecord> | null;
  /** Sent on to the server (false: the proxy answers it). */
  forwarded: boolean;
}

/**
 * One connection's RESP framing. Commands are read whole from the client's bytes; each is traced
 * `{src: client, dest: server, body: {type: "work", msg_id, command}}` and either passed on or, under an
 * errors fault, answered by the proxy itself. Replies are read whole from the server's bytes and paired
 * with their commands in order (RESP answers in order); they leave for the client in command order, each
 * traced `{type: "work_ok" | "error", in_reply_to, code?}`: held by a latency fault, never under a hang.
 */
export class RespLink {
  private readonly commands = new RespFramer();
  private readonly replies = new RespFramer();
  private readonly slots: Slot[] = [];
  /** Push messages read from the server, to pass on with the next replies. */
  private unasked: Buffer[] = [];

  constructor(
    private readonly host: RespLinkHost,
    private readonly client: string,
    private readonly server: string,
  ) {}

  /** The client's bytes: what to pass on to the server (throws RespProtocolError for bytes that are not RESP). */
  fromClient(chunk: Buffer): Buffer {
    const forward: Buffer[] = [];
    for (const raw of this.commands.push(chunk)) {
      const value = parseFrame(raw);
      if (this.slots.length >= resp_slots_max) throw new Error(`more than ${resp_slots_max} commands await replies`);
      const id = this.host.nextId();
      const name = Array.isArray(value) && typeof value[0] === 'string' ? value[0].toUpperCase() : raw.toString('utf8').trim().split(' ')[0]!.toUpperCase();
      this.host.trace(JSON.stringify({ src: this.client, dest: this.server, body: { type: 'work', msg_id: id, command: name } }));
      const fault = this.host.fault();
      if (!fault.hang && fault.errors_pct > 0 && this.host.random() * 100 < fault.errors_pct) {
        this.slots.push({ id, reply: Buffer.from(injected_error_reply), record: { type: 'error', code: 13 }, forwarded: false });
      } else {
        this.slots.push({ id, reply: null, record: null, forwarded: true });
        forward.push(raw);
      }
    }
    return Buffer.concat(forward);
  }

  /** The server's bytes: its replies, paired with their commands (throws for a reply no command awaits). */
  fromServer(chunk: Buffer): void {
    for (const raw of this.replies.push(chunk)) {
      // RESP3's push messages answer no command (pub/sub, client tracking): they go through as they are.
      if (raw[0] === 0x3e) {
        this.unasked.push(raw);
        continue;
      }
      const slot = this.slots.find((s) => s.forwarded && s.reply === null);
      if (!slot) throw new Error('a reply arrived that no command awaits');
      slot.reply = raw;
      slot.record = replyRecord(raw);
    }
  }

  /**
   * Replies that may leave for the client now, in command order, and how long the latency fault holds
   * them. `held_ms` turns that hold into the whole wait before the reply reaches the client (the
   * link's delay added), which the trace records so a reader knows when the client got it.
   */
  release(held_ms: (hold_ms: number) => number = (hold_ms) => hold_ms): { data: Buffer; hold_ms: number }[] {
    const fault = this.host.fault();
    const out: { data: Buffer; hold_ms: number }[] = this.unasked.map((data) => ({ data, hold_ms: 0 }));
    this.unasked = [];
    while (this.slots.length > 0 && this.slots[0]!.reply !== null) {
      const slot = this.slots.shift()!;
      // A hanging server answers nothing: the reply is dropped, and its client waits until it gives up.
      if (fault.hang) continue;
      this.host.trace(JSON.stringify({ src: this.server, dest: this.client, body: { ...slot.record, in_reply_to: slot.id } }), held_ms(fault.latency_ms));
      out.push({ data: slot.reply!, hold_ms: fault.latency_ms });
    }
    return out;
  }
}
