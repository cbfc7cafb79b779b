import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { analyzeSet, checkSet, latencyQuantiles, type ElementResult, type SetOperation, type SetRead } from '../../../src/workloads/set/checker.js';
import { createRng, type Rng } from '../../../src/lib/util/prng.js';

type Outcome = 'ok' | 'fail' | 'unknown';
const add = (value: unknown, call_ms: number, return_ms: number | null, outcome: Outcome = 'ok', client = 'c1'): SetOperation => ({
  client,
  f: 'add',
  value,
  call_ms,
  return_ms: outcome === 'unknown' ? null : return_ms,
  outcome,
});
const read = (result: unknown[], call_ms: number, return_ms: number, final = false, client = 'c2'): SetOperation => ({ client, f: 'read', result, call_ms, return_ms, outcome: 'ok', final });
const failedRead = (call_ms: number, final = true): SetOperation => ({ client: 'c3', f: 'read', call_ms, return_ms: null, outcome: 'unknown', final });

const outcomeOf = (ops: SetOperation[], value: unknown) => analyzeSet(ops).elements.find((e) => e.element === value)?.outcome;

describe('set checker: element outcomes', () => {
  it('calls an element stable when every read after it was first seen holds it', () => {
    const ops = [add(1, 0, 10), read([1], 20, 25), read([1], 30, 35, true)];
    const result = checkSet(ops);
    expect(result.result).toBe('valid');
    expect(result.stable_count).toBe(1);
    expect(result.stale_count).toBe(0);
    expect(result.stable_latencies_ms).toEqual({ '0': 0, '0.5': 0, '0.95': 0, '0.99': 0, '1': 0 });
  });

  it('calls an acknowledged element missing from the final reads lost, and the run invalid, naming it', () => {
    const ops = [add(1, 0, 10), add(2, 0, 10, 'ok', 'c4'), read([1, 2], 20, 25), read([1], 30, 35, true), read([1], 31, 36, true, 'c5')];
    const result = checkSet(ops, { noun: 'broadcast' });
    expect(result.result).toBe('invalid');
    expect(result.lost).toEqual([2]);
    // Seen by the read that began at 20, 10 ms after it was acknowledged at 10.
    expect(result.lost_latencies_ms?.['1']).toBe(10);
    expect(result.text).toContain('1 of 2 broadcasts was lost\n  lost: 2, seen by a read, then missing from every later one');
  });

  it('says a lost element was never seen by any read, the final reads included', () => {
    const ops = [add(17, 0, 5), add(3, 0, 5, 'ok', 'c4'), read([3], 10, 12, true)];
    const result = checkSet(ops, { noun: 'broadcast' });
    expect(result.result).toBe('invalid');
    expect(result.text).toContain('17, acknowledged but never seen by any read, the final reads after healing included');
    expect(result.lost_latencies_ms?.['0']).toBe(0);
  });

  it('does not call an element lost when the read that missed it was concurrent with its add', () => {
    // The final read began at 8, before the add was acknowledged at 10: it may have happened before the add.
    const ops = [add(1, 0, 10), read([], 8, 12, true), add(2, 0, 1, 'ok', 'c4'), read([2], 5, 6, false, 'c5')];
    expect(outcomeOf(ops, 1)).toBe('never-read');
  });

  it('calls an element stale when a read that began after it was known missed it, then it settled', () => {
    const ops = [add(1, 0, 10), read([], 20, 22), read([], 40, 42, false, 'c4'), read([1], 50, 55, true)];
    const result = checkSet(ops);
    expect(result.result).toBe('valid');
    expect(result.stale).toEqual([1]);
    expect(result.worst_stale).toEqual([{ element: 1, stable_latency_ms: 30 }]);
    expect(result.stable_latencies_ms?.['0.5']).toBe(30);
  });

  it('counts an element known from a read even when its add timed out', () => {
    const ops = [add(1, 0, null, 'unknown'), read([1], 5, 6), read([], 10, 11, true)];
    // Known at 6 (the read that held it returned), missed by a read that began at 10: lost.
    expect(outcomeOf(ops, 1)).toBe('lost');
    const stays = [add(1, 0, null, 'unknown'), read([1], 5, 6), read([1], 10, 11, true)];
    expect(outcomeOf(stays, 1)).toBe('stable');
  });

  it('calls a failed or timed-out add that nobody saw never-read, not lost', () => {
    const ops = [add(1, 0, 3, 'fail'), add(2, 0, null, 'unknown'), add(3, 0, 3), read([3], 10, 11, true)];
    const result = checkSet(ops);
    expect(result.never_read).toEqual([1, 2]);
    expect(result.result).toBe('valid');
    expect(result.attempt_count).toBe(3);
    expect(result.acknowledged_count).toBe(1);
  });

  it('orders reads by when they began: the later-starting read decides', () => {
    // Present in the read that began at 30, absent from the one that began at 31: lost (last absent after last present).
    const lost = [add(1, 0, 10), read([1], 30, 40, true), read([], 31, 35, true, 'c4')];
    expect(outcomeOf(lost, 1)).toBe('lost');
    const stable = [add(1, 0, 10), read([], 30, 40, true), read([1], 31, 35, true, 'c4')];
    expect(outcomeOf(stable, 1)).toBe('stable');
  });
});

