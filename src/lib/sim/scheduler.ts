import { InvariantError } from '../util/errors.js';
import { createRng, type Rng } from '../util/prng.js';

/** Events that may wait in the queue at once; more means a simulation is running away (a bug). */
export const scheduled_events_max = 1_000_000;

/** A simulation broke one of its own bounds: a bug in the core or its driver, not a fault. */
export class SimLimitError extends InvariantError {
  override name = 'SimLimitError';
}

interface Scheduled {
  at_ms: number;
  seq: number;
  run: () => void;
}

/**
 * Virtual time and the one seeded PRNG of a simulation. Events run in order of
 * (time, insertion): two events at the same millisecond run in the order they
 * were scheduled, so a seed replays the same run exactly. Time only moves when
 * an event runs; nothing here reads a clock.
 */
export class Scheduler {
  /** Every random choice of the run (network, faults, cores, clients) draws from this. */
  readonly rng: Rng;
  private now = 0;
  private readonly heap: Scheduled[] = [];
  private nextSeq = 0;
  /** Events run so far. */
  events_run = 0;

  constructor(
    readonly seed: number,
    private readonly events_max: number = scheduled_events_max,
  ) {
    this.rng = createRng(seed);
  }

  get now_ms(): number {
    return this.now;
  }

  /** Events waiting. */
  get pending(): number {
    return this.heap.length;
  }

  /** When the next event runs (Infinity when none is waiting). */
  nextAtMs(): number {
    return this.heap[0]?.at_ms ?? Number.POSITIVE_INFINITY;
  }

  /** Runs `run` at virtual time `at_ms` (not before now). */
  at(at_ms: number, run: () => void): void {
    if (!(at_ms >= this.now)) throw new InvariantError(`invariant broken: event scheduled at ${at_ms}ms, before now (${this.now}ms)`);
    if (this.heap.length >= this.events_max) throw new SimLimitError(`simulation limit: more than ${this.events_max} events waiting at ${this.now}ms`);
    const item: Scheduled = { at_ms, seq: this.nextSeq++, run };
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!earlier(item, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = item;
  }

  after(delay_ms: number, run: () => void): void {
    this.at(this.now + delay_ms, run);
  }

  /**
   * Runs the next event if it is due at or before `until_ms`; false when none is
   * (the queue is empty, or the next event lies beyond until_ms and time stays put).
   */
  step(until_ms: number = Number.POSITIVE_INFINITY): boolean {
    const top = this.heap[0];
    if (top === undefined || top.at_ms > until_ms) return false;
    this.pop();
    this.now = top.at_ms;
    this.events_run++;
    top.run();
    return true;
  }

  /** Runs events up to and including `until_ms`, then moves time to until_ms. Returns the number of events run. */
  runUntil(until_ms: number): number {
    let count = 0;
    while (this.step(until_ms)) count++;
    if (until_ms > this.now && Number.isFinite(until_ms)) this.now = until_ms;
    return count;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && earlier(h[r]!, h[l]!) ? r : l;
      if (!earlier(h[m]!, last)) break;
      h[i] = h[m]!;
      i = m;
    }
    h[i] = last;
  }
}

function earlier(a: Scheduled, b: Scheduled): boolean {
  return a.at_ms < b.at_ms || (a.at_ms === b.at_ms && a.seq < b.seq);
}
