import type { ClientTransport } from '../../lib/plugin.js';
import { counterAddsAndReads, type AddReadWorkload } from '../single-send/generator.js';
import { readOnce, sendOnce, type ReadOutcome, type SingleSendOutcome } from '../single-send/send.js';

/** The counters' client operations (pn-counter's and g-counter's), each one request sent once (single-send/send.ts). */

export function addDelta(transport: ClientTransport, client: string, node: string, delta: number, timeout_ms: number): Promise<SingleSendOutcome> {
  return sendOnce(transport, client, node, { type: 'add', delta }, 'add_ok', 'add', timeout_ms);
}

function isInteger(value: unknown): value is number {
  return Number.isSafeInteger(value);
}

export function readCounter(transport: ClientTransport, client: string, node: string, timeout_ms: number): Promise<ReadOutcome<number>> {
  return readOnce(transport, client, node, 'value', isInteger, 'an integer', timeout_ms);
}

/** The counters for the test runner: pn-counter's deltas go both ways, g-counter's never below zero. */
export function counterOperations(name: 'pn-counter' | 'g-counter'): AddReadWorkload {
  return {
    name,
    add: (transport, client, node, value, timeout_ms) => addDelta(transport, client, node, value as number, timeout_ms),
    read: readCounter,
    operations: (rng) => counterAddsAndReads(rng, name === 'g-counter'),
  };
}
