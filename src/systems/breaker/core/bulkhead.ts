// The bulkhead: a bound on concurrent calls to the dependency, as none, a semaphore, or a semaphore
// with a bounded waiting queue. Pure: the time comes in with each call; tickets name queued calls.

import { assert } from '../../../lib/util/errors.js';
import type { BulkheadConfig } from './config.js';

export type BulkheadEntry = { kind: 'entered' } | { kind: 'queued'; ticket: number } | { kind: 'rejected' };

/** Past this many spent entries at its front the queue array is compacted (so it does not keep every ticket it ever held). */
const queue_spent_entries_max = 1024;

/** The answers that carry no ticket, made once (asked on every call). */
const entered: BulkheadEntry = Object.freeze({ kind: 'entered' });
const rejected: BulkheadEntry = Object.freeze({ kind: 'rejected' });

/**
 * none: every call enters (in_use still counts them). semaphore: at most max
 * calls in at once, the rest rejected. queue: the rest wait, up to queue_max of
 * them, first come first served, each at most queue_wait_ms; leave() admits the
 * head of the queue into the freed permit, expire() rejects the waits that ran
 * out. A host calls leave() once for every call that entered or was admitted,
 * whatever became of it (a timed-out call too), and expire() on a timer.
 */
export class Bulkhead {
  in_use = 0;
  queued = 0;
  /** Calls rejected so far: refused at the door, or their wait in the queue ran out. */
  rejected = 0;
  private next_ticket = 1;
  /** Waiting calls in arrival order (so by deadline too, as every wait is as long). */
  private queue: { ticket: number; deadline_ms: number }[] = [];
  private queue_head = 0;
  /** Waits found run out by leave(), handed out by the next expire(). */
  private expired: number[] = [];

  constructor(readonly config: BulkheadConfig) {
    assert(config.kind === 'none' || config.max >= 1, `a ${config.kind} bulkhead needs max ≥ 1, not ${config.max}`);
  }

  enter(now_ms: number): BulkheadEntry {
    if (this.config.kind === 'none' || this.in_use < this.config.max) {
      // A free permit goes to the queue's head first: expire the waits that ran out, then no one else may be waiting.
      this.collectExpired(now_ms);
      if (this.config.kind === 'none' || this.queued === 0) {
        this.in_use += 1;
        return entered;
      }
    }
    if (this.config.kind === 'queue' && this.queued < this.config.queue_max) {
      const ticket = this.next_ticket++;
      this.queue.push({ ticket, deadline_ms: now_ms + this.config.queue_wait_ms });
      this.queued += 1;
      return { kind: 'queued', ticket };
    }
    this.rejected += 1;
    return rejected;
  }

  /** A call that entered (or was admitted from the queue) is done: its permit goes to the queue's head, if any still waits. */
  leave(now_ms: number): number[] {
    assert(this.in_use > 0, 'a bulkhead left more often than it was entered');
    this.in_use -= 1;
    this.collectExpired(now_ms);
    const admitted: number[] = [];
    while (this.queued > 0 && this.in_use < this.config.max) {
      admitted.push(this.shift().ticket);
      this.in_use += 1;
    }
    this.check();
    return admitted;
  }

  /** Tickets whose wait ran out by now_ms: rejected (and counted). */
  expire(now_ms: number): number[] {
    this.collectExpired(now_ms);
    const out = this.expired;
    this.expired = [];
    return out;
  }

  private collectExpired(now_ms: number): void {
    while (this.queued > 0 && this.queue[this.queue_head]!.deadline_ms <= now_ms) {
      this.expired.push(this.shift().ticket);
      this.rejected += 1;
    }
  }

  private shift(): { ticket: number; deadline_ms: number } {
    const head = this.queue[this.queue_head]!;
    this.queue_head += 1;
    this.queued -= 1;
    if (this.queue_head > queue_spent_entries_max && this.queue_head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queue_head);
      this.queue_head = 0;
    }
    return head;
  }

  private check(): void {
    assert(this.config.kind === 'none' || this.in_use <= this.config.max, `bulkhead: ${this.in_use} calls in, above its max of ${this.config.max}`);
    assert(this.queued === this.queue.length - this.queue_head, `bulkhead: ${this.queued} queued but the queue holds ${this.queue.length - this.queue_head}`);
    assert(this.config.kind === 'queue' || this.queued === 0, `a ${this.config.kind} bulkhead with calls queued`);
    assert(this.queued <= this.config.queue_max || this.config.kind !== 'queue', `bulkhead: ${this.queued} queued, above queue_max ${this.config.queue_max}`);
  }
}
