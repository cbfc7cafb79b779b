/**
 * Maelstrom's fixed times, which nodes written for it rely on (a node slow to
 * answer init, or a test that stops before gossip settles, fails the same way
 * under dslab as under Maelstrom).
 */
import type { MaelstromWorkload } from './options.js';

/** How long a node has to answer `init` with init_ok. */
export const init_reply_timeout_ms = 10_000;
/** A client's wait for a reply, unless the workload sets its own. */
export const rpc_timeout_ms = 5000;
/** lin-kv's clients wait ten mean latencies, at least this long. */
export const lin_kv_rpc_timeout_ms_min = 1000;
export const lin_kv_rpc_timeout_latencies = 10;
/** After the time limit, workloads with final reads heal every fault, wait this long, then read. */
export const final_recovery_wait_s = 10;

/** The workloads that end with a healing phase and one final read per client. */
export const workloads_with_final_reads: readonly MaelstromWorkload[] = ['broadcast', 'g-counter', 'g-set', 'kafka', 'pn-counter'];

export function hasFinalReads(workload: MaelstromWorkload): boolean {
  return workloads_with_final_reads.includes(workload);
}

/** A client's reply timeout for one request of `workload` at mean latency `latency_ms`. */
export function rpcTimeoutMs(workload: MaelstromWorkload, latency_ms: number): number {
  if (workload === 'lin-kv') return Math.max(lin_kv_rpc_timeout_latencies * latency_ms, lin_kv_rpc_timeout_ms_min);
  return rpc_timeout_ms;
}
