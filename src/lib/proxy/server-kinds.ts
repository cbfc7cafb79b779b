import http from 'node:http';
import { RespConnection } from './resp.js';
import { UserError } from '../util/errors.js';

/**
 * What dslab needs to know to run one kind of real server as a cluster member:
 * its program, how to give it a loopback port and a data directory, and how to
 * tell that it is ready. A new kind (ZooKeeper, say) is one more descriptor.
 */
export interface ServerKind {
  /** Short name, used in ids and messages: "redis". */
  name: string;
  /** The program, looked up on PATH unless it contains a slash. */
  binary: string;
  /** The one line that says how to get the program: "apt-get install redis-server". */
  install_hint: string;
  /** The server speaks RESP (redis): its link proxies frame commands and replies, trace them and apply application faults. */
  resp?: boolean;
  /** Ports the server needs besides its client port (etcd's peer port). */
  extra_ports: number;
  args(setup: ServerSetup): string[];
  /** One readiness check: resolves true when the server answers on its client port, false otherwise (never rejects). */
  probe(port: number, timeout_ms: number): Promise<boolean>;
}

export interface ServerSetup {
  /** The member's id, e.g. "redis1". */
  id: string;
  /** The client port, on 127.0.0.1. */
  port: number;
  extra_ports: number[];
  /** A directory of the member's own, kept across restarts. */
  data_dir: string;
}

/**
 * Redis without persistence (no RDB snapshots, no append-only file), as the
 * lock recipes assume: a killed and restarted server has forgotten every key.
 * Logs go to stdout, which the supervisor writes to the member's log file.
 */
export const redis_server: ServerKind = {
  name: 'redis',
  binary: 'redis-server',
  install_hint: 'apt-get install redis-server',
  resp: true,
  extra_ports: 0,
  args: ({ port, data_dir }) => [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--dir', data_dir,
    '--daemonize', 'no',
    '--logfile', '',
  ],
  probe: async (port, timeout_ms) => {
    let connection: RespConnection | null = null;
    try {
      connection = await RespConnection.connect('127.0.0.1', port, timeout_ms);
      return (await connection.command(['PING'], timeout_ms)) === 'PONG';
    } catch {
      return false;
    } finally {
      connection?.close();
    }
  },
};

/** A single-member etcd (Debian's etcd-server, 3.4) with its client and peer URLs on loopback. */
export const etcd_server: ServerKind = {
  name: 'etcd',
  binary: 'etcd',
  install_hint: 'apt-get install etcd-server',
  extra_ports: 1,
  args: ({ id, port, extra_ports, data_dir }) => {
    const peer = `http://127.0.0.1:${extra_ports[0]!}`;
    const client = `http://127.0.0.1:${port}`;
    return [
      '--name', id,
      '--data-dir', data_dir,
      '--listen-client-urls', client,
      '--advertise-client-urls', client,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `${id}=${peer}`,
      '--initial-cluster-state', 'new',
    ];
  },
  probe: (port, timeout_ms) =>
    new Promise((resolve) => {
      const request = http.get({ host: '127.0.0.1', port, path: '/health', timeout: timeout_ms }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (body.length < 4096) body += chunk;
        });
        response.on('end', () => resolve(response.statusCode === 200 && /"health"\s*:\s*"true"/.test(body)));
        response.on('error', () => resolve(false));
      });
      request.on('timeout', () => request.destroy());
      request.on('error', () => resolve(false));
    }),
};

/** The server kinds a cluster can run, by name. */
export const server_kinds: Readonly<Record<string, ServerKind>> = Object.freeze({ redis: redis_server, etcd: etcd_server });

/** The kind a server group runs, with its own program if it names one; UserError for a kind dslab does not know. */
export function serverKindOf(server: { kind: string; binary?: string }): ServerKind {
  const kind = server_kinds[server.kind];
  if (!kind) throw new UserError(`unknown server kind "${server.kind}" (known: ${Object.keys(server_kinds).join(', ')})`);
  return server.binary ? { ...kind, binary: server.binary } : kind;
}
