// How a service reaches its dependency, and what became of one call: the seam between the service's
// decisions (service.ts) and the dependency it runs against (d1 by messages, or redis-dependency.ts).

import { error_codes } from '../../lib/protocol/messages.js';
import { type Node, RpcError } from '../../lib/runtime/node.js';

/** One call to the dependency: answered, refused as a bad request (not the dependency's fault), failed, or unanswered within the call timeout. */
export type DependencyCall = 'success' | 'bad_request' | 'failure' | 'timeout';

export interface DependencyClient {
  /** Calls the dependency once for `key` (a bad request when `bad`), giving up after `timeout_ms`. Never rejects. */
  call(key: string, bad: boolean, attempt: number, timeout_ms: number): Promise<DependencyCall>;
}

/** What a `work` RPC's failure to d1 means: error 12 is a bad request; no reply in time is a timeout; any other error is the dependency failing. */
export function dslabCallOf(error: unknown): DependencyCall {
  if (!(error instanceof RpcError)) return 'failure';
  if (error.code === error_codes.malformed_request) return 'bad_request';
  // The runtime's own timeout has no reply body; an error reply with code 0 is the dependency's own word, a failure.
  if (error.code === error_codes.timeout && error.body === undefined) return 'timeout';
  return 'failure';
}

/** d1 (dslab's dependency node), reached by `work` messages through the router. */
export function dslabDependency(node: Node): DependencyClient {
  return {
    async call(key, bad, attempt, timeout_ms) {
      const dependency = node.groups.dependency?.[0] ?? 'd1';
      try {
        await node.rpc(dependency, { type: 'work', key, attempt, ...(bad ? { bad: true } : {}) }, timeout_ms);
        return 'success';
      } catch (error) {
        return dslabCallOf(error);
      }
    },
  };
}
