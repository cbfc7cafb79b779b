/**
 * The runtime for TypeScript nodes: the message loop over stdio, RPCs with
 * msg_id/in_reply_to and timeouts, timers, the skewable clock, and dslab state
 * reports. A node written on it speaks the Maelstrom protocol unchanged.
 */
import type { AppFault } from '../faults/app-fault.js';
import { connection_closed_extension, error_codes, type Envelope, fail_extension, type MessageBody, note_extension, supervisor_address } from '../protocol/messages.js';
import { InvariantError } from '../util/errors.js';

/** RPCs awaiting replies at once; more are refused rather than queued without limit. */
export const rpc_pending_max = 10_000;
export const rpc_timeout_ms_default = 1000;
/** Exit code of a node whose handler broke an internal invariant (EX_SOFTWARE): it stops rather than go on from a state that cannot happen. */
export const exit_code_invariant_broken = 70;

export class RpcError extends Error {
  constructor(
    readonly code: number,
    text: string,
    /** The error reply itself, when one came (absent for a timeout): its other fields (a zk_error name, a leader hint). */
    readonly body?: MessageBody,
  ) {
    super(text);
  }
}

export type Handler = (message: Envelope) => void | Promise<void>;

export interface NodeIo {
  write(text: string): void;
  log(text: string): void;
  exit(code: number): void;
  now(): number;
}

const process_io: NodeIo = {
  write: (text) => process.stdout.write(text),
  log: (text) => process.stderr.write(text),
  exit: (code) => process.exit(code),
  now: () => Date.now(),
};

export class Node {
  id = '';
  nodeIds: string[] = [];
  /** Every node group's members by name, from init's dslab_groups; empty in a single-group cluster (and under Maelstrom). */
  groups: Record<string, string[]> = {};
  /** The init message's body as it came (dslab's extension fields too: dslab_groups, dslab_servers); null before init. */
  initBody: MessageBody | null = null;
  private readonly handlers = new Map<string, Handler>();
  private readonly initCallbacks: (() => void)[] = [];
  private connectionClosedHandler: ((peer: string) => void) | null = null;
  private failHandler: ((fault: AppFault) => void) | null = null;
  private readonly rpcs = new Map<number, { resolve(body: MessageBody): void; reject(error: Error): void; timer: NodeJS.Timeout }>();
  private nextMsgId = 1;
  private clockOffsetMs = 0;
  private reportedState: Record<string, unknown> = {};
  private outgoing: string[] = [];
  private flushScheduled = false;

  constructor(private readonly io: NodeIo = process_io) {}

  /** Registers the handler for one body type. */
  on(type: string, handler: Handler): this {
    this.handlers.set(type, handler);
    return this;
  }

  /** Runs once the node knows its id and peers. */
  onInit(callback: () => void): this {
    this.initCallbacks.push(callback);
    return this;
  }

  /**
   * Asks dslab to say when the process of a node this one exchanged messages with exits (a crash or a
   * kill, as a TCP peer sees its connection close; never for a partition or a pause, which close
   * nothing). Declared in init_ok as `dslab_connection_closed: true`; each notice is a
   * `dslab_connection_closed` message from `dslab` naming the `peer`. Register before the node runs.
   */
  onConnectionClosed(handler: (peer: string) => void): this {
    this.connectionClosedHandler = handler;
    return this;
  }

  /**
   * Lets `dslab fail` inject application faults into this node (errors, latency, hanging): declared in
   * init_ok as `dslab_fail: true`; each change arrives as a dslab_fail message from `dslab`, all zero when
   * cleared. Register before the node runs.
   */
  onFail(handler: (fault: AppFault) => void): this {
    this.failHandler = handler;
    return this;
  }

  /** Every node except this one. */
  peers(): string[] {
    return this.nodeIds.filter((id) => id !== this.id);
  }

  /** The node's clock: wall time plus the offset a clock-skew fault set. */
  now(): number {
    return this.io.now() + this.clockOffsetMs;
  }

