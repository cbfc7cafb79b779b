import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../src/workloads/lin-kv/checker.js';
import type { Operation } from '../../src/workloads/lin-kv/history.js';
import type { MessageBody } from '../../src/lib/protocol/messages.js';
import { LinKv } from '../../src/lib/services/lin-kv.js';
import { SeqKv } from '../../src/lib/services/seq-kv.js';
import type { Service } from '../../src/lib/services/service.js';
import { createRng } from '../../src/lib/util/prng.js';

/**
 * Concurrent clients over a simulated network: each request reaches the
 * service after a random delay and the reply comes back after another, so
 * operations overlap. Returns the history as the checker reads it.
 */
function simulate(service: Service, seed: number, clients: number, opsPerClient: number, keys: number): Operation[] {
  const rng = createRng(seed);
  type Event = { at: number; client: number; kind: 'arrive' | 'reply'; body: MessageBody };
  const events: Event[] = [];
  const calls: { op: Operation; body: MessageBody }[] = [];
  const left = Array.from({ length: clients }, () => opsPerClient);
  const history: Operation[] = [];
  const start = (client: number, at: number) => {
    if (left[client]-- === 0) return;
    const key = `k${rng.int(keys)}`;
    const roll = rng.next();
    const id = calls.length;
    const common = { client: `n${client + 1}`, key, call_ms: at, return_ms: null, outcome: 'unknown' as const };
    const [op, body]: [Operation, MessageBody] =
      roll < 0.4
        ? [{ ...common, f: 'read' }, { type: 'read', key, msg_id: id }]
        : roll < 0.7
          ? (() => { const value = rng.int(5); return [{ ...common, f: 'write', value }, { type: 'write', key, value, msg_id: id }]; })()
          : (() => { const from = rng.int(5); const to = rng.int(5); return [{ ...common, f: 'cas', from, to }, { type: 'cas', key, from, to, msg_id: id }]; })();
    calls.push({ op, body });
    events.push({ at: at + 1 + rng.int(20), client, kind: 'arrive', body });
  };
  for (let c = 0; c < clients; c++) start(c, rng.int(5));
  while (events.length > 0) {
    events.sort((a, b) => a.at - b.at);
    const event = events.shift()!;
    if (event.kind === 'arrive') {
      const [reply] = service.handle(`n${event.client + 1}`, event.body, event.at);
      events.push({ at: event.at + 1 + rng.int(20), client: event.client, kind: 'reply', body: reply!.body });
      continue;
    }
    const call = calls[event.body.in_reply_to as number]!;
    const reply = event.body;
    const done: Operation = { ...call.op, return_ms: event.at };
    if (reply.type === 'error') Object.assign(done, { outcome: 'fail', error: reply.code });
    else Object.assign(done, { outcome: 'ok' }, done.f === 'read' ? { result: reply.value } : {});
    if (done.f === 'read' && reply.type === 'error' && reply.code === 20) Object.assign(done, { outcome: 'ok', result: null });
    history.push(done);
    start(event.client, event.at + rng.int(5));
  }
  return history;
}

describe('lin-kv', () => {
  it("gives linearizable histories under concurrent clients (dslab's checker agrees)", () => {
    for (let seed = 0; seed < 30; seed++) {
      const history = simulate(new LinKv(), seed, 5, 40, 3);
      expect(history).toHaveLength(200);
      const outcomes = new Set(history.map((op) => `${op.f}:${op.outcome}`));
      // The mix exercises successful and failed cas, not only reads and writes.
      expect(outcomes.has('cas:ok') && outcomes.has('cas:fail')).toBe(true);
      const result = checkHistory(history);
      expect(result.result, `seed ${seed}: ${result.violation?.explanation ?? ''}`).toBe('valid');
    }
  });

  it('the same simulation catches a store that is not linearizable (seq-kv)', () => {
    const verdicts = Array.from({ length: 10 }, (_, seed) => checkHistory(simulate(new SeqKv(createRng(seed)), seed, 5, 40, 3)).result);
    expect(verdicts).toContain('invalid');
  });
});
