import type { ClientTransport } from '../../lib/plugin.js';
import { uniqueAddsAndReads, type AddReadWorkload } from '../single-send/generator.js';
import { readOnce, sendOnce, type ReadOutcome, type SingleSendOutcome } from '../single-send/send.js';

/** g-set's client operations, each one request sent once (single-send/send.ts): add an element, read the set. */

export function addElement(transport: ClientTransport, client: string, node: string, element: unknown, timeout_ms: number): Promise<SingleSendOutcome> {
  return sendOnce(transport, client, node, { type: 'add', element }, 'add_ok', 'add', timeout_ms);
}

export function readSet(transport: ClientTransport, client: string, node: string, timeout_ms: number): Promise<ReadOutcome<unknown[]>> {
  return readOnce(transport, client, node, 'value', Array.isArray, 'a list', timeout_ms);
}

/** g-set for the test runner. */
export const g_set_operations: AddReadWorkload = {
  name: 'g-set',
  add: addElement,
  read: readSet,
  operations: uniqueAddsAndReads,
};
