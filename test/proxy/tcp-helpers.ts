import net from 'node:net';

/** Polls `check` until it holds or the deadline passes (generous: a loaded 2-core machine). */
export async function until(check: () => boolean, what: string, timeout_ms = 10_000): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP echo server on loopback that records what reached it. */
export interface EchoServer {
  port: number;
  connections: number;
  received: () => Buffer;
  /** Sockets it has open, to close them from the server side. */
  sockets: Set<net.Socket>;
  close(): Promise<void>;
}

export async function startEchoServer(): Promise<EchoServer> {
  const chunks: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const echo: EchoServer = {
    port: 0,
    connections: 0,
    received: () => Buffer.concat(chunks),
    sockets,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((socket) => {
    echo.connections++;
    sockets.add(socket);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      socket.write(chunk);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  echo.port = (server.address() as net.AddressInfo).port;
  return echo;
}

/** A client connection that collects what it receives and how it ended. */
export interface TestClient {
  socket: net.Socket;
  received: () => Buffer;
  ended: () => boolean;
  error: () => (Error & { code?: string }) | null;
  closed: () => boolean;
}

export function connectClient(address: string): TestClient {
  const [host, port] = address.split(':');
  const socket = net.connect({ host: host!, port: Number(port) });
  const chunks: Buffer[] = [];
  let ended = false;
  let closed = false;
  let error: (Error & { code?: string }) | null = null;
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('end', () => (ended = true));
  socket.on('error', (e) => (error = e));
  socket.on('close', () => (closed = true));
  return { socket, received: () => Buffer.concat(chunks), ended: () => ended, error: () => error, closed: () => closed };
}
