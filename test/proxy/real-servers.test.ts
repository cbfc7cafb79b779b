import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultModel } from '../../src/lib/faults/fault-model.js';
import { RespConnection, type RespValue } from '../../src/lib/proxy/resp.js';
import { etcd_server, redis_server, type ServerKind } from '../../src/lib/proxy/server-kinds.js';
import { ServerMember } from '../../src/lib/proxy/server-member.js';
import { assertInstalled, type ServerExit, ServerProcess } from '../../src/lib/proxy/server-process.js';
import { UserError } from '../../src/lib/util/errors.js';
import { createRng } from '../../src/lib/util/prng.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { sleep, until } from './tcp-helpers.js';

// Real servers (Debian's redis-server and etcd-server, installed by .ci/run) behind the link proxy.
// These start real processes: run them under the cluster lock. Every process is stopped in afterAll.

const scratchDir = tempDirs('dslab-real-servers-');
/** How long a stalled request is watched to see that no reply comes. */
const quiet_wait_ms = 300;

/** One real server as a cluster member that nodes n1 and n2 reach, each through its own link proxy. */
async function serverBehindProxy(kind: ServerKind, id: string) {
  const dir = scratchDir();
  const exits: ServerExit[] = [];
  const model = new FaultModel(['n1', 'n2', id]);
  const member = await ServerMember.start({
    id,
    kind,
    clients: ['n1', 'n2'],
    faults: model,
    random: createRng(3).next,
    data_dir: path.join(dir, 'data'),
    log_file: path.join(dir, `${id}.log`),
    onExit: (exit) => exits.push(exit),
  });
  const endpoint = (client: string) => {
    const [host, port] = member.addressFor(client)!.split(':') as [string, string];
    return { host, port: Number(port) };
  };
  const { host, port } = endpoint('n1');
  return {
    member,
    server: member.server,
    proxy: member.proxyFor('n1')!,
    exits,
    host,
    port,
    endpoint,
    /** Cuts n1 off from the server; n2 keeps its link. */
    partition: () => {
      model.setPartition([['n1'], ['n2', id]]);
      member.faultsChanged();
    },
    heal: () => {
      model.heal();
      member.faultsChanged();
    },
    stop: () => member.stop(),
  };
}

/** Settles to 'pending' if `promise` has not settled within `ms`. */
async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<'pending' | { value: T } | { error: unknown }> {
  const outcome = promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  return Promise.race([outcome, sleep(ms).then(() => 'pending' as const)]);
}

describe('redis-server behind the link proxy', () => {
  let redis: Awaited<ReturnType<typeof serverBehindProxy>>;
  let client: RespConnection;
  const command = (args: string[]): Promise<RespValue> => client.command(args, 20_000);

  beforeAll(async () => {
    redis = await serverBehindProxy(redis_server, 'redis1');
    client = await RespConnection.connect(redis.host, redis.port);
  });
  afterAll(async () => {
    client?.close();
    await redis?.stop();
  });

  it('answers SET and GET through the proxy', async () => {
    expect(await command(['SET', 'greeting', 'hello'])).toBe('OK');
    expect(await command(['GET', 'greeting'])).toBe('hello');
    expect(redis.server.status()).toMatchObject({ kind: 'redis', state: 'running', restarts: 0 });
    expect(redis.proxy.counters().bytes_to_client).toBeGreaterThan(0);
  });

  it("stalls a GET across a partition and answers it after heal, while another node's link to the server still works", async () => {
    await command(['SET', 'k', 'before-partition']);
    const other = await RespConnection.connect(redis.endpoint('n2').host, redis.endpoint('n2').port);
    redis.partition();
    const get = command(['GET', 'k']);
    expect(await settledWithin(get, quiet_wait_ms)).toBe('pending');
    expect(await other.command(['GET', 'k'], 20_000)).toBe('before-partition');
    other.close();
    const status = redis.member.status();
    expect(status.links.map((l) => [l.link, l.counters.stalled_chunks > 0])).toEqual([
      ['n1->redis1', true],
      ['n2->redis1', false],
    ]);
    redis.heal();
    expect(await get).toBe('before-partition');
  });

  it('stalls a GET while the server is paused and answers it on resume', async () => {
    redis.server.pause();
    expect(redis.server.status().state).toBe('paused');
    const get = command(['GET', 'k']);
    expect(await settledWithin(get, quiet_wait_ms)).toBe('pending');
    redis.server.resume();
    expect(await get).toBe('before-partition');
    expect(redis.server.status().state).toBe('running');
  });

  it('shows a kill to the client as a broken connection, and a restart on the same port as a fresh server without the old keys', async () => {
    const port = redis.server.port;
    // A command that waits forever, so the kill finds it in flight.
    const pending = settledWithin(command(['BLPOP', 'never-filled', '0']), 10_000);
    await redis.server.kill();
    expect(await pending).toHaveProperty('error');
    expect(redis.server.status()).toMatchObject({ state: 'exited', pid: null, last_exit: { signal: 'SIGKILL', expected: true } });
    expect(redis.exits).toEqual([{ exit_code: null, signal: 'SIGKILL', expected: true }]);

    // While it is down, a new connection through the proxy is reset.
    const refused = await RespConnection.connect(redis.host, redis.port);
    await expect(refused.command(['PING'], 10_000)).rejects.toThrow();
    await until(() => redis.proxy.counters().upstream_failures >= 1, 'the proxy to count the refused connection');

    await redis.server.restart();
    expect(redis.server.port).toBe(port);
    expect(redis.server.status()).toMatchObject({ state: 'running', restarts: 1 });
    client = await RespConnection.connect(redis.host, redis.port);
    // No persistence: the restarted server has forgotten every key.
    expect(await command(['GET', 'k'])).toBeNull();
    expect(await command(['SET', 'k', 'after-restart'])).toBe('OK');
    expect(await command(['GET', 'k'])).toBe('after-restart');
  });

  it('reports an exit dslab did not cause as unexpected, and refuses to restart a running server', async () => {
    await expect(redis.server.restart()).rejects.toThrow(/redis1 is running; kill it first/);
    process.kill(redis.server.pid!, 'SIGTERM');
    await until(() => redis.server.status().state === 'exited', 'the server to exit');
    expect(redis.exits.at(-1)).toMatchObject({ expected: false });
    await expect(redis.server.kill()).rejects.toThrow(/already down/);
    await redis.server.restart();
    client = await RespConnection.connect(redis.host, redis.port);
    expect(await command(['PING'])).toBe('PONG');
  });
});

