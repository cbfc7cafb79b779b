// One worker's id generator as a pure state machine. No I/O and no clock: the time comes in with
// each call, and each answer says what to do.

import { composeId, fieldShifts } from './ids.js';
import { checkLayout, type Layout } from './layout.js';

/**
 * One worker's id generator, as a pure state machine: the caller passes the
 * time in (the worker's clock), and each call says what to do: hand out an
 * id, wait until a given time, or refuse. No clock, timer or I/O inside, so
 * the simulator and the tests drive it with any clock they like.
 */

/** A clock step back up to this is waited out when the user does not say. */
export const max_backward_ms_default = 5;
/** A larger --max-backward would let a worker stall its clients for a long time instead of failing them. */
export const max_backward_ms_limit = 10_000;

/**
 * Bugs a lab plants in the reference (labs/snowflake/variants), so the grader
 * can be shown to fail them; never set in use. no_clock_check: a clock behind
 * the latest unit is taken as a new unit. no_sequence_wrap: a full sequence
 * starts again at 0 in the same unit. worker_unchecked: a worker number too
 * large for its bits is shifted in anyway, spilling into the datacenter bits.
 */
export const generator_planted_bugs = ['no_clock_check', 'no_sequence_wrap', 'worker_unchecked'] as const;
export type GeneratorPlantedBug = (typeof generator_planted_bugs)[number];

export interface GeneratorConfig {
  layout: Layout;
  epoch_ms: number;
  datacenter: number;
  worker: number;
  /** A step back this long or shorter is waited out; a longer one is refused. */
  max_backward_ms: number;
  /** A lab's planted bug (see generator_planted_bugs). */
  test_planted_bug?: GeneratorPlantedBug;
}

export type WaitReason = 'sequence_exhausted' | 'clock_back';
export type RefuseReason = 'clock_back' | 'before_epoch' | 'time_exhausted';

export type NextStep =
  | { kind: 'id'; id: bigint }
  /** Try again at until_ms (the worker's clock). behind_ms: how far the clock is behind the latest time issued (0 for a full sequence). */
  | { kind: 'wait'; reason: WaitReason; until_ms: number; behind_ms: number }
  /** Nothing can be issued now; behind_ms as for wait (for before_epoch: how far before the epoch). */
  | { kind: 'refuse'; reason: RefuseReason; behind_ms: number };

export class IdGenerator {
  readonly layout: Layout;
  private readonly epoch_ms: number;
  private readonly unit_ms: number;
  private readonly sequence_max: number;
  private readonly units_end: number;
  private readonly max_backward_ms: number;
  private readonly datacenter: number;
  private readonly worker: number;
  /** The time unit of the latest id issued (or of the floor), -1 before the first. */
  private last_unit = -1;
  private seq = 0;
  /** The id of (last_unit, datacenter, worker, sequence 0): each id of the unit is this plus its sequence. */
  private base = 0n;
  private issued_count = 0;
  /** How much further than max_backward a step back below the floor is waited out, until an id is issued (a floor that is a reservation, not an id). */
  private floor_grace_ms = 0;
  private readonly planted_bug: GeneratorPlantedBug | undefined;

  /** Throws a RangeError when the datacenter or worker does not fit the layout (it would spill into the next field). */
  constructor(config: GeneratorConfig) {
    this.layout = checkLayout(config.layout);
    this.epoch_ms = config.epoch_ms;
    this.unit_ms = config.layout.unit_ms;
    this.sequence_max = 2 ** config.layout.sequence_bits - 1;
    this.units_end = 2 ** config.layout.time_bits;
    this.max_backward_ms = config.max_backward_ms;
    this.datacenter = config.datacenter;
    this.worker = config.worker;
    this.planted_bug = config.test_planted_bug;
    // Checks the ranges now, not at the first id.
    this.compose(0);
  }

