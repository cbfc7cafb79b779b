import { z } from 'zod';
import { client_timeout_ms_max, client_timeout_ms_min } from '../../lib/control/api.js';
import type { WorkloadHost } from '../../lib/plugin.js';
import { UserError } from '../../lib/util/errors.js';
import { single_send_timeout_ms_default } from './send.js';

/** Arguments every single-send operation of the control API takes: which node (default: the first one up) and how long to wait. */
export const single_send_args = {
  node: z.string().optional(),
  timeout_ms: z.number().int().min(client_timeout_ms_min).max(client_timeout_ms_max).optional(),
};

/** The node an operation goes to: the one named, or the first of the workload's nodes that is up. */
export function targetNode(host: WorkloadHost, node: string | undefined): string {
  if (node !== undefined) return node;
  const up = new Set(host.transport.upNodes());
  const first = host.servers.find((id) => up.has(id));
  if (first === undefined) throw new UserError('no node is up');
  return first;
}

/**
 * Runs one operation as a client of its own (an id of the host's registry,
 * released after), so operations run side by side never share a client.
 */
export async function asClient<T>(host: WorkloadHost, run: (client: string) => Promise<T>): Promise<T> {
  const client = host.takeClientId();
  try {
    return await run(client);
  } finally {
    host.releaseClientId(client);
  }
}

export function timeoutOf(args: { timeout_ms?: number | undefined }): number {
  return args.timeout_ms ?? single_send_timeout_ms_default;
}
