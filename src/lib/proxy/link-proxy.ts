import net from 'node:net';
import type { FaultModel, StreamFate } from '../faults/fault-model.js';
import { RespLink, type RespLinkHost } from './resp-link.js';

/**
 * A TCP proxy for one link from a client node to a real server (redis-server,
 * etcd). The node connects to the proxy's loopback port; the proxy connects on
 * to the server and passes bytes both ways, asking the link's fate for each
 * chunk it reads:
 *
 * - partition: bytes are held, in order, not delivered. Up to
 *   `held_bytes_max_default` per direction of a connection are read and held;
 *   then the proxy stops reading that socket, so TCP's own flow control pushes
 *   back on the sender as a real partition does. When the link heals
 *   (`faultsChanged()`), held bytes flow again in their order.
 *   A connection accepted during a partition is not connected on to the server
 *   until the link heals: the server sees no client across a partition.
 * - delay (± jitter): each chunk is delivered after the link's delay, never
 *   before the chunk read ahead of it, so byte order is kept.
 * - loss: each chunk read, in either direction, resets the connection (RST to
 *   both ends) with the link's loss probability. Per chunk rather than per
 *   connection attempt because TCP turns packet loss into retransmission, so
 *   what a lost message means to a stream's user is the connection failing
 *   while a request or a reply is in flight: the client cannot tell whether its
 *   command took effect. Redis and etcd clients keep one long-lived
 *   connection, which a per-attempt draw would never touch.
 *
 * Bytes still held or delayed when the link is cut stay held: a partition
 * that starts while bytes are in flight stalls them too.
 */

/** Bytes held (by a partition or a delay) per direction of one connection before the proxy stops reading from the sender. One read chunk (up to 64 KiB) may go past it. */
export const held_bytes_max_default = 1024 * 1024;
/** Connections open at once through one link proxy; further ones are closed at accept and counted. */
export const connections_per_link_max = 64;
/** How long the proxy waits for the server to accept its connection before resetting the client's. */
export const upstream_connect_timeout_ms = 5_000;

export type StreamDirection = 'to_server' | 'to_client';

/** The fault state of one link, as the proxy needs it. */
export interface LinkFate {
  /** Decides what happens to one chunk read in `direction` (draws randomness for loss and jitter). */
  decide(direction: StreamDirection): StreamFate;
  /** Whether the link is cut in `direction` now (no randomness): held bytes wait while it is. */
  isCut(direction: StreamDirection): boolean;
}

/** The fate of the link between `client` and `server` in the cluster's FaultModel; both must be ids the model knows. */
export function linkFateFromModel(model: FaultModel, client: string, server: string, random: () => number): LinkFate {
  const ends = (direction: StreamDirection): [string, string] => (direction === 'to_server' ? [client, server] : [server, client]);
  return {
    decide: (direction) => model.decideStream(...ends(direction), random),
    isCut: (direction) => model.isCut(...ends(direction)),
  };
}

export interface LinkProxyCounters {
  /** Connections accepted from the client. */
  connections: number;
  connections_open: number;
  /** Connections closed at accept because `connections_per_link_max` were open. */
  connections_refused: number;
  /** Connections to the server that failed (refused: the server is down) or timed out; the client's connection was reset. */
  upstream_failures: number;
  /** Bytes delivered to the server and to the client. */
  bytes_to_server: number;
  bytes_to_client: number;
  /** Connections reset by loss. */
  resets: number;
  /** Chunks read while the link was cut, and held. */
  stalled_chunks: number;
  /** Bytes waiting now (held by a partition or delayed), both directions, every connection. */
  held_bytes: number;
  /** Times the proxy stopped reading a socket because `held_bytes_max` were waiting in that direction. */
  backpressure_pauses: number;
}

export interface LinkProxyOptions {
  /** The link's two ends, for descriptions. */
  client: string;
  server: string;
  /** Where the server listens; read at every connection, so a server that moves is followed. */
  target: () => { host: string; port: number };
  fate: LinkFate;
  held_bytes_max?: number;
  /** The server speaks RESP (redis): commands and replies are framed, traced and given the server's application fault (resp-link.ts). */
  resp?: RespLinkHost;
}

