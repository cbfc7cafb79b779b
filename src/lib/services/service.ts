/**
 * What every built-in service shares: the shape of a service, its replies and
 * Maelstrom's error bodies. A service is a pure state machine: a request in,
 * replies out; no I/O, no wall clock (time arrives as an argument) and no
 * randomness but the PRNG it is given.
 */
import { error_codes, type MessageBody } from '../protocol/messages.js';

export interface ServiceReply {
  /** The node the reply goes to (the request's src). */
  dest: string;
  body: MessageBody;
}

export interface Service {
  /** Its address on the network, e.g. "lin-kv". */
  readonly name: string;
  /**
   * Handles one message from `src` that arrived at `now_ms` (any monotonic
   * clock in milliseconds) and returns what to send back. Replies a node sends
   * to a service (messages with `in_reply_to`) are ignored: answering them
   * could start a loop.
   */
  handle(src: string, body: MessageBody, now_ms: number): ServiceReply[];
}

/** Gives a service's replies their own msg_ids and links them to the request. */
export class Replier {
  private nextMsgId = 1;

  constructor(readonly service: string) {}

  reply(src: string, request: MessageBody, body: MessageBody): ServiceReply[] {
    const reply: MessageBody = { ...body, msg_id: this.nextMsgId++ };
    // A request without msg_id still gets an answer (as Maelstrom's services give), just unlinked.
    if (typeof request.msg_id === 'number') reply.in_reply_to = request.msg_id;
    return [{ dest: src, body: reply }];
  }
}

export function errorBody(code: number, text: string): MessageBody {
  return { type: 'error', code, text };
}

export function notSupported(service: string, type: string, supported: readonly string[]): MessageBody {
  return errorBody(error_codes.not_supported, `${service} does not support "${type}" requests; it answers ${supported.join(', ')}`);
}

export function malformed(service: string, text: string): MessageBody {
  return errorBody(error_codes.malformed_request, `${service}: ${text}`);
}

/** True for a message that answers something (services ignore those). */
export function isReply(body: MessageBody): boolean {
  return body.in_reply_to !== undefined && body.in_reply_to !== null;
}
