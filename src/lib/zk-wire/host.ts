// The seam between a ZooKeeper wire connection (a TCP client speaking ZooKeeper's binary protocol)
// and the cluster it reaches. The supervisor accepts the TCP connection on the port of one Zab
// server and gives it a router endpoint of its own (so partitions, delays, losses and pauses act on
// it as on any client); the connection turns each wire request into the coordinator's JSON client
// messages (docs/zab.md, "Client messages") sent from that endpoint, and each reply or unasked
// message back into wire frames.

import type { MessageBody } from '../protocol/messages.js';

/** What a wire connection needs from the supervisor. */
export interface WireConnectionHost {
  /** The Zab server whose port the client connected to. */
  readonly server: string;
  /** The connection's router endpoint id (shown in `status`; `partition --isolate` names it). */
  readonly client: string;
  /**
   * Sends a JSON client message to `server` from `client` over the router and waits for its reply;
   * rejects when no reply came within timeout_ms or the server is down.
   */
  request(body: Omit<MessageBody, 'msg_id'>, timeout_ms: number): Promise<MessageBody>;
  /** Hands every unasked message (watch_event, session_expired) the server sends to `client` to `handler`. */
  onUnasked(handler: (body: MessageBody) => void): void;
  /** Writes bytes to the TCP socket. */
  write(bytes: Uint8Array): void;
  /** Closes the TCP socket (after what was written is flushed). */
  close(): void;
  /** A secret of this cluster's, the same for every port: session passwords are derived from it, so a session re-attaches on any server. */
  readonly secret: Uint8Array;
  /** The cluster's tick in ms (session timeouts negotiate to 2..20 ticks). */
  readonly tick_ms: number;
  /** The server's last known state for the four-letter words and the zxid check (from its reports). */
  serverState(): WireServerState;
  /** Monotonic ms. */
  now(): number;
  /** A line for the supervisor's log. */
  log(line: string): void;
}

export interface WireServerState {
  up: boolean;
  /** leading | following | observing | looking */
  role: string;
  /** The last zxid the server applied, as ZooKeeper's 64-bit number (epoch << 32 | counter). */
  last_zxid: bigint;
  /** Connections to this port now. */
  connections: number;
  znodes: number;
  sessions: number;
}

/** A wire connection: the supervisor feeds it the socket's bytes and events. */
export interface WireConnection {
  /** Bytes arrived from the client (any split: frames may span or share chunks). */
  onBytes(chunk: Uint8Array): void;
  /** The client closed the socket or it broke. */
  onSocketClosed(): void;
  /** The server died or was killed: the connection must close, as a real server's TCP connection would. */
  onServerDown(): void;
}

export type WireConnectionFactory = (host: WireConnectionHost) => WireConnection;
