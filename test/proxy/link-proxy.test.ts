import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultModel } from '../../src/lib/faults/fault-model.js';
import { connections_per_link_max, LinkProxy, linkFateFromModel } from '../../src/lib/proxy/link-proxy.js';
import { freeLoopbackPort } from '../../src/lib/proxy/server-process.js';
import { createRng } from '../../src/lib/util/prng.js';
import { connectClient, type EchoServer, sleep, startEchoServer, type TestClient, until } from './tcp-helpers.js';

// The link proxy against an in-process echo server: no child processes, so these run any time.

/** How long a stalled or delayed request is watched to see that nothing arrives; the faults under test hold bytes far longer. */
const quiet_wait_ms = 300;

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function setup(options: { held_bytes_max?: number; port?: number } = {}) {
  const echo = options.port === undefined ? await startEchoServer() : null;
  const model = new FaultModel(['n1', 'redis1']);
  const proxy = await LinkProxy.start({
    client: 'n1',
    server: 'redis1',
    target: () => ({ host: '127.0.0.1', port: options.port ?? echo!.port }),
    fate: linkFateFromModel(model, 'n1', 'redis1', createRng(7).next),
    ...(options.held_bytes_max ? { held_bytes_max: options.held_bytes_max } : {}),
  });
  const clients: TestClient[] = [];
  cleanups.push(async () => {
    for (const client of clients) client.socket.destroy();
    await proxy.close();
    await echo?.close();
  });
  const connect = () => {
    const client = connectClient(proxy.address);
    clients.push(client);
    return client;
  };
  const partition = () => {
    model.setPartition([['n1'], ['redis1']]);
    proxy.faultsChanged();
  };
  const heal = () => {
    model.heal();
    proxy.faultsChanged();
  };
  return { echo: echo as EchoServer, model, proxy, connect, partition, heal };
}

