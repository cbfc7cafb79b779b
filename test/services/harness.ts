// Shared helpers for the service tests: a client that talks to a service
// directly (no network), and a brute-force check for sequential consistency.
import type { MessageBody } from '../../src/lib/protocol/messages.js';
import type { Service } from '../../src/lib/services/service.js';

/** Sends one request as `client` and returns the service's single reply, checking it answers that request. */
export function ask(service: Service, client: string, body: Omit<MessageBody, 'msg_id'>, now_ms: number, msg_id = 1): MessageBody {
  const replies = service.handle(client, { ...body, msg_id } as MessageBody, now_ms);
  if (replies.length !== 1) throw new Error(`expected one reply, got ${replies.length}`);
  const [reply] = replies;
  if (reply!.dest !== client) throw new Error(`reply went to ${reply!.dest}, not ${client}`);
  if (reply!.body.in_reply_to !== msg_id) throw new Error(`reply is not linked to msg_id ${msg_id}`);
  return reply!.body;
}

/** One completed operation as a client saw it; result is the reply's value for reads, or the error code. */
export interface ClientOp {
  f: 'read' | 'write' | 'cas';
  key: string;
  value?: number;
  from?: number;
  to?: number;
  /** ok read: the value; error: the code. */
  reply: { ok: true; value?: number } | { ok: false; code: number };
}

export function toClientOp(request: Omit<ClientOp, 'reply'>, reply: MessageBody): ClientOp {
  if (reply.type === 'error') return { ...request, reply: { ok: false, code: Number(reply.code) } };
  return { ...request, reply: request.f === 'read' ? { ok: true, value: reply.value as number } : { ok: true } };
}

/** The register model: does `op` give its recorded reply in `state`, and what state follows. */
function step(state: ReadonlyMap<string, number>, op: ClientOp): Map<string, number> | null {
  const current = state.get(op.key);
  const next = new Map(state);
  switch (op.f) {
    case 'read':
      if (current === undefined) return !op.reply.ok && op.reply.code === 20 ? next : null;
      return op.reply.ok && op.reply.value === current ? next : null;
    case 'write':
      if (!op.reply.ok) return null;
      next.set(op.key, op.value!);
      return next;
    case 'cas':
      if (current === undefined) return !op.reply.ok && op.reply.code === 20 ? next : null;
      if (current !== op.from) return !op.reply.ok && op.reply.code === 22 ? next : null;
      if (!op.reply.ok) return null;
      next.set(op.key, op.to!);
      return next;
  }
}

/**
 * True when some single order of all operations keeps each client's own order
 * and gives every operation the reply it got (sequential consistency). A
 * search over interleavings, remembering (positions, state) pairs already seen.
 */
export function isSequentiallyConsistent(clients: readonly ClientOp[][]): boolean {
  const seen = new Set<string>();
  const search = (positions: number[], state: Map<string, number>): boolean => {
    if (positions.every((p, c) => p === clients[c]!.length)) return true;
    const memo = `${positions.join(',')}|${[...state].sort().map(([k, v]) => `${k}=${v}`).join(',')}`;
    if (seen.has(memo)) return false;
    seen.add(memo);
    for (let c = 0; c < clients.length; c++) {
      const op = clients[c]![positions[c]!];
      if (!op) continue;
      const next = step(state, op);
      if (!next) continue;
      const moved = [...positions];
      moved[c]!++;
      if (search(moved, next)) return true;
    }
    return false;
  };
  return search(clients.map(() => 0), new Map());
}
