import type { ClientTransport } from '../../lib/plugin.js';
import { definite_error_codes, error_codes, type MessageBody } from '../../lib/protocol/messages.js';
import { errorMessage, IndefiniteError } from '../../lib/util/errors.js';

/**
 * Maelstrom's client semantics for the workloads whose operations are plain
 * RPCs to one node (broadcast, g-set, g-counter, pn-counter): each operation
 * is one request, sent once to the client's node and never again. What the
 * outcome is when no good answer comes depends on whether the operation can
 * have changed anything: an add (or broadcast) left unanswered may have taken
 * effect (unknown), a read left unanswered changed nothing (fail).
 */

/** How long a client waits for one answer when the caller does not say (Maelstrom's RPC timeout). */
export const single_send_timeout_ms_default = 5000;

/** Whether an operation changes state (an add, a broadcast) or only looks (a read). */
export type SingleSendKind = 'add' | 'read';

export interface SingleSendOutcome {
  outcome: 'ok' | 'fail' | 'unknown';
  /** The reply, when the node answered with the expected type. */
  reply?: MessageBody;
  /** Why it is not ok: a Maelstrom error code (0 for no answer) and words. */
  error?: { code: number; text: string };
  node: string;
  call_ms: number;
  /** When the answer came (or the request was refused); null when none came in time. */
  return_ms: number | null;
}

/** What becomes of an operation of this kind that got no usable answer. */
export function unansweredOutcome(kind: SingleSendKind): 'fail' | 'unknown' {
  return kind === 'read' ? 'fail' : 'unknown';
}

/**
 * Sends `body` once from `client` to `node` and waits up to `timeout_ms` for a
 * reply of type `expect`. A refusal before the node saw it (the node is down)
 * and a definite error (codes that say it was not done) are fail; silence, a
 * crash, an indefinite error code or an unexpected reply type is the kind's
 * unanswered outcome.
 */
export async function sendOnce(transport: ClientTransport, client: string, node: string, body: MessageBody, expect: string, kind: SingleSendKind, timeout_ms: number): Promise<SingleSendOutcome> {
  const call_ms = transport.now();
  let reply: MessageBody;
  try {
    reply = await transport.request(client, node, body, timeout_ms);
  } catch (error) {
    const text = errorMessage(error);
    // An indefinite error (no answer in time, the node exited with it in hand): the node may have acted on it.
    if (error instanceof IndefiniteError) {
      const outcome = unansweredOutcome(kind);
      // A read that got no answer failed when the client gave up (histories need its end); an add may still take effect, so it has none.
      return { outcome, error: { code: error_codes.timeout, text }, node, call_ms, return_ms: outcome === 'fail' ? transport.now() : null };
    }
    // Refused at once (unknown or down node): it never reached a node.
    return { outcome: 'fail', error: { code: error_codes.temporarily_unavailable, text }, node, call_ms, return_ms: transport.now() };
  }
  const return_ms = transport.now();
  if (reply.type === expect) return { outcome: 'ok', reply, node, call_ms, return_ms };
  if (reply.type === 'error') {
    const code = Number(reply.code);
    const error = { code, text: String(reply.text ?? '') };
    return { outcome: definite_error_codes.has(code) ? 'fail' : unansweredOutcome(kind), error, node, call_ms, return_ms };
  }
  return { outcome: unansweredOutcome(kind), error: { code: error_codes.crash, text: `answered ${JSON.stringify(reply.type)} instead of ${expect}` }, node, call_ms, return_ms };
}

/** An outcome with what an ok read answered. */
export interface ReadOutcome<T> extends SingleSendOutcome {
  result?: T;
}

/**
 * A read (`{type: "read"}`, answered by read_ok) sent once, its answer taken
 * from the reply's `field` when `valid` accepts it. A read_ok without a
 * usable answer is a failed read: nothing was learned and nothing changed.
 */
export async function readOnce<T>(transport: ClientTransport, client: string, node: string, field: string, valid: (answer: unknown) => answer is T, shape: string, timeout_ms: number): Promise<ReadOutcome<T>> {
  const done: ReadOutcome<T> = await sendOnce(transport, client, node, { type: 'read' }, 'read_ok', 'read', timeout_ms);
  if (done.outcome !== 'ok') return done;
  const answer = done.reply![field];
  if (!valid(answer)) return { ...done, outcome: 'fail', error: { code: error_codes.malformed_request, text: `read_ok's ${field} is ${JSON.stringify(answer) ?? 'missing'}, not ${shape}` } };
  return { ...done, result: answer };
}

/** The outcome in words for a person: "n2: broadcast_ok", "n3: no answer within 5 s". */
export function describeFailure(done: SingleSendOutcome, what: string): string {
  const why = done.error ? done.error.text || `error ${done.error.code}` : 'no answer';
  return done.outcome === 'unknown' ? `${what} on ${done.node} may or may not have taken effect: ${why}` : `${what} on ${done.node} failed: ${why}`;
}