describe('link proxy', () => {
  it('passes bytes both ways intact, counts them, and passes a half-close on', async () => {
    const { echo, proxy, connect } = await setup();
    const client = connect();
    const payload = randomBytes(300_000);
    for (let offset = 0; offset < payload.length; offset += 7_000) client.socket.write(payload.subarray(offset, offset + 7_000));
    await until(() => client.received().length >= payload.length, 'the echo of every byte');
    expect(client.received().equals(payload)).toBe(true);
    expect(echo.received().equals(payload)).toBe(true);
    expect(proxy.counters()).toMatchObject({
      connections: 1,
      connections_open: 1,
      bytes_to_server: payload.length,
      bytes_to_client: payload.length,
      resets: 0,
      stalled_chunks: 0,
      held_bytes: 0,
    });
    // The client's FIN reaches the echo server, whose own FIN comes back.
    client.socket.end();
    await until(() => client.ended(), 'the end of the stream from the server');
    await until(() => proxy.counters().connections_open === 0, 'the proxied connection to close');
  });

  it('stalls bytes across a partition, delivers nothing, and releases them in order on heal', async () => {
    const { echo, proxy, connect, partition, heal } = await setup();
    const client = connect();
    client.socket.write('first;');
    await until(() => client.received().toString() === 'first;', 'the first echo');
    partition();
    const requests = Array.from({ length: 20 }, (_, i) => `request-${i};`);
    for (const request of requests) {
      client.socket.write(request);
      await sleep(2);
    }
    await sleep(quiet_wait_ms);
    expect(client.received().toString()).toBe('first;');
    expect(echo.received().toString()).toBe('first;');
    const held = proxy.counters();
    expect(held.stalled_chunks).toBeGreaterThan(0);
    expect(held.held_bytes).toBe(requests.join('').length);
    heal();
    const expected = 'first;' + requests.join('');
    await until(() => client.received().length >= expected.length, 'the held requests to be answered');
    expect(client.received().toString()).toBe(expected);
    expect(proxy.counters().held_bytes).toBe(0);
  });

  it('stalls a reply already on its way back when the partition starts', async () => {
    const { proxy, connect, partition, heal, model } = await setup();
    // Replies take 400 ms; the partition begins while one is in flight.
    model.setLinkFaults({ delay_ms: 400 }, ['n1', 'redis1']);
    const client = connect();
    client.socket.write('ping');
    await until(() => proxy.counters().bytes_to_server === 4, 'the request to reach the server');
    partition();
    await sleep(800);
    expect(client.received().length).toBe(0);
    heal();
    await until(() => client.received().toString() === 'ping', 'the reply after heal');
  });

  it('holds at most its byte limit during a partition, then stops reading so TCP pushes back on the sender; heal delivers every byte in order', async () => {
    const held_bytes_max = 64 * 1024;
    const { echo, proxy, connect, partition, heal } = await setup({ held_bytes_max });
    partition();
    const client = connect();
    const payload = randomBytes(4 * 1024 * 1024);
    for (let offset = 0; offset < payload.length; offset += 16 * 1024) client.socket.write(payload.subarray(offset, offset + 16 * 1024));
    await until(() => proxy.counters().backpressure_pauses >= 1, 'the proxy to stop reading');
    await sleep(quiet_wait_ms);
    // One read chunk may go past the limit; the kernel's socket buffers hold a little more, the client's own buffer the rest.
    expect(proxy.counters().held_bytes).toBeLessThanOrEqual(held_bytes_max + 64 * 1024);
    expect(client.socket.writableLength).toBeGreaterThan(1024 * 1024);
    expect(echo.connections).toBe(0);
    heal();
    await until(() => client.received().length >= payload.length, 'all 4 MiB to come back', 30_000);
    expect(client.received().equals(payload)).toBe(true);
    expect(proxy.counters().held_bytes).toBe(0);
  });

  it('does not connect on to the server across a partition until it heals', async () => {
    const { echo, connect, partition, heal } = await setup();
    partition();
    const client = connect();
    client.socket.write('hello');
    await sleep(quiet_wait_ms);
    expect(echo.connections).toBe(0);
    heal();
    await until(() => client.received().toString() === 'hello', 'the echo after heal');
    expect(echo.connections).toBe(1);
  });

  it("delays bytes by the link's delay, and keeps their order under jitter", async () => {
    const { model, proxy, connect } = await setup();
    model.setLinkFaults({ delay_ms: 500 }, ['n1', 'redis1']);
    proxy.faultsChanged();
    const client = connect();
    client.socket.write('slow');
    await sleep(quiet_wait_ms);
    expect(client.received().length).toBe(0);
    await until(() => client.received().toString() === 'slow', 'the delayed echo');

    model.setLinkFaults({ delay_ms: 30, jitter_ms: 30 }, ['n1', 'redis1']);
    const pieces = Array.from({ length: 60 }, (_, i) => `${i},`);
    for (const piece of pieces) {
      client.socket.write(piece);
      await sleep(1);
    }
    const expected = 'slow' + pieces.join('');
    await until(() => client.received().length >= expected.length, 'every jittered piece');
    expect(client.received().toString()).toBe(expected);
  });

  it('resets the connection when loss strikes a chunk, and counts it; without loss a new connection works', async () => {
    const { echo, model, proxy, connect } = await setup();
    model.setLinkFaults({ loss: 1 }, ['n1', 'redis1']);
    const lost = connect();
    lost.socket.write('doomed');
    await until(() => lost.closed(), 'the reset');
    expect(lost.error()?.code).toBe('ECONNRESET');
    expect(echo.received().length).toBe(0);
    expect(proxy.counters()).toMatchObject({ resets: 1, bytes_to_server: 0 });

    model.heal();
    const fine = connect();
    fine.socket.write('fine');
    await until(() => fine.received().toString() === 'fine', 'the echo on a new connection');
    expect(proxy.counters().resets).toBe(1);
  });

  it('resets the client when the server refuses the connection (the server is down), and counts it', async () => {
    const { proxy, connect } = await setup({ port: await freeLoopbackPort() });
    const client = connect();
    client.socket.write('anyone?');
    await until(() => client.closed(), 'the reset');
    expect(client.error()?.code).toBe('ECONNRESET');
    expect(proxy.counters()).toMatchObject({ upstream_failures: 1, connections_open: 0 });
  });

  it('passes the server closing a connection on to the client', async () => {
    const { echo, connect } = await setup();
    const client = connect();
    client.socket.write('hi');
    await until(() => client.received().toString() === 'hi', 'the echo');
    for (const socket of echo.sockets) socket.end();
    await until(() => client.ended(), 'the end of the stream');
  });

  it(`closes connections beyond ${connections_per_link_max} at accept and counts them`, async () => {
    const { proxy, connect } = await setup();
    const clients = Array.from({ length: connections_per_link_max + 2 }, () => connect());
    await until(() => proxy.counters().connections + proxy.counters().connections_refused >= clients.length, 'every connection to be accepted or refused');
    expect(proxy.counters()).toMatchObject({ connections: connections_per_link_max, connections_refused: 2 });
    await until(() => clients.filter((c) => c.closed()).length === 2, 'the refused two to close');
  });
});
