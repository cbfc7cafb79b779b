import { describe, expect, it } from 'vitest';
import { checkTxns } from '../../../src/workloads/txn/checker.js';
import type { MicroOp, Txn, TxnOutcome, TxnWorkload } from '../../../src/workloads/txn/history.js';
import { exponentialIndex, TxnGenerator, zipfCount } from '../../../src/workloads/txn/generator.js';
import { createRng } from '../../../src/lib/util/prng.js';

/** Transactions one after another in time unless times are given: [client, ops, outcome?, call, return]. */
function history(rows: [string, MicroOp[], TxnOutcome?, number?, number?][]): Txn[] {
  return rows.map(([client, ops, outcome = 'ok', call, ret], index) => ({ index, client, ops, outcome, call_ms: call ?? index * 10, return_ms: outcome === 'unknown' ? null : (ret ?? index * 10 + 5) }));
}

const check = (txns: Txn[], workload: TxnWorkload, models = ['serializable']) => checkTxns(txns, workload, { models });

describe('the transactional checker on hand-written histories', () => {
  it('finds nothing in a serial list-append history and says every model holds', () => {
    const result = check(history([['c1', [['append', 'x', 1]]], ['c2', [['r', 'x', [1]], ['append', 'x', 2]]], ['c1', [['r', 'x', [1, 2]]]]]), 'list-append', ['strict-serializable']);
    expect(result.result).toBe('valid');
    expect(result.models.satisfied).toContain('strict-serializable');
    expect(result.anomalies).toEqual({});
  });

  it('G0 on list-append: two transactions append to two keys in opposite orders', () => {
    const result = check(
      history([
        ['c1', [['append', 'x', 1], ['append', 'y', 1]]],
        ['c2', [['append', 'x', 2], ['append', 'y', 2]]],
        ['c3', [['r', 'x', [1, 2]], ['r', 'y', [2, 1]]]],
      ]),
      'list-append',
      ['read-uncommitted'],
    );
    expect(result.result).toBe('invalid');
    expect(result.anomalies.G0?.count).toBe(1);
    expect(result.models.ruled_out['read-uncommitted']).toContain('G0');
    expect(result.text).toMatch(/T0 →ww T1: T0 appended 1 to "x" just before T1 appended 2/);
  });

  it('G0 on rw-register: found when each key is linearizable (strict-serializable), and only then', () => {
    // T0 and T1 write x and y; T2, after both finished, sees x from T1 and y from T0.
    const txns = history([
      ['c1', [['w', 'x', 1], ['w', 'y', 1]], 'ok', 0, 10],
      ['c2', [['w', 'x', 2], ['w', 'y', 2]], 'ok', 0, 10],
      ['c3', [['r', 'x', 2], ['r', 'y', 1]], 'ok', 20, 30],
    ]);
    const strict = check(txns, 'rw-register', ['strict-serializable']);
    expect(strict.result).toBe('invalid');
    expect(strict.anomalies['G0-realtime']?.count).toBeGreaterThan(0);
    expect(strict.text).toMatch(/on a linearizable key/);
    // Without real time the register orders cannot be known, and no weaker model is ruled out by it.
    expect(check(txns, 'rw-register', ['read-uncommitted']).result).toBe('valid');
  });

  it('G0 on rw-register from writes that follow reads, under any model', () => {
    // T2 read x=1 then wrote 3 (1 < 3); T3 read y=3... orders from reads alone: x: 1 < 2 and y: 2 < 1.
    const txns = history([
      ['c1', [['w', 'x', 1], ['w', 'y', 1]]],
      ['c2', [['w', 'x', 2], ['w', 'y', 2]]],
      ['c3', [['r', 'x', 1], ['w', 'x', 3]]],
    ]);
    txns[1]!.ops = [['r', 'x', 1], ['w', 'x', 2], ['r', 'y', 2], ['w', 'y', 4]];
    txns[0]!.ops = [['w', 'x', 1], ['r', 'y', 4], ['w', 'y', 1]];
    const result = check(txns, 'rw-register', ['read-uncommitted']);
    expect(result.result).toBe('invalid');
    expect(result.anomalies.G0?.count).toBeGreaterThan(0);
    expect(result.text).toMatch(/read "x" as 1 and then wrote 2/);
  });

  it('G1a: a committed transaction read a failed one\'s append', () => {
    const result = check(history([['c1', [['append', 'x', 1]], 'fail'], ['c2', [['r', 'x', [1]]]]]), 'list-append', ['read-committed']);
    expect(result.result).toBe('invalid');
    expect(result.anomalies.G1a?.examples[0]).toMatch(/T1 .* read "x" as \[1\]: 1 was written by T0, which failed/);
    expect(check(history([['c1', [['append', 'x', 1]], 'fail'], ['c2', [['r', 'x', [1]]]]]), 'list-append', ['read-uncommitted']).result).toBe('valid');
  });

  it('G1b: a read of a value its writer overwrote in the same transaction', () => {
    const result = check(history([['c1', [['w', 'x', 1], ['w', 'x', 2]]], ['c2', [['r', 'x', 1]]]]), 'rw-register', ['read-committed']);
    expect(result.result).toBe('invalid');
    expect(result.anomalies.G1b?.count).toBe(1);
    expect(result.text).toMatch(/intermediate read/);
  });

  it('G1c: two transactions each read the other\'s write', () => {
    const result = check(history([['c1', [['append', 'x', 1], ['r', 'y', [1]]]], ['c2', [['append', 'y', 1], ['r', 'x', [1]]]]]), 'list-append', ['read-committed']);
    expect(result.result).toBe('invalid');
    expect(result.anomalies.G1c?.count).toBe(1);
    expect(result.text).toMatch(/→wr/);
  });

  it('G-single (read skew): one anti-dependency closes the cycle; snapshot isolation is ruled out, read committed is not', () => {
    const txns = history([
      ['c1', [['append', 'x', 1], ['append', 'y', 1]]],
      ['c2', [['r', 'x', []], ['r', 'y', [1]]]],
    ]);
    const result = check(txns, 'list-append', ['snapshot-isolation', 'read-committed']);
    expect(result.result).toBe('invalid');
    expect(result.anomalies['G-single']?.count).toBe(1);
    expect(result.models.satisfied).toContain('read-committed');
    expect(result.models.ruled_out['snapshot-isolation']).toEqual(['G-single']);
    expect(result.text).toMatch(/T1 →rw T0: T1 read "x" as \[\], without 1, which T0 appended \(no read ever held it\)/);
  });

  it('G2-item (write skew): two anti-dependencies; snapshot isolation allows it, serializable does not', () => {
    const txns = history([
      ['c0', [['append', 'x', 1], ['append', 'y', 1]], 'ok', 0, 1],
      ['c1', [['r', 'x', [1]], ['r', 'y', [1]], ['append', 'x', 2]], 'ok', 10, 20],
      ['c2', [['r', 'x', [1]], ['r', 'y', [1]], ['append', 'y', 2]], 'ok', 10, 20],
      ['c3', [['r', 'x', [1, 2]], ['r', 'y', [1, 2]]], 'ok', 30, 40],
    ]);
    const result = check(txns, 'list-append', ['serializable']);
    expect(result.result).toBe('invalid');
    expect(result.anomalies['G2-item']?.count).toBe(1);
    expect(result.models.satisfied).toContain('snapshot-isolation');
  });

  it('internal inconsistency: a read that does not show the transaction\'s own append', () => {
    const result = check(history([['c1', [['append', 'x', 1], ['r', 'x', []]]]]), 'list-append', ['read-uncommitted']);
    expect(result.result).toBe('invalid');
    expect(result.anomalies.internal?.count).toBe(1);
  });

  it('a stale read after a write finished: serializable holds, strict-serializable does not (G-single-realtime)', () => {
    const txns = history([
      ['c1', [['append', 'x', 1]], 'ok', 0, 5],
      ['c2', [['r', 'x', []]], 'ok', 10, 15],
    ]);
    expect(check(txns, 'list-append', ['serializable']).result).toBe('valid');
    const strict = check(txns, 'list-append', ['strict-serializable']);
    expect(strict.result).toBe('invalid');
    expect(strict.anomalies['G-single-realtime']?.count).toBe(1);
    expect(strict.text).toMatch(/T0 finished \(0\.005 s\) before T1 began \(0\.010 s\)/);
  });

  it('indeterminate transactions: a write no one saw may not have happened; one someone saw did, whole', () => {
    const unseen = history([['c1', [['append', 'x', 1]], 'unknown'], ['c2', [['r', 'x', []]]]]);
    expect(check(unseen, 'list-append', ['strict-serializable']).result).toBe('valid');
    const half = history([['c1', [['append', 'x', 1], ['append', 'y', 1]], 'unknown'], ['c2', [['r', 'x', [1]], ['r', 'y', []]]]]);
    expect(check(half, 'list-append', ['serializable']).result).toBe('invalid');
  });

  it('says unknown for models it does not judge, and when nothing committed', () => {
    expect(check(history([['c1', [['append', 'x', 1]]]]), 'list-append', ['causal']).result).toBe('unknown');
    expect(check(history([['c1', [['append', 'x', 1]], 'fail']]), 'list-append', ['serializable']).result).toBe('unknown');
  });

  it('stops at its deadline and says unknown rather than hanging', () => {
    // A long chain of G-single cycles, and a clock that jumps past the deadline at once.
    const rows: [string, MicroOp[]][] = [];
    for (let i = 0; i < 200; i++) rows.push([`c${i}`, [['append', `k${i}`, 1], ['r', `k${i + 1}`, []]]], [`d${i}`, [['append', `k${i + 1}`, 1], ['r', `k${i}`, []]]]);
    let t = 0;
    const result = checkTxns(history(rows), 'list-append', { models: ['serializable'], timeout_ms: 5, now_ms: () => (t += 100) });
    expect(['unknown', 'invalid']).toContain(result.result);
    expect(result.incomplete).toBe(true);
  });
});

