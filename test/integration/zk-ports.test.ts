import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZkClientConnection } from '../../src/lib/control/api.js';
import { cleanup, cli_path, controlStatus, dslab, makeWorkdir, repo_root, waitFor } from '../helpers/cli.js';

/**
 * The Zab servers' ZooKeeper client ports on a real cluster. The wire protocol itself is zk-wire's
 * (its own tests); here a line-protocol stand-in (test/fixtures/zk-wire-echo.mjs, through the
 * DSLAB_ZK_WIRE hook) serves each connection, so what is tested is the supervisor's side: ports and
 * connect string, each connection a router endpoint that faults name, and a server's death closing
 * its connections. One cluster for the file; the tests run in order on it.
 */
const echo_wire = path.join(repo_root, 'test', 'fixtures', 'zk-wire-echo.mjs');

/** A raw TCP client of one port: what arrives, as text and as lines, and when the server closes. */
class RawClient {
  text = '';
  readonly closed: Promise<void>;
  private readonly socket: Socket;
  private readonly opened: Promise<void>;

  constructor(port: number) {
    this.socket = connect({ host: '127.0.0.1', port });
    this.socket.on('error', () => undefined);
    this.socket.setEncoding('utf8');
    this.socket.on('data', (chunk: string) => (this.text += chunk));
    this.opened = new Promise((resolve) => this.socket.once('connect', () => resolve()));
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  async localPort(): Promise<number> {
    await this.opened;
    return this.socket.localPort!;
  }

  write(text: string): void {
    this.socket.write(text);
  }

  /**
   * Sends a client message and waits for the line answering it (the stand-in answers in order of replies; these tests
   * send one at a time). What the server sent unasked is no answer: a session these tests leave idle expires, and its
   * session_expired may arrive at any time.
   */
  async request(body: Record<string, unknown>): Promise<{ reply?: Record<string, unknown>; error?: string }> {
    const answers = () => this.lines().filter((line) => line.unasked === undefined);
    const before = answers().length;
    this.write(`${JSON.stringify(body)}\n`);
    return waitFor('the answer on the client connection', () => answers()[before]);
  }

  lines(): { reply?: Record<string, unknown>; error?: string; unasked?: Record<string, unknown> }[] {
    return this.text
      .split('\n')
      .slice(0, -1)
      .map((line) => JSON.parse(line) as { reply?: Record<string, unknown>; error?: string; unasked?: Record<string, unknown> });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

describe('ZooKeeper client ports on a zab cluster', () => {
  let cwd: string;
  let upOutput = '';
  const clients: RawClient[] = [];
  const status = () => controlStatus(cwd);
  const client = (port: number) => {
    const made = new RawClient(port);
    clients.push(made);
    return made;
  };
  const portOf = async (server: string) => (await status()).zk!.ports.find((p) => p.server === server)!.port;
  /** Asks for a session until one is opened (the ensemble may still be electing). */
  const connected = (raw: RawClient) =>
    waitFor('a session on the connection', async () => {
      const answer = await raw.request({ type: 'connect', timeout_ms: 2000 });
      return answer.reply?.type === 'connect_ok' ? answer.reply : undefined;
    });

  beforeAll(async () => {
    cwd = makeWorkdir();
    const up = await execa(process.execPath, [cli_path, 'up', 'zab', '--nodes', '3', '--detach'], { cwd, reject: false, env: { NO_COLOR: '1', DSLAB_HOME: '', DSLAB_ZK_WIRE: echo_wire }, timeout: 120_000 });
    expect(up.exitCode, String(up.stderr)).toBe(0);
    upOutput = String(up.stdout);
  });

  afterAll(async () => {
    for (const raw of clients) raw.destroy();
    await cleanup(cwd);
  });

  it('gives every server a port of its own, in one connect string that up and status print', async () => {
    const s = await status();
    const zk = s.zk!;
    expect(zk.ports.map((p) => p.server)).toEqual(['n1', 'n2', 'n3']);
    expect(new Set(zk.ports.map((p) => p.port)).size).toBe(3);
    expect(zk.connect_string).toBe(zk.ports.map((p) => `127.0.0.1:${p.port}`).join(','));
    expect(upOutput).toContain(`ZooKeeper clients connect to ${zk.connect_string}`);
    const text = await dslab(cwd, 'status');
    expect(text.stdout).toContain(`ZooKeeper clients connect to ${zk.connect_string} (n1 port ${zk.ports[0]!.port}`);
  });

  it('refuses in one line a --zk-port already in use, before any node starts, and one for a cluster without Zab servers', async () => {
    const taken = await portOf('n1');
    const second = await dslab(cwd, 'up', 'zab', '--name', 'second', '--zk-port', String(taken), '--detach');
    expect(second.exitCode).toBe(1);
    expect(second.stderr.trim()).toBe(`dslab: --zk-port: cannot listen on 127.0.0.1:${taken} for n1: the port is in use (logs: dslab logs supervisor --cluster second)`);
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    // No node was started: none has a log.
    expect(existsSync(path.join(cwd, '.dslab', 'second', 'logs', 'n1.log'))).toBe(false);
    expect(existsSync(path.join(cwd, '.dslab', 'second', 'supervisor.log'))).toBe(true);
    const raft = await dslab(cwd, 'up', 'raft', '--zk-port', '0', '--detach');
    expect(raft.exitCode).toBe(1);
    expect(raft.stderr.trim()).toMatch(/^dslab: --zk-port: raft runs no Zab servers/);
  });

  it('answers a four-letter word from the server it reached', async () => {
    const ruok = client(await portOf('n2'));
    ruok.write('ruok');
    await ruok.closed;
    expect(ruok.text).toBe('imok');
    const srvr = client(await portOf('n2'));
    srvr.write('srvr');
    await srvr.closed;
    expect(srvr.text).toMatch(/^Zxid: 0x[0-9a-f]+\nMode: (leading|following|looking)\nConnections: \d+\n/);
  });

  it('makes each connection a router endpoint: status names it, and isolating it drops its traffic until healed', async () => {
    const raw = client(await portOf('n1'));
    await connected(raw);
    const local = await raw.localPort();
    const row = await waitFor('the connection in status', async () => (await status()).zk!.connections.find((c: ZkClientConnection) => c.remote_port === local));
    expect(row).toMatchObject({ server: 'n1', id: expect.stringMatching(/^c\d+$/) });
    expect((await dslab(cwd, 'status')).stdout).toMatch(new RegExp(`${row.id}\\s+n1\\s+${row.port}\\s+${local}\\s`));

    const isolate = await dslab(cwd, 'partition', '--isolate', row.id);
    expect(isolate.exitCode, isolate.stderr).toBe(0);
    const cut = await raw.request({ type: 'connect', timeout_ms: 2000, wait_ms: 1000 });
    expect(cut.error).toMatch(/did not answer connect/);
    const link = (await status()).links.find((l) => l.link === `${row.id}->n1`);
    expect(link?.dropped).toBeGreaterThan(0);

    expect((await dslab(cwd, 'heal')).exitCode).toBe(0);
    expect((await raw.request({ type: 'connect', timeout_ms: 2000 })).reply).toMatchObject({ type: 'connect_ok', server: 'n1' });
  });

  it('closes the connections of a server that is killed, refuses new ones while it is down, and serves again after its restart', async () => {
    const port = await portOf('n3');
    const raw = client(port);
    await connected(raw);
    const local = await raw.localPort();
    const { id } = await waitFor('the connection in status', async () => (await status()).zk!.connections.find((c) => c.remote_port === local));

    expect((await dslab(cwd, 'kill', 'n3')).exitCode).toBe(0);
    await raw.closed;
    await waitFor('the connection gone from status', async () => !(await status()).zk!.connections.some((c) => c.id === id));

    const refused = client(port);
    refused.write('ruok');
    await refused.closed;
    expect(refused.text).toBe('');

    expect((await dslab(cwd, 'restart', 'n3')).exitCode).toBe(0);
    const again = client(port);
    again.write('ruok');
    await again.closed;
    expect(again.text).toBe('imok');
  });
});
