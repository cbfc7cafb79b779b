/**
 * Maelstrom's kafka generator (Jepsen's kafka workload with one send or poll
 * per operation, keys assigned by the client):
 *
 * - Underneath, Elle's list-append transactions of length 1: a read or an
 *   append, half each, on a key drawn from a pool of --key-count active keys
 *   (10 without it), key i of the pool 2^i times as likely as the first. A
 *   read becomes a poll, an append a send of the key's next value (1, 2, 3, …
 *   per key, so msgs are unique within a key); a key that already took
 *   --max-writes-per-key sends is replaced in the pool by a fresh one.
 * - About one operation in 64 is instead an assign of the key that operation
 *   would have touched (which then comes next); a third of assigns also take
 *   every key with acknowledged offsets no ok poll has reached yet.
 * - Clients crash now and then (each about every 30 s): the runner replaces
 *   a crashed client with a new one, which holds no keys until it assigns.
 * - It tracks the highest offset sent or polled per key: the final phase
 *   polls until every client has read that far.
 */
import { chance, type Rng } from '../../lib/util/prng.js';

/** Active keys without --key-count (Elle's default for its exponential key choice). */
export const kafka_key_count_default = 10;
/** Sends per key before the key is retired, without --max-writes-per-key (Maelstrom's default). */
export const kafka_max_writes_per_key_default = 16;
/** The chance that an operation is an assign instead (Jepsen's sub-p). */
export const kafka_assign_chance = 1 / 64;
/** The chance that an assign also takes every key with unread acknowledged offsets. */
export const kafka_assign_unseen_chance = 1 / 3;
/** How often each client crashes, on average (Jepsen's crash-client-interval). */
export const kafka_crash_interval_s = 30;

export type KafkaOperation = { f: 'send'; value: { key: string; msg: number } } | { f: 'poll' } | { f: 'assign'; value: { keys: string[]; seek_to_beginning?: true } } | { f: 'crash' };

export interface KafkaGeneratorSettings {
  key_count: number | null;
  max_writes_per_key?: number;
  concurrency: number;
}

/**
 * The index in a pool of n keys that Elle's exponential choice draws: index i with weight 2^i.
 * Computed as Elle does (the log of a uniform draw over the weights' total); for pools too large
 * for 2^n, the same distribution from the top.
 */
export function exponentialKeyIndex(rng: Rng, n: number): number {
  const total = 2 * (2 ** n - 1);
  if (Number.isFinite(total) && n <= 52) return Math.min(n - 1, Math.floor(Math.log2(rng.next() * total + 2) - 1));
  return Math.max(0, Math.min(n - 1, Math.floor(n + Math.log2(1 - rng.next()))));
}

export class KafkaGenerator {
  private readonly key_count: number;
  private readonly max_writes: number;
  private readonly active: number[];
  private highest_key: number;
  /** key → the next value to send to it. */
  private readonly next_value = new Map<number, number>();
  /** The operation an assign stood in for, which comes next. */
  private pending: { f: 'poll' | 'send'; key: number; msg: number } | null = null;
  /** key → highest acknowledged offset not yet reached by an ok poll (Jepsen's poll-unseen). */
  private readonly unseen_sent = new Map<string, number>();
  private readonly polled = new Map<string, number>();
  /** key → highest offset sent or polled (ok), the final phase's targets. */
  readonly max_offsets = new Map<string, number>();
  private next_crash_ms: number | null = null;
  private readonly crash_gap_ms: number;

  constructor(
    private readonly rng: Rng,
    settings: KafkaGeneratorSettings,
    /** The clock crashes are timed by (ms). */
    private readonly now: () => number = Date.now,
  ) {
    this.key_count = settings.key_count ?? kafka_key_count_default;
    this.max_writes = settings.max_writes_per_key ?? kafka_max_writes_per_key_default;
    this.active = Array.from({ length: this.key_count }, (_, i) => i);
    this.highest_key = this.key_count - 1;
    this.crash_gap_ms = (kafka_crash_interval_s * 1000) / Math.max(1, settings.concurrency);
  }

  next(): KafkaOperation {
    const now = this.now();
    // Crashes are staggered in time (each gap uniform in [0, 2 × mean]), beside the other operations.
    this.next_crash_ms ??= now + this.rng.next() * 2 * this.crash_gap_ms;
    if (now >= this.next_crash_ms) {
      this.next_crash_ms = now + this.rng.next() * 2 * this.crash_gap_ms;
      return { f: 'crash' };
    }
    const op = (this.pending ??= this.draw());
    if (chance(this.rng, kafka_assign_chance)) {
      let keys = [String(op.key)];
      if (this.unseen_sent.size > 0 && chance(this.rng, kafka_assign_unseen_chance)) keys = [...new Set([...keys, ...this.unseen_sent.keys()])];
      return { f: 'assign', value: { keys } };
    }
    this.pending = null;
    return op.f === 'poll' ? { f: 'poll' } : { f: 'send', value: { key: String(op.key), msg: op.msg } };
  }

  /** Elle's one-operation transaction: a read or an append on an active key. */
  private draw(): { f: 'poll' | 'send'; key: number; msg: number } {
    for (;;) {
      const f = this.rng.int(2) === 0 ? 'poll' : 'send';
      const index = exponentialKeyIndex(this.rng, this.active.length);
      const key = this.active[index]!;
      if (f === 'poll') return { f, key, msg: 0 };
      const msg = this.next_value.get(key) ?? 1;
      if (msg > this.max_writes) {
        // This key took its share: a fresh key takes its place in the pool, and the draw starts over.
        this.next_value.delete(key);
        this.active[index] = ++this.highest_key;
        continue;
      }
      this.next_value.set(key, msg + 1);
      return { f, key, msg };
    }
  }

  /** Learns from an ok send (its key and offset) or an ok poll (what it returned). */
  observeSend(key: string, offset: number): void {
    this.raise(this.max_offsets, key, offset);
    if (offset > (this.polled.get(key) ?? -1)) this.raise(this.unseen_sent, key, offset);
  }

  observePoll(msgs: Record<string, [number, unknown][]>): void {
    for (const [key, pairs] of Object.entries(msgs)) {
      let max = -1;
      for (const [offset] of pairs) if (offset > max) max = offset;
      if (max < 0) continue;
      this.raise(this.max_offsets, key, max);
      this.raise(this.polled, key, max);
      const sent = this.unseen_sent.get(key);
      // Caught up on this key (or nothing was waiting there): forget it.
      if (sent === undefined || sent <= max) {
        this.unseen_sent.delete(key);
        this.polled.delete(key);
      }
    }
  }

  private raise(map: Map<string, number>, key: string, offset: number): void {
    if (offset > (map.get(key) ?? -Infinity)) map.set(key, offset);
  }
}
