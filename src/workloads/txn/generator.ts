/**
 * Maelstrom's transaction generator (Elle's): transactions of 1 to
 * max_txn_length micro-operations, each a read or a write (an append for
 * list-append) with even odds, on one of key_count active keys drawn
 * exponentially (key i is half as likely as key i-1). Each active key takes a
 * number of writes drawn from 1 to max_writes_per_key (small numbers likelier),
 * its values 1, 2, 3, …; past that it is replaced by a fresh key. Pure.
 */
import type { Rng } from '../../lib/util/prng.js';
import type { MicroOp } from './history.js';

/** Active keys when --key-count is not given (Elle's default for the exponential distribution). */
export const key_count_default = 10;
/** Each key is this many times likelier than the next. */
export const key_dist_base = 2;
export const min_txn_length = 1;

export interface TxnGeneratorOptions {
  /** 'append' for list-append, 'w' for rw-register. */
  write: 'append' | 'w';
  key_count: number;
  max_txn_length: number;
  max_writes_per_key: number;
}

/** An index in [0, count) with P(i) proportional to base^-i, by inverse transform. */
export function exponentialIndex(rng: Rng, count: number, base = key_dist_base): number {
  // The weights' total, (1 - base^-count) / (1 - 1/base), scaled to a uniform draw.
  const u = rng.next() * (1 - Math.pow(base, -count));
  return Math.min(count - 1, Math.floor(-Math.log(1 - u) / Math.log(base)));
}

/** 1 to n, with P(k) proportional to 1/k (a Zipf draw): most keys get few writes, some many. */
export function zipfCount(rng: Rng, n: number): number {
  let total = 0;
  for (let k = 1; k <= n; k++) total += 1 / k;
  let u = rng.next() * total;
  for (let k = 1; k <= n; k++) {
    u -= 1 / k;
    if (u < 0) return k;
  }
  return n;
}

export class TxnGenerator {
  private readonly active: number[];
  /** Per active slot: writes allowed on its key. */
  private readonly budget: number[];
  /** Writes made so far per key (the next value is this plus one). */
  private readonly written = new Map<number, number>();
  private next_key: number;

  constructor(
    private readonly rng: Rng,
    private readonly options: TxnGeneratorOptions,
  ) {
    this.active = Array.from({ length: options.key_count }, (_, i) => i);
    this.budget = this.active.map(() => zipfCount(rng, options.max_writes_per_key));
    this.next_key = options.key_count;
  }

  next(): MicroOp[] {
    const { rng, options } = this;
    const length = min_txn_length + rng.int(options.max_txn_length - min_txn_length + 1);
    const txn: MicroOp[] = [];
    while (txn.length < length) {
      const slot = exponentialIndex(rng, this.active.length);
      const key = this.active[slot]!;
      if (rng.next() < 0.5) {
        txn.push(['r', key, null]);
        continue;
      }
      const value = (this.written.get(key) ?? 0) + 1;
      if (value > this.budget[slot]!) {
        // This key has had its writes: a fresh one takes its place.
        this.written.delete(key);
        this.active[slot] = this.next_key++;
        this.budget[slot] = zipfCount(rng, options.max_writes_per_key);
        continue;
      }
      this.written.set(key, value);
      txn.push([options.write, key, value]);
    }
    return txn;
  }
}
