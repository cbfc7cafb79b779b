/**
 * Maelstrom's kafka client: each request sent once (sendOnce), the client
 * keeping, per key it holds, the offset it polls from next.
 *
 * - send: `send {key, msg}` → `send_ok {offset}`.
 * - poll: `poll {offsets}` from the client's positions → `poll_ok {msgs}`; each key's position
 *   moves past the highest offset returned (a key the node answered for unasked joins the
 *   positions), then the client commits the highest offset it polled per key with
 *   `commit_offsets`, as part of the same operation.
 * - assign: the client's keys become the given ones; a key it held keeps its position, another
 *   starts at the offset `list_committed_offsets` gives, or 0 (all at 0 with seek_to_beginning,
 *   which asks nothing). Its line keeps both what the node answered and the positions.
 * - crash: the client is dropped, as a client whose operation ended unknown is.
 * Outcomes, as Maelstrom's client has them: a definite error is fail; no answer or an indefinite
 * error is unknown for send, poll and commit (they may have changed something) and fail for assign
 * (Maelstrom's only idempotent kafka operation); a reply of the wrong shape is unknown.
 */
import type { ClientTransport } from '../../lib/plugin.js';
import { error_codes } from '../../lib/protocol/messages.js';
import type { RunHistoryEntry } from '../../maelstrom/run/result.js';
import { sendOnce, type SingleSendOutcome } from '../single-send/send.js';
import type { KafkaOperation } from './generator.js';
import type { PolledMsgs } from './history.js';

export interface KafkaClientsObserver {
  observeSend(key: string, offset: number): void;
  observePoll(msgs: PolledMsgs): void;
}

function isOffset(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** poll_ok's msgs if well formed, else null. */
export function polledMsgs(value: unknown): PolledMsgs | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  for (const pairs of Object.values(value)) {
    if (!Array.isArray(pairs)) return null;
    for (const pair of pairs) if (!Array.isArray(pair) || pair.length !== 2 || !isOffset(pair[0])) return null;
  }
  return value as PolledMsgs;
}

function offsetsMap(value: unknown): Record<string, number> | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  return Object.values(value).every(isOffset) ? (value as Record<string, number>) : null;
}

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** An ok reply without the shape Maelstrom's schema asks for: its client throws, and Jepsen takes the operation as indeterminate. */
function malformed(done: SingleSendOutcome, text: string): SingleSendOutcome {
  return { ...done, outcome: 'unknown', error: { code: error_codes.crash, text } };
}

/** The clients of one run, by client id: each one's positions. */
export class KafkaClients {
  private readonly positions = new Map<string, Map<string, number>>();

  constructor(private readonly observer: KafkaClientsObserver) {}

  /** Keys `client` holds and where it polls from next (for tests and the final phase). */
  positionsOf(client: string): ReadonlyMap<string, number> {
    return this.positions.get(client) ?? new Map();
  }

  async perform(transport: ClientTransport, client: string, node: string, op: KafkaOperation, timeout_ms: number, origin_ms: number, final: boolean): Promise<RunHistoryEntry> {
    const entry = await this.run(transport, client, node, op, timeout_ms, origin_ms);
    if (final) entry.final = true;
    // A client whose operation ended unknown is replaced by a new one: its positions go with it.
    if (entry.outcome === 'unknown') this.positions.delete(client);
    return entry;
  }