describe('set checker: what set-full misses', () => {
  it('reports an element appearing twice in one read, with its count and line, and fails the run', () => {
    const ops = [add(5, 0, 1), { ...read([5, 5, 5], 2, 3, true), line: 7 } as SetOperation];
    const result = checkSet(ops);
    expect(result.result).toBe('invalid');
    expect(result.duplicated).toEqual([{ element: 5, count: 3, line: 7 }]);
    expect(result.text).toContain("Maelstrom's checker never reports duplicates");
  });

  it('reports elements read before any add of them began', () => {
    const ops = [read([9], 0, 1), add(9, 2, 3), add(1, 0, 1), read([1, 9, 42], 5, 6, true)];
    const result = checkSet(ops);
    expect(result.result).toBe('invalid');
    expect(result.unexpected.map((u) => u.element)).toEqual([9, 42]);
    // The early sighting is not evidence about 9: the final read is.
    expect(outcomeOf(ops, 9)).toBe('stable');
  });

  it('keeps 1 and "1" apart', () => {
    const ops = [add(1, 0, 1), add('1', 0, 1, 'ok', 'c4'), read(['1'], 5, 6, true)];
    const result = checkSet(ops);
    expect(result.lost).toEqual([1]);
    expect(result.stable_count).toBe(1);
  });
});

describe('set checker: unknown', () => {
  it('is unknown with no reads at all, or no successful final read, even when elements look lost', () => {
    expect(checkSet([add(1, 0, 1)]).result).toBe('unknown');
    const noFinal = [add(1, 0, 1), read([], 5, 6), failedRead(7)];
    const result = checkSet(noFinal);
    expect(result.result).toBe('unknown');
    expect(result.reason).toContain('no final read succeeded');
  });

  it('is unknown when nothing was added', () => {
    expect(checkSet([read([], 0, 1, true)]).result).toBe('unknown');
  });
});

describe('latency quantiles', () => {
  it("takes the element at floor(n × point), as set-full does", () => {
    const values = Array.from({ length: 200 }, (_, i) => 200 - i);
    expect(latencyQuantiles(values)).toEqual({ '0': 1, '0.5': 101, '0.95': 191, '0.99': 199, '1': 200 });
    expect(latencyQuantiles([])).toBeNull();
  });
});

// --- Cross-check against a direct reading of the definitions, O(elements × reads). ---

interface NaiveResult {
  elements: Map<string, Omit<ElementResult, 'element'>>;
  duplicated: Map<string, number>;
  unexpected: Set<string>;
  verdict: 'valid' | 'invalid' | 'unknown';
}

