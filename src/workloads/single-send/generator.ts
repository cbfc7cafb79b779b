import type { ClientTransport } from '../../lib/plugin.js';
import type { Rng } from '../../lib/util/prng.js';
import { historyEntry, type HistoryEntry } from './history.js';
import type { ReadOutcome, SingleSendOutcome } from './send.js';

/**
 * What the test runner needs of an add/read workload (broadcast, g-set,
 * g-counter, pn-counter): the operations its generator draws, in Maelstrom's
 * mix, and how one is sent and recorded.
 */

/** One operation a client is to perform: an add of `value` (an element or a delta), or a read. */
export type AddReadOperation = { f: 'add'; value: unknown } | { f: 'read' };

/** Draws the operations of one run; one source is shared by all its clients (elements stay unique). */
export interface OperationSource {
  next(): AddReadOperation;
}

export interface AddReadWorkload {
  name: string;
  /** Sends an add once (single-send/send.ts). */
  add(transport: ClientTransport, client: string, node: string, value: unknown, timeout_ms: number): Promise<SingleSendOutcome>;
  /** Sends a read once; an ok read carries its answer in `result`. */
  read(transport: ClientTransport, client: string, node: string, timeout_ms: number): Promise<ReadOutcome<unknown>>;
  /** The run's operations, drawn from `rng`. */
  operations(rng: Rng): OperationSource;
}

/**
 * The set workloads' mix: adds and reads with even odds, the adds' elements
 * 0, 1, 2, … in order, so no element is added twice.
 */
export function uniqueAddsAndReads(rng: Rng): OperationSource {
  let next_element = 0;
  return { next: () => (rng.next() < 0.5 ? { f: 'add', value: next_element++ } : { f: 'read' }) };
}

/** pn-counter's deltas: uniform integers from -5 to 4. */
export const pn_delta_min = -5;
export const pn_delta_max = 4;

/**
 * The counters' mix: adds and reads with even odds, the deltas uniform in
 * pn_delta_min..pn_delta_max. With `grow_only` (g-counter), a negative add is
 * drawn again rather than sent, as Maelstrom filters them out of the same mix,
 * so adds are a third of its operations.
 */
export function counterAddsAndReads(rng: Rng, grow_only: boolean): OperationSource {
  return {
    next: () => {
      for (;;) {
        if (rng.next() >= 0.5) return { f: 'read' };
        const delta = pn_delta_min + rng.int(pn_delta_max - pn_delta_min + 1);
        if (!grow_only || delta >= 0) return { f: 'add', value: delta };
      }
    },
  };
}

/**
 * Performs `op` as `client` on `node` (one request, sent once) and returns its
 * history line, times relative to `origin_ms`; `final` marks the reads after
 * the faults healed.
 */
export async function performOperation(workload: AddReadWorkload, transport: ClientTransport, client: string, node: string, op: AddReadOperation, timeout_ms: number, origin_ms: number, final = false): Promise<HistoryEntry> {
  if (op.f === 'add') return historyEntry(client, 'add', await workload.add(transport, client, node, op.value, timeout_ms), origin_ms, { value: op.value });
  const done = await workload.read(transport, client, node, timeout_ms);
  return historyEntry(client, 'read', done, origin_ms, { answer: done.result, final });
}