  private async run(transport: ClientTransport, client: string, node: string, op: KafkaOperation, timeout_ms: number, origin_ms: number): Promise<RunHistoryEntry> {
    const line = (f: string, done: { outcome: SingleSendOutcome['outcome']; call_ms: number; return_ms: number | null; error?: { code: number } }, value?: unknown, result?: unknown): RunHistoryEntry => {
      const entry: RunHistoryEntry = {
        client,
        node,
        f,
        ...(value !== undefined ? { value } : {}),
        ...(result !== undefined ? { result } : {}),
        call_ms: round3(done.call_ms - origin_ms),
        return_ms: done.return_ms === null || done.outcome === 'unknown' ? null : round3(done.return_ms - origin_ms),
        outcome: done.outcome,
      };
      if (done.error) entry.error = done.error.code;
      return entry;
    };
    const positions = this.positions.get(client) ?? new Map<string, number>();
    this.positions.set(client, positions);
    switch (op.f) {
      case 'crash': {
        const now = transport.now();
        return line('crash', { outcome: 'unknown', call_ms: now, return_ms: null });
      }
      case 'send': {
        let done = await sendOnce(transport, client, node, { type: 'send', key: op.value.key, msg: op.value.msg }, 'send_ok', 'add', timeout_ms);
        if (done.outcome === 'ok' && !isOffset(done.reply!.offset)) done = malformed(done, `send_ok's offset is ${JSON.stringify(done.reply!.offset) ?? 'missing'}, not a whole number`);
        if (done.outcome === 'ok') this.observer.observeSend(op.value.key, done.reply!.offset as number);
        return line('send', done, op.value, done.outcome === 'ok' ? done.reply!.offset : undefined);
      }
      case 'poll': {
        const asked = Object.fromEntries(positions);
        let done = await sendOnce(transport, client, node, { type: 'poll', offsets: asked }, 'poll_ok', 'add', timeout_ms);
        const msgs = done.outcome === 'ok' ? polledMsgs(done.reply!.msgs) : null;
        if (done.outcome === 'ok' && !msgs) done = malformed(done, `poll_ok's msgs are ${JSON.stringify(done.reply!.msgs) ?? 'missing'}, not {key: [[offset, msg], …]}`);
        if (done.outcome !== 'ok' || !msgs) return line('poll', done, { offsets: asked });
        const commit: Record<string, number> = {};
        for (const [key, pairs] of Object.entries(msgs)) {
          let max = -1;
          for (const [offset] of pairs) if (offset > max) max = offset;
          positions.set(key, Math.max(positions.get(key) ?? 0, max + 1));
          if (max >= 0) commit[key] = max;
        }
        this.observer.observePoll(msgs);
        if (Object.keys(commit).length === 0) return line('poll', done, { offsets: asked }, msgs);
        const committed = await sendOnce(transport, client, node, { type: 'commit_offsets', offsets: commit }, 'commit_offsets_ok', 'add', timeout_ms);
        // One operation: its outcome is the commit's when the commit is not ok; its time runs to the commit's answer.
        const pair = { outcome: committed.outcome, call_ms: done.call_ms, return_ms: committed.return_ms, ...(committed.error ? { error: committed.error } : {}) };
        return line('poll', pair, { offsets: asked }, msgs);
      }
      case 'assign': {
        const keys = op.value.keys;
        if (op.value.seek_to_beginning) {
          positions.clear();
          for (const key of keys) positions.set(key, 0);
          const now = transport.now();
          return line('assign', { outcome: 'ok', call_ms: now, return_ms: now }, op.value, { positions: Object.fromEntries(positions) });
        }
        let done = await sendOnce(transport, client, node, { type: 'list_committed_offsets', keys }, 'list_committed_offsets_ok', 'read', timeout_ms);
        const committed = done.outcome === 'ok' ? offsetsMap(done.reply!.offsets) : null;
        if (done.outcome === 'ok' && !committed) done = malformed(done, `list_committed_offsets_ok's offsets are ${JSON.stringify(done.reply!.offsets) ?? 'missing'}, not {key: offset}`);
        if (done.outcome !== 'ok' || !committed) return line('assign', done, op.value);
        const next = new Map<string, number>();
        for (const key of keys) next.set(key, positions.get(key) ?? committed[key] ?? 0);
        positions.clear();
        for (const [key, offset] of next) positions.set(key, offset);
        return line('assign', done, op.value, { committed, positions: Object.fromEntries(positions) });
      }
    }
  }
}
