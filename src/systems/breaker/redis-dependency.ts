// The services' dependency as a real redis-server (--dependency redis): each call is one command over
// the service's link proxy to redis1 (address from init's dslab_servers), with dslab's RESP client.

import { RespConnection, RespError } from '../../lib/proxy/resp.js';
import type { Node } from '../../lib/runtime/node.js';
import type { DependencyCall, DependencyClient } from './dependency-client.js';

/**
 * Connections a service keeps to redis1 at most. A command that times out fails its connection (RESP
 * pairs replies with commands by order, so a late reply would answer the wrong one): calls use a
 * connection each, idle ones are reused, and past this many at once a call fails at once.
 */
export const redis_connections_max = 64;
/** A connection not made within this is a failed call. */
export const redis_connect_timeout_ms = 1000;

/**
 * What a redis reply means to the breaker: -ERR and -WRONGTYPE are the command's own fault (a bad
 * request); any other error reply (-BUSY, -LOADING, -OOM …) is the server failing.
 */
export function redisCallOf(reply: unknown): DependencyCall {
  if (!(reply instanceof RespError)) return 'success';
  return /^(ERR|WRONGTYPE)\b/.test(reply.message) ? 'bad_request' : 'failure';
}

/** The command of one call: a read of the key, or (bad) a GET with no key, which redis refuses with -ERR. */
export function redisCommand(key: string, bad: boolean): string[] {
  return bad ? ['GET'] : ['GET', `dslab:breaker:${key}`];
}

/** The address of the redis server in init's dslab_servers ("127.0.0.1:PORT"), or null. */
export function redisAddress(init: Readonly<Record<string, unknown>> | null): string | null {
  const servers = (init?.dslab_servers ?? {}) as Record<string, { kind?: string; address?: string }>;
  return Object.values(servers).find((s) => s.kind === 'redis' && typeof s.address === 'string')?.address ?? null;
}

export function redisDependency(node: Node): DependencyClient {
  const address = redisAddress(node.initBody);
  const idle: RespConnection[] = [];
  let open = 0;
  const take = async (): Promise<RespConnection> => {
    for (let connection = idle.pop(); connection; connection = idle.pop()) {
      if (connection.error === null) return connection;
      open--;
    }
    if (open >= redis_connections_max) throw new Error(`${redis_connections_max} connections to redis are in use`);
    if (!address) throw new Error('no redis server in init (dslab_servers)');
    const [host, port] = address.split(':');
    open++;
    try {
      return await RespConnection.connect(host!, Number(port), redis_connect_timeout_ms);
    } catch (error) {
      open--;
      throw error;
    }
  };
  const give = (connection: RespConnection) => {
    if (connection.error === null) idle.push(connection);
    else open--;
  };
  return {
    async call(key, bad, _attempt, timeout_ms) {
      const started = Date.now();
      let connection: RespConnection;
      try {
        connection = await take();
      } catch {
        return Date.now() - started >= timeout_ms ? 'timeout' : 'failure';
      }
      try {
        return redisCallOf(await connection.command(redisCommand(key, bad), Math.max(1, timeout_ms - (Date.now() - started))));
      } catch {
        // No reply in time is a timeout; a connection that broke sooner is a failed call.
        return Date.now() - started >= timeout_ms ? 'timeout' : 'failure';
      } finally {
        give(connection);
      }
    },
  };
}
