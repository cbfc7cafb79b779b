// The Zab servers' ZooKeeper client ports: a loopback TCP listener per server, and for each accepted
// connection a router endpoint of its own (a client id), whose bytes a wire connection
// (src/lib/zk-wire, through the seam in host.ts) turns into the coordinator's JSON client messages
// and back. Those messages cross the router like any client's, so partitions, delays, losses and
// pauses act on a real ZooKeeper client as on dslab's own.
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { ClusterZkInfo } from '../cluster/paths.js';
import type { NewClusterEvent, NodeStatusKind, ZkClientConnection, ZkClientPorts } from '../control/api.js';
import type { MessageBody } from '../protocol/messages.js';
import { errorMessage, UserError } from '../util/errors.js';
import type { WireConnection, WireConnectionFactory, WireConnectionHost, WireServerState } from '../zk-wire/host.js';
import { RangeClientIds } from './client-ids.js';

/** Every client port listens on loopback only: a lab cluster is no service for the network. */
export const zk_client_host = '127.0.0.1';
/** ZooKeeper's own client port: a program that names no port connects here. */
export const zk_default_client_port = 2181;
/** The environment variable that stands in for `up --zk-port` on clusters with Zab servers (the test suite sets 0, so that only a test that asks for 2181 gets it). */
export const zk_port_env = 'DSLAB_ZK_PORT';

/** The port DSLAB_ZK_PORT names, if it is set. */
export function zkPortFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const text = env[zk_port_env];
  if (text === undefined || text === '') return undefined;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > tcp_port_max) throw new UserError(`${zk_port_env}=${text}: a port number from 0 to ${tcp_port_max} (0: any free ports)`);
  return port;
}
/** Connections one port holds at once (ZooKeeper's maxClientCnxns, per client address, is 60 by default); one more is closed at once. */
export const zk_connections_per_port_max = 60;
/** Bytes waiting to be written to a client that does not read; past this its connection is closed. */
export const zk_socket_buffered_bytes_max = 8 * 1024 * 1024;
/** How long a connection the server side closed may take to finish (the client's FIN) before it is cut. */
export const zk_close_grace_ms = 2000;
/** Bytes of the cluster's secret, which session passwords derive from. */
export const zk_secret_bytes = 32;
const tcp_port_max = 65_535;

/** One Zab server with a client port. */
export interface ZkServer {
  id: string;
  /** Its tick in ms (session timeouts negotiate to 2..20 ticks). */
  tick_ms: number;
}

/** Where one server's port is asked for: a `required` port must be had; another gives way to any free port when taken. */
export interface PortWish {
  port: number;
  required: boolean;
}

/**
 * The ports to ask for, server by server: `zk_port` absent, ZooKeeper's 2181 and on as wishes; 0,
 * any free ports; another number, that one and on, each required (`up --zk-port`).
 */
export function portWishes(count: number, zk_port: number | undefined): PortWish[] {
  if (zk_port === 0) return Array.from({ length: count }, () => ({ port: 0, required: true }));
  const first = zk_port ?? zk_default_client_port;
  const last = first + count - 1;
  if (last > tcp_port_max) throw new UserError(`--zk-port ${first}: ${count} Zab servers need ports ${first} to ${last}, past ${tcp_port_max}`);
  return Array.from({ length: count }, (_, i) => ({ port: first + i, required: zk_port !== undefined }));
}

/** The connect string a ZooKeeper client takes: each port on loopback, in server order. */
export function connectString(ports: readonly number[]): string {
  return ports.map((port) => `${zk_client_host}:${port}`).join(',');
}