describe('server programs that cannot run', () => {
  it('says in one line how to install a missing program', async () => {
    const dir = scratchDir();
    const missing = { ...redis_server, binary: path.join(dir, 'redis-server') };
    const start = ServerProcess.start({ id: 'redis1', kind: missing, data_dir: path.join(dir, 'data'), log_file: path.join(dir, 'redis1.log') });
    await expect(start).rejects.toThrow(UserError);
    await expect(start).rejects.toThrow(/^redis-server is not installed: apt-get install redis-server$/);
    expect(() => assertInstalled(missing)).toThrow(/^redis-server is not installed: apt-get install redis-server$/);
    expect(assertInstalled(redis_server)).toMatch(/\/redis-server$/);
    // Nothing was started, so nothing was logged.
    expect(existsSync(path.join(dir, 'redis1.log'))).toBe(false);
  });

  it('reports a server that exits while starting, with its last output', async () => {
    const dir = scratchDir();
    const broken: ServerKind = { ...redis_server, args: (setup) => [...redis_server.args(setup), '--no-such-option', 'x'] };
    const start = ServerProcess.start({ id: 'redis1', kind: broken, data_dir: path.join(dir, 'data'), log_file: path.join(dir, 'redis1.log') });
    await expect(start).rejects.toThrow(/^redis1 \(redis-server\) exited while starting \(exit code 1\); last output: Bad directive/);
  });
});

/** etcd's JSON gateway: a v3 KV request with base64 keys and values. */
function etcdRequest(host: string, port: number, route: 'put' | 'range', body: Record<string, string>): Promise<Record<string, unknown>> {
  const encoded = Object.fromEntries(Object.entries(body).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  return new Promise((resolve, reject) => {
    const request = http.request({ host, port, path: `/v3/kv/${route}`, method: 'POST', agent: false }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve(JSON.parse(text) as Record<string, unknown>));
    });
    request.on('error', reject);
    request.end(JSON.stringify(encoded));
  });
}

const etcdValue = (reply: Record<string, unknown>): string | null => {
  const kvs = reply.kvs as { value: string }[] | undefined;
  return kvs?.[0] ? Buffer.from(kvs[0].value, 'base64').toString() : null;
};

describe('etcd behind the link proxy', () => {
  let etcd: Awaited<ReturnType<typeof serverBehindProxy>>;
  beforeAll(async () => {
    etcd = await serverBehindProxy(etcd_server, 'etcd1');
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('answers through the proxy, stalls across a partition, and keeps its data across kill and restart', async () => {
    await etcdRequest(etcd.host, etcd.port, 'put', { key: 'lock', value: 'held' });
    expect(etcdValue(await etcdRequest(etcd.host, etcd.port, 'range', { key: 'lock' }))).toBe('held');

    etcd.partition();
    const range = etcdRequest(etcd.host, etcd.port, 'range', { key: 'lock' });
    expect(await settledWithin(range, quiet_wait_ms)).toBe('pending');
    etcd.heal();
    expect(etcdValue(await range)).toBe('held');

    await etcd.server.kill();
    await expect(etcdRequest(etcd.host, etcd.port, 'range', { key: 'lock' })).rejects.toThrow();
    await etcd.server.restart();
    // etcd persists to its data directory, unlike the redis-server dslab runs.
    expect(etcdValue(await etcdRequest(etcd.host, etcd.port, 'range', { key: 'lock' }))).toBe('held');
  });
});
