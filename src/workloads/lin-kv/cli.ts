import { DslabCommand } from '../../cli/base.js';
import { durationFlag } from '../../cli/flags.js';
import { client_timeout_ms_max, client_timeout_ms_min } from '../../lib/control/api.js';
import { UserError } from '../../lib/util/errors.js';
import type { ClusterStatus } from '../../lib/control/api.js';
import { delete_is_an_extension, type KvOperation } from './client.js';

/**
 * lin-kv's CLI operations: what `dslab kv get/put/cas/del` and `dslab load`
 * (thin oclif files in src/commands) share. Each runs one of the workload's
 * supervisor operations (runtime.ts) through the control API.
 */

/** A value typed on the command line: JSON when it parses (5, "x", null), else the text itself. */
export function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function parseKey(text: string): string | number {
  return /^-?\d+$/.test(text) ? Number(text) : text;
}

/** Shared by the kv subcommands: one operation through the supervisor's kv client. */
export abstract class KvCommand extends DslabCommand {
  static override workloads = ['lin-kv'];
  static override flags = {
    timeout: durationFlag({ default: '5s', description: 'wait this long for the answer; a request is sent again (to the leader) only after a refusal that says it was not done, never after silence', range: { min: client_timeout_ms_min, max: client_timeout_ms_max } }),
  };

  protected async runOperation(flags: { cluster?: string; timeout: number }, op: KvOperation): Promise<unknown> {
    const result = await this.client(flags.cluster).act(linKvAction('kv', { op, timeout_ms: flags.timeout }));
    if (result.outcome !== 'ok') throw new UserError(result.description);
    this.log(result.description);
    return result;
  }
}

/** The control API action that runs lin-kv's operation `op`. */
export function linKvAction(op: 'kv' | 'load_start' | 'load_stop', args: Record<string, unknown> = {}): { type: 'workload'; workload: string; op: string; args: Record<string, unknown> } {
  return { type: 'workload', workload: 'lin-kv', op, args };
}

/**
 * Why `kv del` must not send delete to this cluster, or null when it may.
 * Delete is dslab's extension, which dslab's own raft and the raft labs' nodes
 * implement; a Maelstrom node knows only read, write and cas, and Maelstrom's
 * libraries stop the node on a message they have no handler for. A node that
 * sends dslab_state reports speaks dslab's extensions; a cluster where none
 * does is taken to run Maelstrom nodes, and delete is not sent to them.
 */
export function deleteRefusal(status: ClusterStatus, key: string | number): string | null {
  if (status.nodes.some((node) => node.state_at_ms !== null)) return null;
  const node = status.nodes.find((n) => n.status === 'up')?.id ?? status.nodes[0]?.id ?? 'n1';
  return `not sent: ${delete_is_an_extension}, and no node of this cluster sends dslab_state reports, so they look like Maelstrom nodes, which may stop on a message they have no handler for. To send it anyway: dslab send ${node} '${JSON.stringify({ type: 'delete', key })}'`;
}