type Item = { kind: 'data'; data: Buffer; due_ms: number } | { kind: 'end'; due_ms: number } | { kind: 'reset'; due_ms: number };

/** A FIFO that does not copy on every shift. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    const item = this.items[this.head];
    if (item === undefined) return undefined;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/** One direction of one proxied connection: what was read from `source` and waits to be written to `dest`. */
class Pipe {
  readonly queue = new Fifo<Item>();
  queuedBytes = 0;
  lastDue_ms = 0;
  timer: NodeJS.Timeout | null = null;
  sourcePaused = false;
  done = false;
  dest: net.Socket | null = null;

  constructor(
    readonly direction: StreamDirection,
    readonly source: net.Socket | null,
  ) {}
}

class ProxiedConnection {
  upstream: net.Socket | null = null;
  readonly toServer: Pipe;
  toClient: Pipe | null = null;
  private closed = false;
  /** The RESP framing of a link to a redis server; null for a plain byte stream. */
  private readonly resp: RespLink | null;

  constructor(
    private readonly proxy: LinkProxy,
    readonly client: net.Socket,
  ) {
    this.resp = proxy.options.resp ? new RespLink(proxy.options.resp, proxy.options.client, proxy.options.server) : null;
    this.toServer = new Pipe('to_server', client);
    this.wireSource(this.toServer, client);
    client.on('drain', () => this.toClient && this.pump(this.toClient));
    client.on('close', () => this.onSocketClosed());
    if (!proxy.fate.isCut('to_server')) this.connectUpstream();
  }

  /** Connects on to the server, unless that has started already. */
  connectUpstream(): void {
    if (this.upstream || this.closed) return;
    const target = this.proxy.options.target();
    const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    this.upstream = upstream;
    upstream.setNoDelay(true);
    const timer = setTimeout(() => upstream.destroy(new Error('connect timeout')), upstream_connect_timeout_ms);
    let connected = false;
    upstream.once('connect', () => {
      clearTimeout(timer);
      connected = true;
      this.toServer.dest = upstream;
      const toClient = new Pipe('to_client', upstream);
      toClient.dest = this.client;
      this.toClient = toClient;
      this.wireSource(toClient, upstream);
      upstream.on('drain', () => this.pump(this.toServer));
      this.pump(this.toServer);
      // Replies the proxy gave while the server was out of reach (an errors fault) can go now.
      if (this.resp) this.releaseReplies(Date.now());
    });
    upstream.on('error', () => {
      clearTimeout(timer);
      if (!connected) {
        this.proxy.count.upstream_failures++;
        this.abort();
      }
      // After connecting, an error is handled by wireSource as the server resetting.
    });
    upstream.on('close', () => this.onSocketClosed());
  }