/** A zxid as the nodes report it ("epoch:counter") as ZooKeeper's 64-bit number; 0 for anything else. */
export function zxidNumber(text: unknown): bigint {
  const match = typeof text === 'string' ? /^(\d{1,10}):(\d{1,10})$/.exec(text) : null;
  return match ? (BigInt(match[1]!) << 32n) | BigInt(match[2]!) : 0n;
}

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host: zk_client_host, exclusive: true }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function closeListener(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Listens on one port per wish, in order; a wish that is not required falls back to any free
 * port when its own is taken. On failure closes what it opened and throws UserError naming the
 * server (`names[i]`) and port.
 */
export async function listenPorts(wishes: readonly PortWish[], names: readonly string[]): Promise<Server[]> {
  const opened: Server[] = [];
  try {
    for (const [index, wish] of wishes.entries()) {
      try {
        opened.push(await listen(wish.port));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const busy = code === 'EADDRINUSE' || code === 'EACCES';
        if (wish.required || !busy) throw new UserError(`--zk-port: cannot listen on ${zk_client_host}:${wish.port} for ${names[index]}: ${code === 'EADDRINUSE' ? 'the port is in use' : errorMessage(error)}`);
        opened.push(await listen(0));
      }
    }
  } catch (error) {
    await Promise.all(opened.map(closeListener));
    throw error;
  }
  return opened;
}

function portOf(server: Server): number {
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/** What the client ports reach of the supervisor. */
export interface ZkPortsHost {
  /** Serves each accepted connection; null when this build has no wire protocol (connections are closed at once). */
  readonly factory: WireConnectionFactory | null;
  /** A server's process state and last report; undefined for no such node. */
  server(id: string): { status: NodeStatusKind; state: Readonly<Record<string, unknown>>; role_stale: boolean } | undefined;
  /** A request from `client` to `dest` over the router (rejects when dest is down or does not answer). */
  request(client: string, dest: string, body: Omit<MessageBody, 'msg_id'>, timeout_ms: number): Promise<MessageBody>;
  /** Hands each unasked message to `client` to `handler`; returns what ends that. */
  subscribe(client: string, handler: (body: MessageBody) => void): () => void;
  /** `client` is gone: what waits for it is dropped, so a later holder of its id inherits nothing. */
  forget(client: string): void;
  emit(event: NewClusterEvent): void;
  log(line: string): void;
}

interface OpenConnection extends ZkClientConnection {
  socket: Socket;
  wire: WireConnection | null;
  unsubscribe: () => void;
  /** Why the server side closed it (null: the client did, or it is open). */
  closed_by: string | null;
  /** The wire connection closed it or was told why it closes: it needs no onSocketClosed. */
  wire_told: boolean;
}

/** Every Zab server's client port and the connections on them, from start to stop. */
export class ZkClientPortSet {
  /** One random secret per cluster, the same for every port: a session re-attaches on any server. */
  readonly secret: Uint8Array = randomBytes(zk_secret_bytes);
  private readonly listeners: { server: ZkServer; port: number; listener: Server }[] = [];
  private readonly open = new Map<string, OpenConnection>();
  /** Round robin, so a watch event still on its way to a closed connection reaches no new one. */
  private readonly ids = new RangeClientIds('zk_wire', 'round_robin', 'ZooKeeper client connections');
  private stopped = false;

  constructor(
    private readonly servers: readonly ZkServer[],
    private readonly host: ZkPortsHost,
  ) {}

  /** Listens on every server's port (`zk_port` as portWishes takes it); throws UserError when a required one cannot be had. */
  async start(zk_port: number | undefined): Promise<void> {
    const listeners = await listenPorts(
      portWishes(this.servers.length, zk_port),
      this.servers.map((s) => s.id),
    );
    listeners.forEach((listener, index) => {
      const server = this.servers[index]!;
      const port = portOf(listener);
      listener.on('connection', (socket) => this.accept(server, port, socket));
      this.listeners.push({ server, port, listener });
    });
    this.host.log(`ZooKeeper client ports: ${this.listeners.map((l) => `${l.server.id} ${l.port}`).join(', ')} (connect string ${this.connectString()})`);
  }

  connectString(): string {
    return connectString(this.listeners.map((l) => l.port));
  }

  /** The ports for the cluster's record; null before they listen. */
  info(): ClusterZkInfo | null {
    if (this.listeners.length === 0) return null;
    return { connect_string: this.connectString(), ports: this.listeners.map((l) => ({ server: l.server.id, port: l.port })) };
  }

  status(): ZkClientPorts | null {
    if (this.listeners.length === 0) return null;
    return {
      connect_string: this.connectString(),
      ports: this.listeners.map((l) => ({ server: l.server.id, port: l.port, connections: this.countOn(l.server.id) })),
      connections: [...this.open.values()].map(({ id, server, port, remote_port, since_ms }) => ({ id, server, port, remote_port, since_ms })),
    };
  }

  /** `server` went down (killed, crashed): every connection to it closes, as its process's would. */
  serverDown(server: string): void {
    for (const connection of this.open.values()) {
      if (connection.server !== server) continue;
      // Said before the wire connection hears it: it closes the socket itself, for this reason.
      connection.closed_by ??= `${server} went down`;
      connection.wire_told = true;
      this.guard(connection, () => connection.wire?.onServerDown());
      this.closeSocket(connection, `${server} went down`);
    }
  }

  /** Stops listening and cuts every connection: their servers are stopping. */
  async stop(): Promise<void> {
    this.stopped = true;
    const closing: Promise<void>[] = [];
    for (const connection of this.open.values()) {
      closing.push(new Promise((resolve) => connection.socket.once('close', () => resolve())));
      connection.closed_by ??= 'the cluster stopped';
      connection.wire_told = true;
      this.guard(connection, () => connection.wire?.onServerDown());
      connection.socket.destroy();
    }
    // Each connection's closed event goes out before the cluster's end.
    await Promise.all([...closing, ...this.listeners.map((l) => closeListener(l.listener))]);
  }

  private countOn(server: string): number {
    let count = 0;
    for (const connection of this.open.values()) if (connection.server === server) count++;
    return count;
  }

  private accept(server: ZkServer, port: number, socket: Socket): void {
    // A client's reset is no error of the cluster's; 'close' follows it.
    socket.on('error', () => undefined);
    const remote_port = socket.remotePort ?? 0;
    const refuse = (why: string) => {
      this.host.log(`ZooKeeper port ${port} of ${server.id}: closed a connection from port ${remote_port} at once: ${why}`);
      socket.destroy();
    };
    if (this.stopped) return refuse('the cluster is stopping');
    const node = this.host.server(server.id);
    // A paused server's kernel still accepts connections; a down or starting one serves none.
    if (!node || (node.status !== 'up' && node.status !== 'paused')) return refuse(`${server.id} is ${node?.status ?? 'not running'}`);
    if (this.countOn(server.id) >= zk_connections_per_port_max) return refuse(`it has ${zk_connections_per_port_max} connections open already (the most one port takes)`);
    if (!this.host.factory) return refuse('this build of dslab does not speak ZooKeeper\'s wire protocol');
    const id = this.ids.take();
    this.host.forget(id);
    const connection: OpenConnection = { id, server: server.id, port, remote_port, since_ms: Date.now(), socket, wire: null, unsubscribe: () => undefined, closed_by: null, wire_told: false };
    this.open.set(id, connection);
    socket.on('close', () => this.closed(connection));
    this.host.emit({ type: 'zk_connection', phase: 'open', client: id, server: server.id, port, remote_port });
    try {
      connection.wire = this.host.factory(this.wireHost(server, connection));
    } catch (error) {
      this.host.log(`${id}: the wire connection failed to start (a bug in dslab): ${errorMessage(error)}`);
      connection.closed_by = 'it failed to start';
      socket.destroy();
      return;
    }
    socket.on('data', (chunk: Buffer) => this.guard(connection, () => connection.wire!.onBytes(chunk)));
  }

  private wireHost(server: ZkServer, connection: OpenConnection): WireConnectionHost {
    const { id, socket } = connection;
    return {
      server: server.id,
      client: id,
      request: (body, timeout_ms) => this.host.request(id, server.id, body, timeout_ms),
      onUnasked: (handler) => {
        connection.unsubscribe();
        connection.unsubscribe = this.host.subscribe(id, handler);
      },
      write: (bytes) => {
        if (socket.destroyed || socket.writableEnded) return;
        socket.write(bytes);
        if (socket.writableLength > zk_socket_buffered_bytes_max) {
          this.host.log(`${id}: closed: the client left more than ${zk_socket_buffered_bytes_max} bytes unread`);
          connection.closed_by = 'the client did not read its replies';
          socket.destroy();
        }
      },
      close: () => {
        connection.wire_told = true;
        this.closeSocket(connection, `${server.id} closed it`);
      },
      secret: this.secret,
      tick_ms: server.tick_ms,
      serverState: () => this.serverState(server.id),
      now: () => performance.now(),
      // The wire connection's lines name the connection themselves (host.client).
      log: (line) => this.host.log(line),
    };
  }

  private serverState(server: string): WireServerState {
    const node = this.host.server(server);
    const state = node?.state ?? {};
    const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
    return {
      up: node?.status === 'up',
      // A restarted server's last role is its old process's until it reports again.
      role: node && !node.role_stale && typeof state.role === 'string' ? state.role : 'looking',
      last_zxid: zxidNumber(state.last_zxid),
      connections: this.countOn(server),
      znodes: count(state.znodes),
      sessions: count(state.sessions),
    };
  }

  /** Ends the socket (what was written is flushed first), and cuts it if the client does not finish within zk_close_grace_ms. */
  private closeSocket(connection: OpenConnection, why: string): void {
    connection.closed_by ??= why;
    if (connection.socket.destroyed) return;
    connection.socket.end();
    setTimeout(() => connection.socket.destroy(), zk_close_grace_ms).unref();
  }

  private closed(connection: OpenConnection): void {
    if (this.open.get(connection.id) !== connection) return;
    this.open.delete(connection.id);
    connection.unsubscribe();
    this.host.forget(connection.id);
    this.ids.release(connection.id);
    if (!connection.wire_told) this.guard(connection, () => connection.wire?.onSocketClosed());
    const { id, server, port, remote_port } = connection;
    this.host.emit({ type: 'zk_connection', phase: 'closed', client: id, server, port, remote_port, reason: connection.closed_by ?? 'the client closed it' });
  }

  /** Runs a wire connection's handler; a throw (a bug in the translator) closes that connection, not the supervisor. */
  private guard(connection: OpenConnection, run: () => void): void {
    try {
      run();
    } catch (error) {
      this.host.log(`${connection.id}: closed: the wire connection failed (a bug in dslab): ${errorMessage(error)}`);
      connection.closed_by ??= 'the wire connection failed';
      connection.wire_told = true;
      connection.socket.destroy();
    }
  }
}
