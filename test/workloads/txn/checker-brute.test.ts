import { describe, expect, it } from 'vitest';
import { createRng, type Rng } from '../../../src/lib/util/prng.js';
import { checkTxns } from '../../../src/workloads/txn/checker.js';
import type { MicroOp, Txn, TxnWorkload } from '../../../src/workloads/txn/history.js';
import { bruteForce } from './brute.js';

/**
 * The checker against brute force on thousands of small random histories: a store runs the
 * transactions one at a time in some order, then some reads are corrupted (a stale or a future
 * prefix of a list, another value of a register), some transactions fail or are left
 * indeterminate, and the times are drawn at random. For list-append the verdicts must agree
 * exactly, for serializable and strict-serializable; for rw-register, whose version orders are
 * only partly observable, every anomaly the checker reports must be real (brute force finds no
 * serialization), and most of those brute force finds are found. DSLAB_TXN_SEED=N tries other seeds.
 */

const keys = [0, 1];

function randomHistory(rng: Rng, workload: TxnWorkload, observe_all = false): Txn[] {
  const count = 2 + rng.int(4);
  let next_value = 1;
  const txns: Txn[] = [];
  for (let index = 0; index < count; index++) {
    const ops: MicroOp[] = [];
    const length = 1 + rng.int(3);
    for (let i = 0; i < length; i++) {
      const key = rng.pick(keys);
      if (rng.next() < 0.5) ops.push(['r', key, null]);
      else ops.push(workload === 'list-append' ? ['append', key, next_value++] : ['w', key, next_value++]);
    }
    if (observe_all) for (const key of keys) ops.push(['r', key, null]);
    const outcome = rng.next() < 0.1 ? 'fail' : rng.next() < 0.12 ? 'unknown' : 'ok';
    const call_ms = rng.int(100);
    txns.push({ index, client: `c${index}`, outcome, ops, call_ms, return_ms: outcome === 'unknown' ? null : call_ms + 1 + rng.int(60) });
  }
  // Run them one at a time in a random order (failed ones leave no trace; an indeterminate one may or may not).
  const state = new Map<number, unknown>();
  const order = rng.shuffle(txns);
  for (const txn of order) {
    const applied = txn.outcome === 'ok' || (txn.outcome === 'unknown' && rng.next() < 0.5);
    const scratch = new Map(state);
    txn.ops = txn.ops.map(([f, key, value]) => {
      if (f === 'r') return ['r', key, txn.outcome === 'ok' ? (scratch.get(key as number) ?? null) : null] as MicroOp;
      if (f === 'append') scratch.set(key as number, [...((scratch.get(key as number) as number[] | undefined) ?? []), value]);
      else scratch.set(key as number, value);
      return [f, key, value] as MicroOp;
    });
    if (applied) for (const [k, v] of scratch) state.set(k, v);
  }
  // Corrupt some reads.
  for (const txn of txns) {
    if (txn.outcome !== 'ok') continue;
    txn.ops = txn.ops.map((op) => {
      if (op[0] !== 'r' || rng.next() > 0.25) return op;
      const final = state.get(op[1] as number);
      if (workload === 'list-append') {
        const list = (final as number[] | undefined) ?? [];
        const cut = rng.int(list.length + 1);
        return ['r', op[1], cut === 0 && rng.next() < 0.5 ? null : list.slice(0, cut)] as MicroOp;
      }
      return ['r', op[1], rng.next() < 0.3 ? null : 1 + rng.int(next_value)] as MicroOp;
    });
  }
  return txns;
}

// Unknown (nothing committed) is not a claim of an anomaly.
const serializable = (txns: Txn[], workload: TxnWorkload) => checkTxns(txns, workload, { models: ['serializable'] }).result !== 'invalid';
const strict = (txns: Txn[], workload: TxnWorkload) => checkTxns(txns, workload, { models: ['strict-serializable'] }).result !== 'invalid';

describe('the transactional checker against brute force', () => {
  it('list-append: agrees on serializable and strict-serializable on 3000 random histories', () => {
    const rng = createRng(Number(process.env.DSLAB_TXN_SEED ?? 20261207));
    let invalid = 0;
    for (let run = 0; run < 3000; run++) {
      const txns = randomHistory(rng, 'list-append');
      const brute = bruteForce(txns, 'list-append', false);
      expect(serializable(txns, 'list-append'), `run ${run} serializable: ${JSON.stringify(txns)}`).toBe(brute);
      const bruteStrict = bruteForce(txns, 'list-append', true);
      expect(strict(txns, 'list-append'), `run ${run} strict: ${JSON.stringify(txns)}`).toBe(bruteStrict);
      if (!brute) invalid++;
    }
    // The corruption makes a fair share invalid, so both answers are exercised.
    expect(invalid).toBeGreaterThan(300);
    expect(invalid).toBeLessThan(2700);
  });

  it('rw-register: never reports an anomaly a serialization explains, on 3000 random histories', () => {
    const rng = createRng(Number(process.env.DSLAB_TXN_SEED ?? 7));
    let caught = 0;
    let invalid = 0;
    for (let run = 0; run < 3000; run++) {
      const txns = randomHistory(rng, 'rw-register');
      const brute = bruteForce(txns, 'rw-register', false);
      if (!serializable(txns, 'rw-register')) expect(brute, `run ${run}: ${JSON.stringify(txns)}`).toBe(false);
      if (!brute) {
        invalid++;
        if (!serializable(txns, 'rw-register')) caught++;
      }
      if (bruteForce(txns, 'rw-register', true) && !strict(txns, 'rw-register')) expect.fail(`run ${run} strict: ${JSON.stringify(txns)}`);
    }
    expect(invalid).toBeGreaterThan(300);
    // Most anomalies are visible from the reads alone.
    expect(caught / invalid).toBeGreaterThan(0.5);
  });
});