  private wireSource(pipe: Pipe, socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => this.onChunk(pipe, chunk));
    socket.on('end', () => this.enqueue(pipe, { kind: 'end', due_ms: Math.max(Date.now(), pipe.lastDue_ms) }));
    socket.on('error', () => {
      // The sender reset its side: the reset reaches the other end in order, after the bytes before it.
      const other = this.other(pipe);
      if (other) this.dropQueue(other);
      this.enqueue(pipe, { kind: 'reset', due_ms: Math.max(Date.now(), pipe.lastDue_ms) });
    });
  }

  private other(pipe: Pipe): Pipe | null {
    return pipe === this.toServer ? this.toClient : this.toServer;
  }

  private onChunk(pipe: Pipe, chunk: Buffer): void {
    if (this.closed) return;
    const fate = this.proxy.fate.decide(pipe.direction);
    const now = Date.now();
    if (fate.action === 'reset') {
      this.proxy.count.resets++;
      this.abort();
      return;
    }
    let due_ms = now;
    if (fate.action === 'hold') this.proxy.count.stalled_chunks++;
    else due_ms = Math.max(now + fate.delay_ms, pipe.lastDue_ms);
    if (this.resp) this.onRespChunk(this.resp, pipe, chunk, due_ms);
    else this.enqueue(pipe, { kind: 'data', data: chunk, due_ms });
  }

  /** A chunk of a RESP link: whole commands go on (unless the proxy answers them), whole replies are paired, and what may leave for the client leaves. */
  private onRespChunk(resp: RespLink, pipe: Pipe, chunk: Buffer, due_ms: number): void {
    try {
      if (pipe.direction === 'to_server') {
        const forward = resp.fromClient(chunk);
        if (forward.length > 0) this.enqueue(pipe, { kind: 'data', data: forward, due_ms });
      } else resp.fromServer(chunk);
    } catch {
      // Bytes that are not RESP, or a reply no command awaits: the proxy cannot tell what answers what any more.
      this.abort();
      return;
    }
    this.releaseReplies(due_ms);
  }

  /** Sends the client the replies now due, in command order, each after the latency fault's hold. */
  private releaseReplies(due_ms: number): void {
    const toClient = this.toClient;
    if (!toClient || !this.resp) return;
    const leaves_ms = (hold_ms: number) => Math.max(due_ms + hold_ms, toClient.lastDue_ms);
    const now = Date.now();
    for (const reply of this.resp.release((hold_ms) => Math.max(0, leaves_ms(hold_ms) - now))) this.enqueue(toClient, { kind: 'data', data: reply.data, due_ms: leaves_ms(reply.hold_ms) });
  }

  private enqueue(pipe: Pipe, item: Item): void {
    if (this.closed || pipe.done) return;
    pipe.queue.push(item);
    pipe.lastDue_ms = item.due_ms;
    if (item.kind === 'data') {
      pipe.queuedBytes += item.data.length;
      this.proxy.count.held_bytes += item.data.length;
      if (pipe.queuedBytes >= this.proxy.held_bytes_max && !pipe.sourcePaused && pipe.source) {
        pipe.sourcePaused = true;
        pipe.source.pause();
        this.proxy.count.backpressure_pauses++;
      }
    }
    this.pump(pipe);
  }

  /** Delivers what is due in `pipe`, in order, while the link is not cut and the receiver keeps up. */
  pump(pipe: Pipe): void {
    if (pipe.timer) {
      clearTimeout(pipe.timer);
      pipe.timer = null;
    }
    const dest = pipe.dest;
    if (this.closed || !dest) return;
    if (dest.destroyed) {
      // The receiver is gone (it reset, or the proxy did): nothing more can reach it.
      this.dropQueue(pipe);
      pipe.done = true;
      return;
    }
    for (;;) {
      const head = pipe.queue.peek();
      if (!head) break;
      if (this.proxy.fate.isCut(pipe.direction)) return;
      const wait_ms = head.due_ms - Date.now();
      if (wait_ms > 0) {
        pipe.timer = setTimeout(() => this.pump(pipe), wait_ms);
        return;
      }
      if (dest.writableNeedDrain) return;
      pipe.queue.shift();
      if (head.kind === 'data') {
        pipe.queuedBytes -= head.data.length;
        this.proxy.count.held_bytes -= head.data.length;
        if (pipe.direction === 'to_server') this.proxy.count.bytes_to_server += head.data.length;
        else this.proxy.count.bytes_to_client += head.data.length;
        dest.write(head.data);
      } else if (head.kind === 'end') {
        pipe.done = true;
        dest.end();
      } else {
        this.abort();
        return;
      }
    }
    if (pipe.sourcePaused && pipe.queuedBytes < this.proxy.held_bytes_max) {
      pipe.sourcePaused = false;
      pipe.source?.resume();
    }
  }

  /** Resets both ends and drops whatever is held. */
  abort(): void {
    if (this.closed) return;
    this.close();
    if (!this.client.destroyed) this.client.resetAndDestroy();
    if (this.upstream && !this.upstream.destroyed) this.upstream.resetAndDestroy();
  }

  /** Drops held bytes and timers; the sockets are closed by the caller or are closing. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const pipe of [this.toServer, this.toClient]) if (pipe) this.dropQueue(pipe);
    this.proxy.forget(this);
  }

  private dropQueue(pipe: Pipe): void {
    if (pipe.timer) clearTimeout(pipe.timer);
    pipe.timer = null;
    this.proxy.count.held_bytes -= pipe.queuedBytes;
    pipe.queuedBytes = 0;
    pipe.queue.clear();
  }

  destroy(): void {
    this.close();
    this.client.destroy();
    this.upstream?.destroy();
  }

  /** The connection is over once both of its sockets have closed (or the client's has, before any connection on to the server). */
  private onSocketClosed(): void {
    if (this.client.destroyed && (!this.upstream || this.upstream.destroyed)) this.close();
  }
}

