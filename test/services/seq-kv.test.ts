import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../src/workloads/lin-kv/checker.js';
import type { Operation } from '../../src/workloads/lin-kv/history.js';
import { SeqKv, seq_kv_clients_max, seq_kv_versions_kept } from '../../src/lib/services/seq-kv.js';
import { createRng, type Rng } from '../../src/lib/util/prng.js';
import { ask, isSequentiallyConsistent, toClientOp, type ClientOp } from './harness.js';

/** Random read/write/cas requests from `clients` clients over `keys` keys, one at a time in a random interleaving. */
function randomRun(seed: number, clients: number, opsPerClient: number, keys: number): ClientOp[][] {
  const rng: Rng = createRng(seed);
  const service = new SeqKv(createRng(seed + 1000));
  const histories: ClientOp[][] = Array.from({ length: clients }, () => []);
  const left = Array.from({ length: clients }, () => opsPerClient);
  let now = 0;
  while (left.some((n) => n > 0)) {
    const c = rng.pick(left.flatMap((n, i) => (n > 0 ? [i] : [])));
    left[c]!--;
    const key = `k${rng.int(keys)}`;
    const roll = rng.next();
    const request: Omit<ClientOp, 'reply'> =
      roll < 0.5 ? { f: 'read', key } : roll < 0.8 ? { f: 'write', key, value: rng.int(4) } : { f: 'cas', key, from: rng.int(4), to: rng.int(4) };
    const body =
      request.f === 'read' ? { type: 'read', key } : request.f === 'write' ? { type: 'write', key, value: request.value } : { type: 'cas', key, from: request.from, to: request.to };
    histories[c]!.push(toClientOp(request, ask(service, `n${c + 1}`, body, now++)));
  }
  return histories;
}

describe('seq-kv', () => {
  it('serves stale reads: another client may read an old value after a write has been acknowledged', () => {
    let stale = 0;
    for (let seed = 0; seed < 10; seed++) {
      const service = new SeqKv(createRng(seed));
      for (let i = 1; i <= 20; i++) {
        ask(service, 'n1', { type: 'write', key: 'x', value: i }, i);
        const read = ask(service, 'n2', { type: 'read', key: 'x' }, i);
        if (read.type === 'error' || read.value !== i) stale++;
      }
    }
    expect(stale).toBeGreaterThan(20);
  });

  it('never goes backwards for one client, and each client reads its own writes', () => {
    for (let seed = 0; seed < 20; seed++) {
      const service = new SeqKv(createRng(seed));
      let seen = 0;
      for (let i = 1; i <= 60; i++) {
        ask(service, 'n1', { type: 'write', key: 'x', value: i }, i);
        expect(ask(service, 'n1', { type: 'read', key: 'x' }, i)).toMatchObject({ value: i });
        const read = ask(service, 'n2', { type: 'read', key: 'x' }, i);
        const value = read.type === 'error' ? 0 : (read.value as number);
        expect(value).toBeGreaterThanOrEqual(seen);
        seen = value;
      }
    }
  });

  it('lets a failed cas or a same-value write act on a past state, as Maelstrom documents', () => {
    // n2 moves x from 1 to 2; n1 (which saw x = 1) may then rewrite 1 "in the past" without undoing that.
    let pastWrites = 0;
    for (let seed = 0; seed < 20; seed++) {
      const service = new SeqKv(createRng(seed));
      ask(service, 'n1', { type: 'write', key: 'x', value: 1 }, 0);
      // n2's cas may first fail on a state from before the write (error 20, changing nothing); it gets there.
      let attempts = 0;
      while (ask(service, 'n2', { type: 'cas', key: 'x', from: 1, to: 2 }, 0).type !== 'cas_ok') expect(++attempts).toBeLessThan(50);
      const before = service.version;
      expect(ask(service, 'n1', { type: 'write', key: 'x', value: 1 }, 0).type).toBe('write_ok');
      if (service.version !== before) continue;
      pastWrites++;
      // The rewrite went into the past, so n2, which made x = 2, still reads 2.
      expect(ask(service, 'n2', { type: 'read', key: 'x' }, 0).value).toBe(2);
    }
    expect(pastWrites).toBeGreaterThan(0);
  });

  it('gives sequentially consistent histories over random read/write/cas mixes', () => {
    for (let seed = 0; seed < 40; seed++) {
      const histories = randomRun(seed, 3, 12, 2);
      expect(isSequentiallyConsistent(histories), `seed ${seed}: ${JSON.stringify(histories)}`).toBe(true);
    }
  });

  it('the consistency search is not vacuous: it rejects a client seeing writes out of order', () => {
    const w = (value: number): ClientOp => ({ f: 'write', key: 'x', value, reply: { ok: true } });
    const r = (value: number): ClientOp => ({ f: 'read', key: 'x', reply: { ok: true, value } });
    expect(isSequentiallyConsistent([[w(1), w(2)], [r(2), r(1)]])).toBe(false);
    expect(isSequentiallyConsistent([[w(1), w(2)], [r(1), r(2)]])).toBe(true);
  });

  it('is weaker than lin-kv: timed histories with stale reads fail the linearizability checker', () => {
    const service = new SeqKv(createRng(3));
    const ops: Operation[] = [];
    let t = 0;
    for (let i = 1; i <= 30; i++) {
      const write = ask(service, 'n1', { type: 'write', key: 'x', value: i }, t);
      ops.push({ client: 'n1', f: 'write', key: 'x', value: i, call_ms: t, return_ms: t + 1, outcome: write.type === 'write_ok' ? 'ok' : 'fail' });
      t += 2;
      const read = ask(service, 'n2', { type: 'read', key: 'x' }, t);
      ops.push({ client: 'n2', f: 'read', key: 'x', result: read.type === 'error' ? null : (read.value as number), call_ms: t, return_ms: t + 1, outcome: 'ok' });
      t += 2;
    }
    expect(checkHistory(ops).result).toBe('invalid');
  });

  it(`serves from the last ${seq_kv_versions_kept} versions only: a new client never sees older ones`, () => {
    const service = new SeqKv(createRng(1));
    const writes = 3 * seq_kv_versions_kept;
    for (let i = 1; i <= writes; i++) ask(service, 'n1', { type: 'write', key: 'x', value: i }, i);
    for (let c = 0; c < 50; c++) {
      const read = ask(service, `n${c + 2}`, { type: 'read', key: 'x' }, 0);
      expect(read.value as number).toBeGreaterThan(writes - seq_kv_versions_kept);
    }
  });

  it(`keeps floors for ${seq_kv_clients_max} clients; one forgotten for lack of room still never goes backwards`, () => {
    const service = new SeqKv(createRng(2));
    let version = 0;
    ask(service, 'n0', { type: 'write', key: 'x', value: ++version }, 0);
    let seen = 0;
    for (let round = 0; round < 3; round++) {
      for (let c = 1; c <= seq_kv_clients_max + 10; c++) {
        if (c % 100 === 0) ask(service, 'n0', { type: 'write', key: 'x', value: ++version }, 0);
        ask(service, `c${c}`, { type: 'read', key: 'x' }, 0);
      }
      const read = ask(service, 'c1', { type: 'read', key: 'x' }, 0);
      expect(read.value as number).toBeGreaterThanOrEqual(seen);
      seen = read.value as number;
    }
  });
});
