// The ZooKeeper workload's view of where it runs (the supervisor, or the tests' fake ensemble):
// servers, client ids, requests and timers. Load, session table and control all take one.
import type { WorkloadHost } from '../../lib/plugin.js';
import type { MessageBody } from '../../lib/protocol/messages.js';

/**
 * What the zk operations need of the supervisor, narrowed from its WorkloadHost (zkHost) so the
 * session table runs as well over the tests' fake ensemble.
 */
export interface ZkHost {
  /** The coordinator's servers, in id order. */
  readonly servers: readonly string[];
  takeClientId(): string;
  releaseClientId(client: string): void;
  /** Resolves with the reply, error replies too; rejects when none came within timeout_ms. */
  request(client: string, dest: string, body: MessageBody, timeout_ms: number): Promise<MessageBody>;
  /** What servers send `client` unasked (watch events, session expiries); one subscriber per client. */
  onUnasked(client: string, handler: (from: string, body: MessageBody) => void): () => void;
  leader(): string | null;
  now(): number;
  after(ms: number, run: () => void): () => void;
}

export function zkHost(host: WorkloadHost): ZkHost {
  return {
    servers: host.servers,
    takeClientId: () => host.takeClientId(),
    releaseClientId: (client) => host.releaseClientId(client),
    request: (client, dest, body, timeout_ms) => host.transport.request(client, dest, body, timeout_ms),
    onUnasked: (client, handler) => host.subscribe(client, (message) => handler(message.node, message.body)),
    leader: () => host.transport.leader(),
    now: () => host.transport.now(),
    after: (ms, run) => host.after(ms, run),
  };
}