/** One link's proxy: a loopback listener whose connections go on to the server through the link's faults. */
export class LinkProxy {
  readonly count: LinkProxyCounters = {
    connections: 0,
    connections_open: 0,
    connections_refused: 0,
    upstream_failures: 0,
    bytes_to_server: 0,
    bytes_to_client: 0,
    resets: 0,
    stalled_chunks: 0,
    held_bytes: 0,
    backpressure_pauses: 0,
  };
  readonly held_bytes_max: number;
  readonly fate: LinkFate;
  private readonly open = new Set<ProxiedConnection>();
  private listener: net.Server | null = null;
  private boundPort = 0;

  private constructor(readonly options: LinkProxyOptions) {
    this.fate = options.fate;
    this.held_bytes_max = options.held_bytes_max ?? held_bytes_max_default;
  }

  /** Starts listening on 127.0.0.1 at a free port. */
  static async start(options: LinkProxyOptions): Promise<LinkProxy> {
    const proxy = new LinkProxy(options);
    const listener = net.createServer({ allowHalfOpen: true, pauseOnConnect: false }, (socket) => proxy.accept(socket));
    listener.maxConnections = connections_per_link_max;
    listener.on('drop', () => proxy.count.connections_refused++);
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(0, '127.0.0.1', () => {
        listener.off('error', reject);
        resolve();
      });
    });
    proxy.listener = listener;
    proxy.boundPort = (listener.address() as net.AddressInfo).port;
    return proxy;
  }

  get port(): number {
    return this.boundPort;
  }

  /** The address a node connects to, "127.0.0.1:PORT". */
  get address(): string {
    return `127.0.0.1:${this.boundPort}`;
  }

  /** The link, e.g. "n1->redis1". */
  get link(): string {
    return `${this.options.client}->${this.options.server}`;
  }

  counters(): LinkProxyCounters {
    return { ...this.count };
  }

  /** Call after any change to the link's faults: held bytes flow again when it has healed, and waiting connections go on to the server. */
  faultsChanged(): void {
    for (const connection of [...this.open]) {
      if (!this.fate.isCut('to_server')) connection.connectUpstream();
      connection.pump(connection.toServer);
      if (connection.toClient) connection.pump(connection.toClient);
    }
  }

  /** Resets every open connection (both ends see RST), as when the client's host dies. */
  resetAll(): void {
    for (const connection of [...this.open]) connection.abort();
  }

  async close(): Promise<void> {
    for (const connection of [...this.open]) connection.destroy();
    const listener = this.listener;
    this.listener = null;
    if (listener) await new Promise<void>((resolve) => listener.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    // Errors are handled per connection; this keeps an unhandled 'error' from crashing the supervisor.
    socket.on('error', () => undefined);
    this.count.connections++;
    this.count.connections_open++;
    this.open.add(new ProxiedConnection(this, socket));
  }

  /** Called once per connection when it is over. */
  forget(connection: ProxiedConnection): void {
    if (this.open.delete(connection)) this.count.connections_open--;
  }
}
