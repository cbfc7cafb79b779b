import { FaultModel } from '../faults/fault-model.js';
import { InvariantError } from '../util/errors.js';
import type { Scheduler } from './scheduler.js';

/** Messages in flight at once; beyond this they are dropped and counted, as the router drops beyond its own bound. */
export const in_flight_messages_max = 100_000;

export interface SimNetworkOptions {
  /**
   * Latency of a healthy link: every copy of every message draws its own from
   * [latency_ms_min, latency_ms_max], so messages on one link may overtake each
   * other even without a reorder fault (as on a real network). Faults add to it.
   */
  latency_ms_min: number;
  latency_ms_max: number;
  /** Round-trip every copy through JSON, as a real transport would (catches messages that do not survive it). */
  serialize?: boolean;
  in_flight_messages_max?: number;
}

export interface SimNetworkStats {
  sent: number;
  /** Copies handed to their destination (a duplicated message counts twice). */
  delivered: number;
  /** Messages with a second copy. */
  duplicated: number;
  dropped_partition: number;
  dropped_loss: number;
  dropped_overflow: number;
}

/**
 * The virtual network between a simulation's nodes. What happens to each
 * message is the router's decision: the same FaultModel (partitions, loss,
 * duplication, delay with jitter, reordering) decides its fate when it is sent,
 * so a fault set here means what the same fault means under `dslab up`.
 * Randomness comes from the scheduler's PRNG.
 */
export class SimNetwork<M> {
  readonly faults: FaultModel;
  readonly stats: SimNetworkStats = { sent: 0, delivered: 0, duplicated: 0, dropped_partition: 0, dropped_loss: 0, dropped_overflow: 0 };
  private inFlight = 0;
  private readonly latencySpan: number;
  private readonly inFlightMax: number;
  private readonly random: () => number;

  constructor(
    private readonly scheduler: Scheduler,
    readonly nodeIds: readonly string[],
    private readonly options: SimNetworkOptions,
    /** Called when a copy arrives; the receiver decides what a down or paused node does with it. */
    private readonly deliver: (from: string, to: string, body: M) => void,
  ) {
    if (!(options.latency_ms_min >= 0 && options.latency_ms_max >= options.latency_ms_min)) {
      throw new InvariantError(`invariant broken: network latency range ${options.latency_ms_min}..${options.latency_ms_max}ms`);
    }
    this.faults = new FaultModel(nodeIds);
    this.latencySpan = options.latency_ms_max - options.latency_ms_min + 1;
    this.inFlightMax = options.in_flight_messages_max ?? in_flight_messages_max;
    this.random = scheduler.rng.next;
  }

  /** Messages sent and not yet arrived. */
  get in_flight(): number {
    return this.inFlight;
  }

  send(from: string, to: string, body: M): void {
    const stats = this.stats;
    stats.sent++;
    const fate = this.faults.decide(from, to, this.random);
    if (!fate.delivered) {
      if (fate.reason === 'partition') stats.dropped_partition++;
      else stats.dropped_loss++;
      return;
    }
    const delays = fate.delays_ms;
    if (delays.length > 1) stats.duplicated++;
    for (const delay of delays) {
      if (this.inFlight >= this.inFlightMax) {
        stats.dropped_overflow++;
        continue;
      }
      const copy = this.options.serialize ? (JSON.parse(JSON.stringify(body)) as M) : body;
      // A fixed latency draws nothing, so the PRNG then sees exactly the FaultModel's draws.
      const latency = this.latencySpan === 1 ? this.options.latency_ms_min : this.options.latency_ms_min + Math.floor(this.random() * this.latencySpan);
      this.inFlight++;
      this.scheduler.after(latency + delay, () => {
        this.inFlight--;
        stats.delivered++;
        this.deliver(from, to, copy);
      });
    }
  }
}
