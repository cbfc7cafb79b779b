import net from 'node:net';

/**
 * A minimal client for Redis's wire protocol (RESP2): enough for the readiness
 * probe, the tests, and TypeScript nodes that talk to a redis-server through
 * the link proxy, without an npm dependency.
 */

/** Bytes of unparsed replies buffered from one connection; beyond this the connection is closed (a reply that large is a bug here). */
export const resp_buffer_bytes_max = 16 * 1024 * 1024;
/** Commands awaiting a reply on one connection. */
export const resp_pending_max = 1024;
/** How deep arrays may nest in one reply. */
export const resp_depth_max = 16;
export const resp_connect_timeout_ms_default = 2_000;
export const resp_command_timeout_ms_default = 5_000;

/** An error reply (`-ERR ...`): the server answered, and the answer is an error. */
export class RespError {
  constructor(readonly message: string) {}
}

export type RespValue = string | number | null | RespError | RespValue[];

export function encodeCommand(args: readonly (string | number)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.from(String(arg));
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Thrown for bytes that are not RESP. */
export class RespProtocolError extends Error {
  override name = 'RespProtocolError';
}

/** Incremental reply parser: feed chunks, take whole replies out in order. */
export class RespParser {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): RespValue[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    if (this.buffer.length > resp_buffer_bytes_max) throw new RespProtocolError(`more than ${resp_buffer_bytes_max} bytes of unparsed replies`);
    const replies: RespValue[] = [];
    let offset = 0;
    for (;;) {
      const parsed = parseValue(this.buffer, offset, 0);
      if (!parsed) break;
      replies.push(parsed.value);
      offset = parsed.next;
    }
    this.buffer = this.buffer.subarray(offset);
    return replies;
  }
}

/**
 * Splits a RESP byte stream (commands or replies, RESP2 or RESP3) into whole values, each with its bytes
 * exactly as they came: a proxy passes on what it read, unchanged, and knows where each value ends.
 */
export class RespFramer {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    if (this.buffer.length > resp_buffer_bytes_max) throw new RespProtocolError(`more than ${resp_buffer_bytes_max} bytes of an unfinished value`);
    const values: Buffer[] = [];
    let offset = 0;
    for (;;) {
      const next = frameEnd(this.buffer, offset, 0);
      if (next === null) break;
      values.push(Buffer.from(this.buffer.subarray(offset, next)));
      offset = next;
    }
    this.buffer = this.buffer.subarray(offset);
    return values;
  }
}

/** Where the value at `offset` ends, or null when the buffer ends first; RESP3's types too (maps, sets, pushes, attributes, doubles …). */
function frameEnd(buffer: Buffer, offset: number, depth: number): number | null {
  if (depth > resp_depth_max) throw new RespProtocolError(`values nested deeper than ${resp_depth_max}`);
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd === -1) return null;
  const kind = String.fromCharCode(buffer[offset]!);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const after = lineEnd + 2;
  const length = Number(line);
  switch (kind) {
    case '+': case '-': case ':': case '_': case '#': case ',': case '(':
      return after;
    case '$': case '!': case '=':
      if (!Number.isInteger(length) || length < -1) throw new RespProtocolError(`bad length "${line}"`);
      if (length === -1) return after;
      return buffer.length < after + length + 2 ? null : after + length + 2;
    case '*': case '~': case '>': case '%': case '|': {
      if (!Number.isInteger(length) || length < -1) throw new RespProtocolError(`bad count "${line}"`);
      // A map's and an attribute's count is of pairs; an attribute is followed by the value it describes.
      const items = length === -1 ? 0 : kind === '%' || kind === '|' ? length * 2 : length;
      let next: number | null = after;
      for (let i = 0; i < items && next !== null; i++) next = frameEnd(buffer, next, depth + 1);
      if (next !== null && kind === '|') next = frameEnd(buffer, next, depth + 1);
      return next;
    }
    default:
      if (depth === 0 && kind !== '\r') {
        // An inline command ("PING\r\n"), as redis-cli's users type them: one line.
        return after;
      }
      throw new RespProtocolError(`unknown RESP type "${kind}"`);
  }
}

