/**
 * What a workload's own final phase is given (WorkloadDriver.final_phase):
 * kafka's clients poll until they have caught up, more than the one final
 * read per client other workloads do. A module of its own so drivers can
 * take it without importing drivers.ts (which imports them).
 */
import type { Rng } from '../../lib/util/prng.js';
import type { RunHistoryEntry } from './result.js';

export interface FinalPhaseContext {
  /** Clients to run: client i works against nodes[i mod n], as in the main phase. */
  concurrency: number;
  nodes: readonly string[];
  /** A fresh client id (a new client, as Jepsen opens one for a new process). */
  newClient(): string;
  /** Performs `op` as `client` on `node` (a final operation), records its history line and returns it. */
  perform(client: string, node: string, op: { f: string; value?: unknown }): Promise<RunHistoryEntry>;
  /** Waits, ended early when the run is stopped. */
  sleep(ms: number): Promise<void>;
  /** The run was stopped (Ctrl-C): end now. */
  stopped(): boolean;
  rng: Rng;
}