const key = (value: unknown) => (typeof value === 'number' ? `n${value}` : `j${JSON.stringify(value)}`);


function naiveCheck(ops: SetOperation[]): NaiveResult {
  const okReads = ops.filter((op): op is SetRead => op.f === 'read' && op.outcome === 'ok');
  const seq = new Map(okReads.map((r, i) => [r, i]));
  const before = (a: SetRead, b: SetRead) => a.call_ms < b.call_ms || (a.call_ms === b.call_ms && seq.get(a)! < seq.get(b)!);
  const last = (list: SetRead[]) => list.reduce<SetRead | null>((best, r) => (best === null || before(best, r) ? r : best), null);
  const values = new Map<string, unknown>();
  for (const op of ops) if (op.f === 'add' && !values.has(key(op.value))) values.set(key(op.value), op.value);
  const elements = new Map<string, Omit<ElementResult, 'element'>>();
  for (const [k] of values) {
    const adds = ops.filter((op) => op.f === 'add' && key(op.value) === k);
    const first = Math.min(...adds.map((a) => a.call_ms));
    const okAdds = adds.filter((a) => a.outcome === 'ok');
    const considered = okReads.filter((r) => r.return_ms! >= first);
    const present = considered.filter((r) => r.result!.some((v) => key(v) === k));
    const absent = considered.filter((r) => !present.includes(r));
    const knownAt = Math.min(...okAdds.map((a) => a.return_ms!), ...present.map((r) => r.return_ms!));
    const known = Number.isFinite(knownAt) ? knownAt : null;
    const lp = last(present);
    const la = last(absent);
    const stable = lp !== null && (la === null || before(la, lp));
    const lost = known !== null && la !== null && (lp === null || before(lp, la)) && known < la.call_ms;
    elements.set(k, {
      outcome: stable ? 'stable' : lost ? 'lost' : 'never-read',
      acknowledged: okAdds.length > 0,
      known_ms: known,
      stale: stable && la !== null && la.call_ms > known!,
      stable_latency_ms: stable ? (la === null ? 0 : Math.max(0, la.call_ms - known!)) : null,
      lost_latency_ms: lost ? (lp === null ? 0 : Math.max(0, lp.call_ms - known!)) : null,
      seen: present.length > 0,
    });
  }
  const duplicated = new Map<string, number>();
  const unexpected = new Set<string>();
  for (const r of okReads) {
    for (const v of r.result!) {
      const count = r.result!.filter((w) => key(w) === key(v)).length;
      if (count > 1) duplicated.set(key(v), Math.max(duplicated.get(key(v)) ?? 0, count));
      if (!ops.some((op) => op.f === 'add' && key(op.value) === key(v) && op.call_ms <= r.return_ms!)) unexpected.add(key(v));
    }
  }
  const outcomes = [...elements.values()].map((e) => e.outcome);
  const verdict =
    duplicated.size > 0 || unexpected.size > 0
      ? 'invalid'
      : okReads.length === 0 || !okReads.some((r) => r.final)
        ? 'unknown'
        : outcomes.includes('lost')
          ? 'invalid'
          : outcomes.includes('stable')
            ? 'valid'
            : 'unknown';
  return { elements, duplicated, unexpected, verdict };
}

