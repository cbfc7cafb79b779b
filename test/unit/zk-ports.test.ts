import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { formatZkClients } from '../../src/cli/format/status.js';
import { planCluster } from '../../src/lib/cluster/launch.js';
import type { NewClusterEvent, NodeStatusKind } from '../../src/lib/control/api.js';
import type { MessageBody } from '../../src/lib/protocol/messages.js';
import { RangeClientIds, rangeClientId, SessionClientIds, zk_wire_clients_max } from '../../src/lib/supervisor/client-ids.js';
import { connectString, listenPorts, portWishes, zk_connections_per_port_max, zk_default_client_port, ZkClientPortSet, type ZkPortsHost, zxidNumber } from '../../src/lib/supervisor/zk-ports.js';
import { UserError } from '../../src/lib/util/errors.js';
import type { WireConnection, WireConnectionHost } from '../../src/lib/zk-wire/host.js';
import { findSystem, viewFor } from '../../src/registry.js';
import { clusterStatus, nodeStatus } from '../helpers/status.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { waitFor } from '../helpers/cli.js';

const tempDir = tempDirs('dslab-zk-ports-');
const opened: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(opened.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

function listenOn(port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      opened.push(server);
      resolve(server);
    });
  });
}

const portOf = (server: Server) => (server.address() as { port: number }).port;

describe('port choice', () => {
  it('asks for 2181 and on by default, each a wish a taken port gives way on', () => {
    expect(portWishes(3, undefined)).toEqual([
      { port: 2181, required: false },
      { port: 2182, required: false },
      { port: 2183, required: false },
    ]);
  });

  it('asks for --zk-port and the ports after it, each required; 0 for any free ports', () => {
    expect(portWishes(2, 3000)).toEqual([
      { port: 3000, required: true },
      { port: 3001, required: true },
    ]);
    expect(portWishes(2, 0)).toEqual([
      { port: 0, required: true },
      { port: 0, required: true },
    ]);
  });

  it('refuses a --zk-port whose servers would run past the last TCP port', () => {
    expect(() => portWishes(3, 65_534)).toThrow(UserError);
    expect(() => portWishes(3, 65_534)).toThrow(/ports 65534 to 65536, past 65535/);
  });

  it('takes another free port when 2181 is taken', async () => {
    // Taken either by this test or by whatever holds it already.
    await listenOn(zk_default_client_port);
    const listeners = await listenPorts(portWishes(2, undefined), ['n1', 'n2']);
    opened.push(...listeners);
    const ports = listeners.map(portOf);
    expect(ports[0]).not.toBe(zk_default_client_port);
    expect(ports[0]).toBeGreaterThan(0);
    expect(new Set(ports).size).toBe(2);
  });

  it('fails with one line naming the port and server when a port asked for is taken, and frees what it opened', async () => {
    const blocker = (await listenOn(0))!;
    const taken = portOf(blocker);
    const free = portOf((await listenOn(0))!);
    await new Promise((resolve) => opened.pop()!.close(resolve));
    const attempt = listenPorts(
      [
        { port: free, required: true },
        { port: taken, required: true },
      ],
      ['z1', 'z2'],
    );
    await expect(attempt).rejects.toThrow(UserError);
    await expect(attempt).rejects.toThrow(`--zk-port: cannot listen on 127.0.0.1:${taken} for z2: the port is in use`);
    // The first port was opened and closed again.
    expect(await listenOn(free)).not.toBeNull();
  });
});

describe('connect string and zxids', () => {
  it('lists the ports on loopback in server order', () => {
    expect(connectString([2181, 40001, 2183])).toBe('127.0.0.1:2181,127.0.0.1:40001,127.0.0.1:2183');
  });

  it("reads a reported zxid (epoch:counter) as ZooKeeper's 64-bit number", () => {
    expect(zxidNumber('3:5')).toBe((3n << 32n) | 5n);
    expect(zxidNumber('4294967295:4294967295')).toBe(0xffffffffffffffffn);
    expect(zxidNumber(undefined)).toBe(0n);
    expect(zxidNumber('0x5')).toBe(0n);
  });
});

describe('connection ids', () => {
  it('gives wire connections a range of their own after every other range', () => {
    expect(rangeClientId('zk_wire', 0)).toBe('c13001');
    expect(rangeClientId('zk_wire', zk_wire_clients_max - 1)).toBe(`c${13000 + zk_wire_clients_max}`);
    expect(rangeClientId('test', 9999)).toBe('c13000');
  });

  it('hands out round robin: a released id comes back only after the rest of the range', () => {
    const ids = new RangeClientIds('zk_wire', 'round_robin', 'connections');
    const first = ids.take();
    expect(ids.take()).toBe('c13002');
    ids.release(first);
    expect(ids.take()).toBe('c13003');
    expect(ids.size).toBe(2);
  });

  it('keeps sessions on the lowest free id, as before', () => {
    const ids = new SessionClientIds();
    const first = ids.take();
    ids.take();
    ids.release(first);
    expect(ids.take()).toBe(first);
  });
});

