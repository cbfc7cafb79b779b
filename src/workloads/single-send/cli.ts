import { Flags } from '@oclif/core';
import { DslabCommand } from '../../cli/base.js';
import { durationFlag } from '../../cli/flags.js';
import { client_timeout_ms_max, client_timeout_ms_min } from '../../lib/control/api.js';
import type { SystemPlugin } from '../../lib/plugin.js';
import { UserError } from '../../lib/util/errors.js';

/**
 * What `dslab broadcast …`, `dslab set …` and `dslab counter …` (thin oclif
 * files in src/commands) share: the node and timeout flags, the choice of the
 * workload a cluster speaks, and running one of the workload's supervisor
 * operations through the control API.
 */

/**
 * Which of `candidates` (workload names) the cluster's system speaks: the
 * system's own when it is one of them, else the first (a label that names no
 * system, or a --bin node under a system's label, may speak anything; the
 * command's shared wrong-kind check, DslabCommand's `workloads`, has already
 * refused a dslab system that speaks none of them).
 */
export function clusterWorkload(cluster: { name: string; system: string }, candidates: readonly string[], systems: readonly Pick<SystemPlugin, 'name' | 'workloads'>[]): string {
  const plugin = systems.find((s) => s.name === cluster.system);
  return candidates.find((w) => plugin?.workloads.includes(w)) ?? candidates[0]!;
}

/** A command that runs one single-send operation (one request to one node) on a running cluster, or asks the workload what it knows (flags then unused). */
export abstract class SingleSendCommand extends DslabCommand {
  static override flags = {
    node: Flags.string({ description: 'the node to send it to (default: the first node up)', helpValue: 'NODE' }),
    timeout: durationFlag({ default: '5s', description: 'wait this long for the answer; the request is sent once, never again', range: { min: client_timeout_ms_min, max: client_timeout_ms_max } }),
  };

  /**
   * Runs operation `op` of whichever of the command's `workloads` the cluster speaks (`systems`: the registry's, which
   * the command hands over, as workloads do not import the registry); prints its outcome, and fails
   * (exit 1) when it is not ok.
   */
  protected async runOperation(flags: { cluster?: string; node?: string; timeout?: number }, systems: readonly Pick<SystemPlugin, 'name' | 'workloads'>[], op: string, args: Record<string, unknown>): Promise<unknown> {
    const cluster = this.findCluster(flags.cluster);
    const workload = clusterWorkload(cluster, (this.ctor as typeof DslabCommand).workloads ?? [], systems);
    const result = await this.client(cluster.name).act({ type: 'workload', workload, op, args: { ...args, ...(flags.timeout === undefined ? {} : { timeout_ms: flags.timeout }), ...(flags.node === undefined ? {} : { node: flags.node }) } });
    if (result.outcome !== 'ok') throw new UserError(result.description);
    this.log(result.description);
    return result;
  }
}