  /** The id of (units, this datacenter and worker, sequence 0). */
  private compose(units: number): bigint {
    if (this.planted_bug !== 'worker_unchecked') return composeId(this.layout, { units, datacenter: this.datacenter, worker: this.worker, sequence: 0 });
    // The planted bug: the worker is shifted in unmasked, whatever its size.
    const shift = fieldShifts(this.layout);
    return (BigInt(units) << shift.time) | (BigInt(this.datacenter) << shift.datacenter) | (BigInt(this.worker) << shift.worker);
  }

  /** The start of the latest time unit issued (or of the floor), ms since 1970; null before any. */
  get latest_ms(): number | null {
    return this.last_unit < 0 ? null : this.epoch_ms + this.last_unit * this.unit_ms;
  }

  /** The sequence of the latest id issued. */
  get sequence(): number {
    return this.seq;
  }

  /** How far behind the latest time the clock may be and still be waited out (max_backward, more below a reserved floor). */
  get backward_limit_ms(): number {
    return this.max_backward_ms + this.floor_grace_ms;
  }

  /** Ids issued so far. */
  get issued(): number {
    return this.issued_count;
  }

  /**
   * No id will carry a time unit at or before the one holding floor_ms: the
   * latest time an earlier holder of this worker number recorded. Lowering
   * the floor does nothing. grace_ms: the floor is a time reserved ahead of
   * the ids actually issued (the worker's own record), so a clock up to this
   * much further behind it is waited out rather than refused.
   */
  raiseFloor(floor_ms: number, grace_ms = 0): void {
    const unit = Math.floor((floor_ms - this.epoch_ms) / this.unit_ms);
    if (unit < this.last_unit || unit < 0) return;
    this.floor_grace_ms = unit === this.last_unit ? Math.max(this.floor_grace_ms, grace_ms) : grace_ms;
    if (unit >= this.units_end) {
      this.last_unit = this.units_end - 1;
    } else {
      this.last_unit = unit;
    }
    // The whole unit counts as used: the earlier holder may have issued any of its sequences.
    this.seq = this.sequence_max;
    this.base = this.compose(this.last_unit);
  }

  /** What to do for one id at now_ms (the worker's clock). */
  next(now_ms: number): NextStep {
    const since = now_ms - this.epoch_ms;
    if (since < 0) return { kind: 'refuse', reason: 'before_epoch', behind_ms: -since };
    const unit = Math.floor(since / this.unit_ms);
    if (unit > this.last_unit || (unit < this.last_unit && this.planted_bug === 'no_clock_check')) {
      if (unit >= this.units_end) return { kind: 'refuse', reason: 'time_exhausted', behind_ms: 0 };
      this.last_unit = unit;
      this.seq = 0;
      this.base = this.compose(unit);
      this.issued_count++;
      this.floor_grace_ms = 0;
      return { kind: 'id', id: this.base };
    }
    const unit_start_ms = this.epoch_ms + this.last_unit * this.unit_ms;
    if (unit === this.last_unit) {
      if (this.seq < this.sequence_max) {
        this.seq++;
        this.issued_count++;
        return { kind: 'id', id: this.base + BigInt(this.seq) };
      }
      if (this.planted_bug === 'no_sequence_wrap') {
        this.seq = 0;
        this.issued_count++;
        return { kind: 'id', id: this.base };
      }
      return { kind: 'wait', reason: 'sequence_exhausted', until_ms: unit_start_ms + this.unit_ms, behind_ms: 0 };
    }
    // The clock is behind the latest unit issued: a step back.
    const behind_ms = unit_start_ms - now_ms;
    if (behind_ms <= this.max_backward_ms + this.floor_grace_ms) return { kind: 'wait', reason: 'clock_back', until_ms: unit_start_ms, behind_ms };
    return { kind: 'refuse', reason: 'clock_back', behind_ms };
  }

  /**
   * Up to `count` ids at now_ms, appended to `out`; returns the step that
   * stopped it short (a wait or a refusal), or null when all were issued.
   */
  take(now_ms: number, count: number, out: bigint[]): Exclude<NextStep, { kind: 'id' }> | null {
    for (let i = 0; i < count; i++) {
      const step = this.next(now_ms);
      if (step.kind !== 'id') return step;
      out.push(step.id);
    }
    return null;
  }
}