describe('histories of the shapes real databases were shown to produce', () => {
  // Write skew under a database's "serializable" level: two transactions each read both keys,
  // each then updates a different one (the textbook on-call doctors case).
  it('write skew between two readers of the same pair (G2-item)', () => {
    const txns = history([
      ['c0', [['w', 'alice', 1], ['w', 'bob', 1]], 'ok', 0, 1],
      ['c1', [['r', 'alice', 1], ['r', 'bob', 1], ['w', 'alice', 2]], 'ok', 10, 20],
      ['c2', [['r', 'alice', 1], ['r', 'bob', 1], ['w', 'bob', 2]], 'ok', 10, 20],
    ]);
    const result = check(txns, 'rw-register', ['serializable']);
    expect(result.result).toBe('invalid');
    expect(result.anomalies['G2-item']?.count).toBe(1);
    expect(result.models.satisfied).toContain('snapshot-isolation');
  });

  // Read skew from a replica that serves a read half before and half after a commit: a document
  // store's secondary read after a primary stepped down.
  it('a read that sees one of a transaction\'s writes and misses the other (G-single)', () => {
    const txns = history([
      ['c1', [['append', 'a', 1], ['append', 'b', 1]]],
      ['c2', [['r', 'a', [1]], ['r', 'b', []]]],
    ]);
    const result = check(txns, 'list-append', ['snapshot-isolation']);
    expect(result.anomalies['G-single']?.count).toBe(1);
  });

  // Lost update on a list: two appends, and later reads that never show one of them though they show later ones.
  it('an acknowledged append that later reads lost (a list whose reads disagree)', () => {
    const txns = history([
      ['c1', [['append', 'x', 1]]],
      ['c2', [['append', 'x', 2]]],
      ['c3', [['r', 'x', [1, 2]]]],
      ['c4', [['r', 'x', [2]]]],
    ]);
    const result = check(txns, 'list-append', ['read-uncommitted']);
    expect(result.result).toBe('invalid');
    expect(result.anomalies['incompatible-order']?.count).toBe(1);
  });
});

