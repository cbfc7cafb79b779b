import { describe, expect, it } from 'vitest';
import { checkCounter, counter_intervals_max, IntegerSet, parseCounterHistory, type CounterOperation } from '../../../src/workloads/counter/checker.js';
import { UserError } from '../../../src/lib/util/errors.js';
import { createRng, type Rng } from '../../../src/lib/util/prng.js';

type Outcome = 'ok' | 'fail' | 'unknown';
const add = (value: number, outcome: Outcome = 'ok', call_ms = 0, return_ms = 1): CounterOperation => ({
  client: 'c1',
  f: 'add',
  value,
  call_ms,
  return_ms: outcome === 'unknown' ? null : return_ms,
  outcome,
});
const finalRead = (result: number, call_ms = 100): CounterOperation => ({ client: 'c2', f: 'read', result, call_ms, return_ms: call_ms + 1, outcome: 'ok', final: true });
const runRead = (result: number, call_ms: number, return_ms = call_ms + 1): CounterOperation => ({ client: 'c3', f: 'read', result, call_ms, return_ms, outcome: 'ok', final: false });

describe('counter checker: final reads', () => {
  it('accepts exactly the sum of the acknowledged adds when none is indeterminate', () => {
    const result = checkCounter([add(2), add(3), finalRead(5), finalRead(4)]);
    expect(result.result).toBe('invalid');
    expect(result.acceptable).toEqual([[5, 5]]);
    expect(result.wrong_final_reads.map((r) => r.value)).toEqual([4]);
    expect(result.text).toContain('c2 read 4');
    expect(result.text).toContain('nearest possible 5');
    expect(checkCounter([add(2), add(3), finalRead(5)]).result).toBe('valid');
  });

  it('lets each indeterminate add count or not, by its sign, and keeps the gaps between totals', () => {
    // 10 acknowledged; 5, -1, -1 indeterminate: 8..10 without the 5, 13..15 with it; 11 and 12 are impossible.
    const ops = [add(10), add(5, 'unknown'), add(-1, 'unknown'), add(-1, 'unknown'), finalRead(11), finalRead(15)];
    const result = checkCounter(ops);
    expect(result.acceptable).toEqual([
      [8, 10],
      [13, 15],
    ]);
    expect(result.result).toBe('invalid');
    expect(result.wrong_final_reads.map((r) => [r.value, r.nearest_below, r.nearest_above])).toEqual([[11, 10, 13]]);
  });

  it('counts failed adds for nothing', () => {
    expect(checkCounter([add(4), add(100, 'fail'), finalRead(4)]).result).toBe('valid');
    expect(checkCounter([add(4), add(100, 'fail'), finalRead(104)]).result).toBe('invalid');
  });

  it('is unknown when no final read succeeded (Maelstrom calls that valid)', () => {
    const failedFinal: CounterOperation = { client: 'c2', f: 'read', call_ms: 100, return_ms: null, outcome: 'unknown', final: true };
    const result = checkCounter([add(1), failedFinal]);
    expect(result.result).toBe('unknown');
    expect(result.reason).toContain('no final read succeeded');
  });

  it('widens to the hull past its interval limit, says so, and still refuses totals outside it', () => {
    // Powers of two spread apart keep every subset sum apart: 2^14 totals would need more intervals than allowed.
    const spread = Array.from({ length: 14 }, (_, i) => add(3 * 2 ** i, 'unknown'));
    const result = checkCounter([...spread, finalRead(1)]);
    expect(2 ** 14).toBeGreaterThan(counter_intervals_max);
    expect(result.approximate).toBe(true);
    expect(result.result).toBe('valid');
    expect(result.text).toContain('too many indeterminate adds');
    expect(checkCounter([...spread, finalRead(-1)]).result).toBe('invalid');
  });
});

describe('counter checker: reads during the run', () => {
  it('accepts a read that misses adds acknowledged before it (eventual consistency)', () => {
    expect(checkCounter([add(5, 'ok', 0, 1), runRead(0, 10), finalRead(5)]).result).toBe('valid');
  });

  it('refuses a read counting an add not begun by the time it returned, or an add twice', () => {
    const early = checkCounter([runRead(5, 0, 1), add(5, 'ok', 2, 3), finalRead(5)]);
    expect(early.result).toBe('invalid');
    expect(early.wrong_run_reads.map((r) => r.value)).toEqual([5]);
    expect(early.text).toContain('Maelstrom does not judge these');
    expect(checkCounter([add(5, 'ok', 0, 1), runRead(10, 5), finalRead(5)]).result).toBe('invalid');
  });
});

describe('IntegerSet', () => {
  it('merges adjacent integers into one interval', () => {
    const set = new IntegerSet(0);
    set.addOptional(1);
    set.addOptional(2);
    expect(set.intervals).toEqual([[0, 3]]);
    set.addOptional(-10);
    expect(set.intervals).toEqual([
      [-10, -7],
      [0, 3],
    ]);
  });
});