/** A whole value's bytes parsed (RESP2's types only; null for any other), for what a proxy needs to read of it. */
export function parseFrame(raw: Buffer): RespValue | null {
  try {
    return parseValue(raw, 0, 0)?.value ?? null;
  } catch {
    return null;
  }
}

/** Parses one value at `offset`, or returns null when the buffer ends before it does. */
function parseValue(buffer: Buffer, offset: number, depth: number): { value: RespValue; next: number } | null {
  if (depth > resp_depth_max) throw new RespProtocolError(`arrays nested deeper than ${resp_depth_max}`);
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd === -1) return null;
  const kind = String.fromCharCode(buffer[offset]!);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const after = lineEnd + 2;
  switch (kind) {
    case '+':
      return { value: line, next: after };
    case '-':
      return { value: new RespError(line), next: after };
    case ':':
      return { value: Number(line), next: after };
    case '$': {
      const length = Number(line);
      if (!Number.isInteger(length) || length < -1) throw new RespProtocolError(`bad bulk length "${line}"`);
      if (length === -1) return { value: null, next: after };
      if (buffer.length < after + length + 2) return null;
      return { value: buffer.toString('utf8', after, after + length), next: after + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (!Number.isInteger(count) || count < -1) throw new RespProtocolError(`bad array length "${line}"`);
      if (count === -1) return { value: null, next: after };
      const items: RespValue[] = [];
      let next = after;
      for (let i = 0; i < count; i++) {
        const item = parseValue(buffer, next, depth + 1);
        if (!item) return null;
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      throw new RespProtocolError(`unexpected reply type byte ${JSON.stringify(kind)}`);
  }
}

interface PendingCommand {
  resolve(value: RespValue): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * One connection to a Redis server. Commands are pipelined: replies come back
 * in the order commands were sent. Any connection failure rejects every
 * command still waiting; the connection is then unusable.
 */
export class RespConnection {
  private readonly pending: PendingCommand[] = [];
  private readonly parser = new RespParser();
  private failure: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      let replies: RespValue[];
      try {
        replies = this.parser.push(chunk);
      } catch (error) {
        this.fail(error as Error);
        return;
      }
      for (const reply of replies) {
        const waiting = this.pending.shift();
        if (!waiting) {
          this.fail(new RespProtocolError('a reply arrived with no command waiting'));
          return;
        }
        clearTimeout(waiting.timer);
        waiting.resolve(reply);
      }
    });
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static connect(host: string, port: number, timeout_ms = resp_connect_timeout_ms_default): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no connection to ${host}:${port} within ${timeout_ms} ms`));
      }, timeout_ms);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RespConnection(socket));
      });
    });
  }

  /** Why the connection stopped working, or null while it works. */
  get error(): Error | null {
    return this.failure;
  }

  /** Sends one command; resolves with its reply (an error reply is a RespError value), rejects when the connection fails or no reply comes in time. */
  command(args: readonly (string | number)[], timeout_ms = resp_command_timeout_ms_default): Promise<RespValue> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending.length >= resp_pending_max) return Promise.reject(new Error(`${resp_pending_max} commands already wait for replies`));
    return new Promise((resolve, reject) => {
      // A timed-out command still owns its slot in the reply order, so the connection is
      // failed rather than left to pair later replies with the wrong commands.
      const timer = setTimeout(() => this.fail(new Error(`no reply to ${String(args[0])} within ${timeout_ms} ms`)), timeout_ms);
      this.pending.push({ resolve, reject, timer });
      this.socket.write(encodeCommand(args));
    });
  }

  close(): void {
    this.fail(new Error('connection closed by the client'));
  }

  private fail(error: Error): void {
    if (!this.failure) this.failure = error;
    this.socket.destroy();
    for (const waiting of this.pending.splice(0)) {
      clearTimeout(waiting.timer);
      waiting.reject(this.failure);
    }
  }
}