describe('which clusters get client ports', () => {
  const plan = (system: string, extra: Record<string, unknown> = {}) =>
    planCluster({ system, plugin: findSystem(system), known_systems: [], view: viewFor(system), nodes: 3, group_counts: { workers: 2, coordinator: 3, contenders: 2 }, init_timeout_ms: 1000, cwd: tempDir(), ...extra });

  it("marks every Zab group with its tick: zab's nodes (with --tick), snowflake's coordinator, locks' with --backend zk", async () => {
    const zab = await plan('zab', { options: { tick_ms: 250 }, zk_port: 0 });
    expect(zab.groups.map((g) => g.zk_client_port)).toEqual([{ tick_ms: 250 }]);
    expect(zab.zk_port).toBe(0);
    const snowflake = await plan('snowflake');
    expect(snowflake.groups.find((g) => g.name === 'coordinator')!.zk_client_port).toEqual({ tick_ms: 100 });
    expect(snowflake.groups.find((g) => g.name === 'workers')!.zk_client_port).toBeUndefined();
    const locks = await plan('locks', { options: { lock_backend: 'zk' } });
    expect(locks.groups.filter((g) => g.zk_client_port).map((g) => g.name)).toEqual(['coordinator']);
  });

  it('refuses --zk-port for a cluster without Zab servers, and gives a --bin program in their place no port', async () => {
    await expect(plan('raft', { zk_port: 2181 })).rejects.toThrow(/--zk-port: raft runs no Zab servers/);
    const mine = await plan('zab', { bin: 'python3 node.py' });
    expect(mine.groups.every((g) => g.zk_client_port === undefined)).toBe(true);
  });
});

/** A fake supervisor around the ports: servers whose state the test sets, requests answered at once. */
function fakeHost() {
  const states = new Map<string, NodeStatusKind>([
    ['n1', 'up'],
    ['n2', 'up'],
  ]);
  const events: NewClusterEvent[] = [];
  const logs: string[] = [];
  const wires: { host: WireConnectionHost; calls: string[] }[] = [];
  const forgotten: string[] = [];
  const host: ZkPortsHost = {
    factory: (wireHost) => {
      const record = { host: wireHost, calls: [] as string[] };
      wires.push(record);
      const connection: WireConnection = {
        onBytes: (chunk) => {
          record.calls.push(`bytes ${Buffer.from(chunk).toString()}`);
          void wireHost.request({ type: 'ping' }, 1000).then((reply) => wireHost.write(Buffer.from(`${reply.type}\n`)));
        },
        onSocketClosed: () => record.calls.push('socket closed'),
        onServerDown: () => {
          record.calls.push('server down');
          wireHost.close();
        },
      };
      return connection;
    },
    server: (id) => {
      const status = states.get(id);
      return status ? { status, state: { role: 'following', last_zxid: '1:2', znodes: 4, sessions: 1 }, role_stale: false } : undefined;
    },
    request: (client, dest, body) => Promise.resolve({ type: `${body.type}_ok`, client, dest } as MessageBody),
    subscribe: () => () => undefined,
    forget: (client) => void forgotten.push(client),
    emit: (event) => void events.push(event),
    log: (line) => void logs.push(line),
  };
  return { host, states, events, logs, wires, forgotten };
}

function rawClient(port: number): { socket: Socket; text: () => string; closed: Promise<void> } {
  const socket = connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  let text = '';
  socket.on('error', () => undefined);
  socket.on('data', (chunk) => (text += String(chunk)));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, text: () => text, closed };
}