describe('counter history lines', () => {
  it('parses counter adds and reads and refuses non-integers with the line number', () => {
    const text = '{"type":"workload","workload":"pn-counter"}\n{"client":"c1","f":"add","value":-3,"call_ms":0,"return_ms":1,"outcome":"ok"}\n\n{"client":"c1","f":"read","result":-3,"call_ms":2,"return_ms":3,"outcome":"ok","final":true}\n';
    expect(parseCounterHistory(text)).toEqual([
      { client: 'c1', f: 'add', value: -3, call_ms: 0, return_ms: 1, outcome: 'ok', line: 2 },
      { client: 'c1', f: 'read', result: -3, call_ms: 2, return_ms: 3, outcome: 'ok', final: true, line: 4 },
    ]);
    expect(() => parseCounterHistory('{"client":"c1","f":"add","value":1.5,"call_ms":0,"return_ms":1,"outcome":"ok"}')).toThrow(
      new UserError('history line 1: "value" of a counter add must be an integer (the delta)'),
    );
    expect(() => parseCounterHistory('\n{"client":"c1","f":"read","result":[1],"call_ms":0,"return_ms":1,"outcome":"ok"}')).toThrow(
      new UserError('history line 2: "result" of an ok counter read must be an integer'),
    );
  });
});

// --- Cross-check against every subset of the adds that may or may not count. ---

/** Every total some subset of `optional` adds to `base`. */
function subsetTotals(base: number, optional: number[]): Set<number> {
  const totals = new Set<number>();
  for (let mask = 0; mask < 2 ** optional.length; mask++) {
    let total = base;
    for (let i = 0; i < optional.length; i++) if (mask & (1 << i)) total += optional[i]!;
    totals.add(total);
  }
  return totals;
}

function bruteForce(ops: CounterOperation[]): { verdict: string; finalWrong: number[]; runWrong: number[]; finalTotals: Set<number> } {
  const adds = ops.filter((op) => op.f === 'add');
  const definite = adds.filter((a) => a.outcome === 'ok').reduce((sum, a) => sum + a.value, 0);
  const finalTotals = subsetTotals(
    definite,
    adds.filter((a) => a.outcome === 'unknown').map((a) => a.value),
  );
  const okReads = ops.filter((op) => op.f === 'read' && op.outcome === 'ok');
  const finalWrong = okReads.filter((r) => r.f === 'read' && r.final && !finalTotals.has(r.result!)).map((r) => r.line!);
  const runWrong = okReads
    .filter((r) => r.f === 'read' && !r.final && !subsetTotals(0, adds.filter((a) => a.outcome !== 'fail' && a.call_ms <= r.return_ms!).map((a) => a.value)).has(r.result!))
    .map((r) => r.line!);
  const anyFinal = okReads.some((r) => r.f === 'read' && r.final);
  const verdict = finalWrong.length > 0 || runWrong.length > 0 ? 'invalid' : anyFinal ? 'valid' : 'unknown';
  return { verdict, finalWrong, runWrong, finalTotals };
}

function randomCounterHistory(rng: Rng, negative: boolean): CounterOperation[] {
  const ops: CounterOperation[] = [];
  const count = 1 + rng.int(12);
  let total = 0;
  for (let i = 0; i < count; i++) {
    const call_ms = rng.int(20);
    const return_ms = call_ms + rng.int(4);
    const roll = rng.next();
    const outcome: Outcome = roll < 0.6 ? 'ok' : roll < 0.75 ? 'fail' : 'unknown';
    if (rng.next() < 0.55) {
      const value = negative ? rng.int(11) - 5 : rng.int(6);
      if (outcome === 'ok') total += value;
      ops.push({ client: 'c1', f: 'add', value, call_ms, return_ms: outcome === 'unknown' ? null : return_ms, outcome, line: i + 1 });
    } else if (outcome === 'ok') {
      // Near the running total, so reads land on both sides of what is acceptable.
      ops.push({ client: 'c2', f: 'read', result: total + rng.int(9) - 4, call_ms, return_ms, outcome, final: rng.next() < 0.5, line: i + 1 });
    } else ops.push({ client: 'c2', f: 'read', call_ms, return_ms: outcome === 'unknown' ? null : return_ms, outcome, final: rng.next() < 0.5, line: i + 1 });
  }
  return ops;
}

describe('counter checker against every subset of the adds', () => {
  it('agrees on the acceptable totals, the wrong reads and the verdict over 4,000 random small histories, g-counter and pn-counter', () => {
    const rng = createRng(4_242);
    const verdicts = new Set<string>();
    for (let trial = 0; trial < 4_000; trial++) {
      const ops = randomCounterHistory(rng, trial % 2 === 1);
      const expected = bruteForce(ops);
      const result = checkCounter(ops);
      const context = JSON.stringify(ops);
      expect(result.result, context).toBe(expected.verdict);
      expect(result.wrong_final_reads.map((r) => r.line), context).toEqual(expected.finalWrong);
      expect(
        result.wrong_run_reads.map((r) => r.line).sort((a, b) => a! - b!),
        context,
      ).toEqual(expected.runWrong);
      const set = new IntegerSet(0);
      set.intervals = result.acceptable;
      const lo = Math.min(...expected.finalTotals) - 3;
      const hi = Math.max(...expected.finalTotals) + 3;
      for (let value = lo; value <= hi; value++) expect(set.has(value), `${value} in ${context}`).toBe(expected.finalTotals.has(value));
      verdicts.add(expected.verdict);
    }
    expect([...verdicts].sort()).toEqual(['invalid', 'unknown', 'valid']);
  });
});