  send(dest: string, body: MessageBody): void {
    this.outgoing.push(JSON.stringify({ src: this.id, dest, body }));
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // Everything sent in one turn of the event loop leaves in one write.
      queueMicrotask(() => this.flush());
    }
  }

  /**
   * Writes everything sent so far now rather than at the end of this turn (stdout to a pipe is written
   * synchronously), for a message that should be on its way before a long synchronous step such as an fsync.
   */
  flushNow(): void {
    this.flush();
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.outgoing.length === 0) return;
    const text = this.outgoing.join('\n') + '\n';
    this.outgoing = [];
    this.io.write(text);
  }

  reply(request: Envelope, body: MessageBody): void {
    this.send(request.src, { ...body, in_reply_to: request.body.msg_id });
  }

  replyError(request: Envelope, code: number, text: string): void {
    if (request.body.msg_id === undefined) return;
    this.reply(request, { type: 'error', code, text });
  }

  /** Sends a request and resolves with the reply body; rejects with RpcError on an error reply or timeout. */
  rpc(dest: string, body: MessageBody, timeout_ms = rpc_timeout_ms_default): Promise<MessageBody> {
    if (this.rpcs.size >= rpc_pending_max) return Promise.reject(new RpcError(error_codes.temporarily_unavailable, `more than ${rpc_pending_max} RPCs in flight`));
    const msg_id = this.nextMsgId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.rpcs.delete(msg_id);
        reject(new RpcError(error_codes.timeout, `${dest} did not answer ${body.type} within ${timeout_ms}ms`));
      }, timeout_ms);
      this.rpcs.set(msg_id, { resolve, reject, timer });
      this.send(dest, { ...body, msg_id });
    });
  }

  /** Sends a body with a fresh msg_id and no reply expected. */
  sendRequest(dest: string, body: MessageBody): void {
    this.send(dest, { ...body, msg_id: this.nextMsgId++ });
  }

  after(delay_ms: number, callback: () => void): () => void {
    const timer = setTimeout(callback, delay_ms);
    return () => clearTimeout(timer);
  }

  every(interval_ms: number, callback: () => void): () => void {
    const timer = setInterval(callback, interval_ms);
    return () => clearInterval(timer);
  }

  /** Reports state fields to the supervisor; only fields that changed are sent. */
  reportState(fields: Record<string, string | number | boolean | null>): void {
    const changed: Record<string, unknown> = {};
    let any = false;
    for (const [key, value] of Object.entries(fields)) {
      if (this.reportedState[key] !== value) {
        changed[key] = value;
        this.reportedState[key] = value;
        any = true;
      }
    }
    if (any) this.send(supervisor_address, { type: 'dslab_state', ...changed });
  }

  /** A sentence for the cluster's event log ("opened: 12 of 20 calls failed …"); dslab puts the node's id before it. */
  note(text: string): void {
    this.send(supervisor_address, { type: note_extension, text });
  }

  reportApply(index: number, term: number, op: unknown): void {
    this.send(supervisor_address, { type: 'dslab_apply', index, term, op });
  }

  log(...parts: unknown[]): void {
    this.io.log(`${new Date(this.now()).toISOString()} ${this.id || '?'} ${parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' ')}\n`);
  }

  /** Handles one input line; exported for tests and the simulator. */
  async handleLine(line: string): Promise<void> {
    let message: Envelope;
    try {
      message = JSON.parse(line) as Envelope;
    } catch {
      this.log(`ignoring a line that is not JSON: ${line.slice(0, 200)}`);
      return;
    }
    const body = message.body;
    if (!body || typeof body.type !== 'string') {
      this.log(`ignoring a message without body.type: ${line.slice(0, 200)}`);
      return;
    }
    if (body.in_reply_to !== undefined) {
      const pending = this.rpcs.get(body.in_reply_to);
      if (pending) {
        this.rpcs.delete(body.in_reply_to);
        clearTimeout(pending.timer);
        if (body.type === 'error') pending.reject(new RpcError(Number(body.code), String(body.text ?? ''), body));
        else pending.resolve(body);
        return;
      }
    }
    if (body.type === 'init') {
      this.id = String(body.node_id);
      this.nodeIds = (body.node_ids as string[]).map(String);
      const groups = body.dslab_groups;
      if (groups && typeof groups === 'object' && !Array.isArray(groups)) {
        this.groups = Object.fromEntries(Object.entries(groups as Record<string, unknown>).filter(([, ids]) => Array.isArray(ids)).map(([name, ids]) => [name, (ids as unknown[]).map(String)]));
      }
      this.initBody = body;
      for (const callback of this.initCallbacks) callback();
      this.reply(message, { type: 'init_ok', ...(this.connectionClosedHandler ? { [connection_closed_extension]: true } : {}), ...(this.failHandler ? { [fail_extension]: true } : {}) });
      return;
    }
    if (body.type === 'dslab_clock') {
      this.clockOffsetMs = Number(body.offset_ms) || 0;
      return;
    }
    if (body.type === connection_closed_extension && message.src === supervisor_address) {
      if (this.connectionClosedHandler && typeof body.peer === 'string') this.connectionClosedHandler(body.peer);
      return;
    }
    if (body.type === fail_extension && message.src === supervisor_address) {
      this.failHandler?.({ errors_pct: Number(body.errors_pct) || 0, latency_ms: Number(body.latency_ms) || 0, hang: body.hang === true });
      return;
    }
    const handler = this.handlers.get(body.type);
    if (!handler) {
      if (body.in_reply_to === undefined) this.replyError(message, error_codes.not_supported, `unsupported message type "${body.type}"`);
      return;
    }
    try {
      await handler(message);
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      this.log(`handler for ${body.type} failed: ${text}`);
      if (error instanceof InvariantError) {
        // A bad request is answered and survived; a broken invariant means this node's state is already wrong.
        this.io.exit(exit_code_invariant_broken);
        return;
      }
      if (error instanceof RpcError) this.replyError(message, error.code, text);
      else this.replyError(message, error_codes.crash, text);
    }
  }

  /** Reads stdin until EOF, then exits: a node never outlives its supervisor. */
  run(): void {
    let partial = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) void this.handleLine(line);
    });
    process.stdin.on('end', () => {
      this.flush();
      this.io.exit(0);
    });
  }
}
