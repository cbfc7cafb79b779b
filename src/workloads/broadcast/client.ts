import type { ClientTransport } from '../../lib/plugin.js';
import { uniqueAddsAndReads, type AddReadWorkload } from '../single-send/generator.js';
import { readOnce, sendOnce, type ReadOutcome, type SingleSendOutcome } from '../single-send/send.js';
import type { Topology } from './topology.js';

/**
 * Broadcast's client operations, each one request sent once (single-send/send.ts):
 * `topology` (sent to every node before anything else), `broadcast` (an add of
 * `message` to the set every node should come to hold) and `read` (the
 * messages the node holds).
 */

export function sendTopology(transport: ClientTransport, client: string, node: string, topology: Topology, timeout_ms: number): Promise<SingleSendOutcome> {
  return sendOnce(transport, client, node, { type: 'topology', topology }, 'topology_ok', 'add', timeout_ms);
}

export function broadcastMessage(transport: ClientTransport, client: string, node: string, message: unknown, timeout_ms: number): Promise<SingleSendOutcome> {
  return sendOnce(transport, client, node, { type: 'broadcast', message }, 'broadcast_ok', 'add', timeout_ms);
}

export function readMessages(transport: ClientTransport, client: string, node: string, timeout_ms: number): Promise<ReadOutcome<unknown[]>> {
  return readOnce(transport, client, node, 'messages', Array.isArray, 'a list', timeout_ms);
}

/** Broadcast for the test runner: a broadcast is its add, the messages a node holds its read. */
export const broadcast_operations: AddReadWorkload = {
  name: 'broadcast',
  add: broadcastMessage,
  read: readMessages,
  operations: uniqueAddsAndReads,
};