/** A small history: a few clients, a few values (some added twice, some never), small integer times so ties happen. */
function randomHistory(rng: Rng): SetOperation[] {
  const ops: SetOperation[] = [];
  const clients = 1 + rng.int(4);
  const valueCount = 1 + rng.int(5);
  // Mostly small integers (found through an array), sometimes values found through the map instead.
  const unusual = ['two', -1, 2.5, 1e12, { id: 4 }];
  const pool: unknown[] = Array.from({ length: valueCount + 1 }, (_, i) => (rng.next() < 0.15 ? unusual[rng.int(unusual.length)] : i));
  const opCount = 1 + rng.int(20);
  for (let i = 0; i < opCount; i++) {
    const client = `c${1 + rng.int(clients)}`;
    const call_ms = rng.int(20);
    // Mostly short operations, some long ones, so short reads fall inside long ones.
    const return_ms = call_ms + (rng.next() < 0.2 ? rng.int(15) : rng.int(3));
    const roll = rng.next();
    const outcome: Outcome = roll < 0.7 ? 'ok' : roll < 0.85 ? 'fail' : 'unknown';
    if (rng.next() < 0.45) {
      // Mostly the next fresh value, sometimes one added before; the last value of the pool is never added on purpose.
      ops.push(add(pool[rng.int(valueCount)], call_ms, return_ms, outcome, client));
    } else if (outcome === 'ok') {
      const result: unknown[] = pool.filter(() => rng.next() < 0.6);
      if (result.length > 0 && rng.next() < 0.08) result.push(result[rng.int(result.length)]);
      if (rng.next() > 0.9) result.push(pool[valueCount]);
      ops.push(read(rng.shuffle(result), call_ms, return_ms, rng.next() < 0.4, client));
    } else ops.push({ client, f: 'read', call_ms, return_ms: outcome === 'unknown' ? null : return_ms, outcome, final: rng.next() < 0.4 });
  }
  return ops;
}

describe('set checker against a direct reading of its definitions', () => {
  it('agrees on every element, duplicate, unexpected element and verdict over 5,000 random small histories', () => {
    const rng = createRng(20_201);
    const seenOutcomes = new Set<string>();
    const seenVerdicts = new Set<string>();
    let staleSeen = 0;
    for (let trial = 0; trial < 5_000; trial++) {
      const ops = randomHistory(rng);
      const naive = naiveCheck(ops);
      const analysis = analyzeSet(ops);
      const fast = {
        elements: new Map(analysis.elements.map(({ element, ...rest }) => [key(element), rest])),
        duplicated: new Map(analysis.duplicated.map((d) => [key(d.element), d.count])),
        unexpected: new Set(analysis.unexpected.map((u) => key(u.element))),
        verdict: checkSet(ops).result,
      };
      // Compared cheaply first; the history is printed only when they differ.
      if (!isDeepStrictEqual(fast, naive)) expect(fast, JSON.stringify(ops)).toEqual(naive);
      for (const e of naive.elements.values()) {
        seenOutcomes.add(e.outcome);
        if (e.stale) staleSeen++;
      }
      seenVerdicts.add(naive.verdict);
    }
    // The random histories reach every case, so the agreement means something.
    expect([...seenOutcomes].sort()).toEqual(['lost', 'never-read', 'stable']);
    expect([...seenVerdicts].sort()).toEqual(['invalid', 'unknown', 'valid']);
    expect(staleSeen).toBeGreaterThan(50);
  });

  it('agrees on a history with more elements than the checker first makes room for', () => {
    const rng = createRng(7);
    const ops: SetOperation[] = [];
    for (let i = 0; i < 1_100; i++) {
      const value = i % 3 === 0 ? `s${i}` : i;
      ops.push(add(value, i, i + 1 + rng.int(3), rng.next() < 0.9 ? 'ok' : 'unknown', `c${i % 4}`));
    }
    const added = ops.map((op) => (op.f === 'add' ? op.value : null));
    for (let r = 0; r < 6; r++) {
      const call_ms = 180 * (r + 1);
      // Some of what was added by then, plus an element nobody added.
      const result = added.slice(0, call_ms).filter(() => rng.next() < 0.95);
      if (r === 2) result.push(99_999);
      ops.push(read(result, call_ms, call_ms + 2, r === 5, 'c9'));
    }
    const naive = naiveCheck(ops);
    const analysis = analyzeSet(ops);
    expect(analysis.elements.length).toBe(1_100);
    expect(new Map(analysis.elements.map(({ element, ...rest }) => [key(element), rest]))).toEqual(naive.elements);
    expect(new Set(analysis.unexpected.map((u) => key(u.element)))).toEqual(new Set(['n99999']));
    expect(checkSet(ops).result).toBe(naive.verdict);
  });
});