describe('the client ports', () => {
  const servers = [
    { id: 'n1', tick_ms: 100 },
    { id: 'n2', tick_ms: 100 },
  ];
  const started: ZkClientPortSet[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((ports) => ports.stop()));
  });
  const start = async (fake: ReturnType<typeof fakeHost>) => {
    const ports = new ZkClientPortSet(servers, fake.host);
    started.push(ports);
    await ports.start(0);
    return ports;
  };

  it("gives each connection its own endpoint, routes its requests to its server, and reports the server's state", async () => {
    const fake = fakeHost();
    const ports = await start(fake);
    const [p1, p2] = ports.status()!.ports.map((p) => p.port);
    const a = rawClient(p1!);
    // One after the other, so the ids go in this order.
    await waitFor('the first connection', () => ports.status()!.connections.length === 1);
    const b = rawClient(p2!);
    a.socket.write('x');
    b.socket.write('y');
    await waitFor('both replies', () => a.text() === 'ping_ok\n' && b.text() === 'ping_ok\n');
    const [wa, wb] = fake.wires;
    expect([wa!.host.client, wb!.host.client]).toEqual(['c13001', 'c13002']);
    expect([wa!.host.server, wb!.host.server]).toEqual(['n1', 'n2']);
    expect(wa!.host.tick_ms).toBe(100);
    expect(wa!.host.secret).toBe(wb!.host.secret);
    expect(wa!.host.serverState()).toEqual({ up: true, role: 'following', last_zxid: (1n << 32n) | 2n, connections: 1, znodes: 4, sessions: 1 });
    const status = ports.status()!;
    expect(status.connect_string).toBe(`127.0.0.1:${p1},127.0.0.1:${p2}`);
    expect(status.connections.map((c) => [c.id, c.server, c.remote_port])).toEqual([
      ['c13001', 'n1', a.socket.localPort],
      ['c13002', 'n2', b.socket.localPort],
    ]);
    expect(fake.events.filter((e) => e.type === 'zk_connection').map((e) => (e as { client: string }).client)).toEqual(['c13001', 'c13002']);
  });

  it("closes the connections of a server that went down, telling their wire connections, and no other server's", async () => {
    const fake = fakeHost();
    const ports = await start(fake);
    const [p1, p2] = ports.status()!.ports.map((p) => p.port);
    const a = rawClient(p1!);
    rawClient(p2!);
    await waitFor('both connections', () => ports.status()!.connections.length === 2);
    fake.states.set('n1', 'down');
    ports.serverDown('n1');
    await a.closed;
    expect(fake.wires[0]!.calls).toEqual(['server down']);
    await waitFor('the closed connection gone', () => ports.status()!.connections.length === 1);
    expect(ports.status()!.connections[0]!.server).toBe('n2');
    expect(fake.forgotten).toContain('c13001');
    expect(fake.events.at(-1)).toMatchObject({ type: 'zk_connection', phase: 'closed', client: 'c13001', reason: 'n1 went down' });
    // While n1 is down, a new connection is closed at once, with a line in the log, and no wire connection is made.
    const refused = rawClient(p1!);
    await refused.closed;
    expect(fake.wires).toHaveLength(2);
    expect(fake.logs.at(-1)).toMatch(/closed a connection from port \d+ at once: n1 is down/);
  });

  it('tells the wire connections their servers are going when the cluster stops, and closes every port', async () => {
    const fake = fakeHost();
    const ports = new ZkClientPortSet(servers, fake.host);
    await ports.start(0);
    const port = ports.status()!.ports[0]!.port;
    const a = rawClient(port);
    await waitFor('the connection', () => ports.status()!.connections.length === 1);
    await ports.stop();
    await a.closed;
    expect(fake.wires[0]!.calls).toEqual(['server down']);
    expect(fake.events.at(-1)).toMatchObject({ phase: 'closed', reason: 'the cluster stopped' });
    const late = rawClient(port);
    await late.closed;
    expect(late.text()).toBe('');
  });

  it('tells the wire connection when the client closes, and frees its id', async () => {
    const fake = fakeHost();
    const ports = await start(fake);
    const a = rawClient(ports.status()!.ports[0]!.port);
    await waitFor('the connection', () => ports.status()!.connections.length === 1);
    a.socket.end();
    await waitFor('the connection gone', () => ports.status()!.connections.length === 0);
    expect(fake.wires[0]!.calls).toEqual(['socket closed']);
    expect(fake.events.at(-1)).toMatchObject({ phase: 'closed', reason: 'the client closed it' });
  });

  it(`closes a connection past ${zk_connections_per_port_max} on one port at once, with a log line`, async () => {
    const fake = fakeHost();
    const ports = await start(fake);
    const port = ports.status()!.ports[0]!.port;
    for (let i = 0; i < zk_connections_per_port_max; i++) rawClient(port);
    await waitFor('the port full', () => ports.status()!.ports[0]!.connections === zk_connections_per_port_max, 30_000);
    const over = rawClient(port);
    await over.closed;
    expect(fake.logs.at(-1)).toMatch(/has 60 connections open already/);
    expect(ports.status()!.ports[0]!.connections).toBe(zk_connections_per_port_max);
  });

  it('closes every connection at once without a wire protocol', async () => {
    const fake = fakeHost();
    const ports = new ZkClientPortSet(servers, { ...fake.host, factory: null });
    started.push(ports);
    await ports.start(0);
    const a = rawClient(ports.status()!.ports[0]!.port);
    await a.closed;
    expect(fake.logs.at(-1)).toMatch(/does not speak ZooKeeper's wire protocol/);
  });
});

describe('status text', () => {
  it('prints the connect string, each port, and a row per connection with its age', () => {
    const status = clusterStatus([nodeStatus('n1')], {
      started_at_ms: 1_000_000,
      uptime_ms: 60_000,
      zk: {
        connect_string: '127.0.0.1:2181,127.0.0.1:2182',
        ports: [
          { server: 'n1', port: 2181, connections: 1 },
          { server: 'n2', port: 2182, connections: 0 },
        ],
        connections: [{ id: 'c13001', server: 'n1', port: 2181, remote_port: 50432, since_ms: 1_000_000 + 48_000 }],
      },
    });
    const text = formatZkClients(status)!;
    expect(text.split('\n')[0]).toBe('ZooKeeper clients connect to 127.0.0.1:2181,127.0.0.1:2182 (n1 port 2181, n2 port 2182)');
    expect(text).toMatch(/c13001\s+n1\s+2181\s+50432\s+12s ago/);
    expect(formatZkClients({ ...status, zk: { ...status.zk!, connections: [] } })).toMatch(/; none connected$/);
    expect(formatZkClients({ ...status, zk: undefined })).toBeNull();
  });
});