describe("Maelstrom's transaction generator", () => {
  it('keys are drawn exponentially: each about half as likely as the one before', () => {
    const rng = createRng(3);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) counts[exponentialIndex(rng, 10)]++;
    for (let i = 0; i < 5; i++) expect(counts[i] / counts[i + 1]).toBeGreaterThan(1.8);
    for (let i = 0; i < 5; i++) expect(counts[i] / counts[i + 1]).toBeLessThan(2.2);
  });

  it('transactions of 1 to max operations; each key written 1, 2, 3, … at most its budget, then a fresh key', () => {
    const rng = createRng(4);
    const generator = new TxnGenerator(rng, { write: 'append', key_count: 3, max_txn_length: 4, max_writes_per_key: 5 });
    const written = new Map<unknown, unknown[]>();
    const lengths = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const txn = generator.next();
      lengths.add(txn.length);
      for (const [f, key, value] of txn) {
        if (f === 'r') expect(value).toBeNull();
        else written.set(key, [...(written.get(key) ?? []), value]);
      }
    }
    expect([...lengths].sort()).toEqual([1, 2, 3, 4]);
    for (const values of written.values()) {
      expect(values).toEqual(values.map((_, i) => i + 1));
      expect(values.length).toBeLessThanOrEqual(5);
    }
    expect(written.size).toBeGreaterThan(10);
    expect(zipfCount(rng, 1)).toBe(1);
  });
});
