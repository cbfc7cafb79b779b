// Snowflake workers' generators under a seeded simulation of their clocks. No real I/O, clock or
// randomness: a seed replays a run.

/**
 * A seeded simulation of snowflake workers' generators over virtual time:
 * each worker has its own clock, which the schedule steps back a little or a
 * lot, or forward, between bursts of requests. A worker does what the real
 * one does with each step the core returns: an id is issued, a wait moves it
 * to the time asked, a refusal fails the request. The run checks that no id
 * is issued twice, that each worker's ids increase, and that each id decodes
 * to its worker and to a time its clock showed when it was issued.
 */
import { createRng, draws } from '../../lib/util/prng.js';
import { IdGenerator } from './core/generator.js';
import { decodeId } from './core/ids.js';
import type { Layout } from './core/layout.js';

export interface SnowflakeSimConfig {
  seed: number;
  layout: Layout;
  epoch_ms: number;
  workers: number;
  datacenters: number;
  max_backward_ms: number;
  /** Events in the schedule (bursts and clock steps). */
  events: number;
  /** Largest burst: ids asked of one worker at one instant (one burst in twenty is this large or half as large; the rest are a few ids). */
  burst_max: number;
}

export interface SnowflakeSimStats {
  issued: number;
  waits_sequence: number;
  waits_clock_back: number;
  refusals: number;
}

export class SnowflakeSimFailure extends Error {
  constructor(
    readonly seed: number,
    problem: string,
  ) {
    super(`seed ${seed}: ${problem}`);
  }
}

/** A wait this long means the core asked for a time that never comes: a bug, not a schedule. */
const wait_ms_max = 60_000;

export function runSnowflakeSimulation(config: SnowflakeSimConfig): SnowflakeSimStats {
  const draw = draws(createRng(config.seed));
  const stats: SnowflakeSimStats = { issued: 0, waits_sequence: 0, waits_clock_back: 0, refusals: 0 };
  const seen = new Map<bigint, number>();
  const fail = (problem: string): never => {
    throw new SnowflakeSimFailure(config.seed, problem);
  };
  let real_ms = config.epoch_ms + draw.int(0, 10 ** 9);
  const workers = Array.from({ length: config.workers }, (_, index) => ({
    index,
    datacenter: index % config.datacenters,
    worker: Math.floor(index / config.datacenters),
    offset_ms: 0,
    last: -1n,
    generator: new IdGenerator({ layout: config.layout, epoch_ms: config.epoch_ms, datacenter: index % config.datacenters, worker: Math.floor(index / config.datacenters), max_backward_ms: config.max_backward_ms }),
  }));
  for (let event = 0; event < config.events; event++) {
    real_ms += draw.int(0, 3);
    const w = draw.pick(workers);
    const roll = draw.next();
    if (roll < 0.1) {
      // A small step back, within or just past the bound.
      w.offset_ms -= draw.int(1, config.max_backward_ms + 2);
      continue;
    }
    if (roll < 0.13) {
      w.offset_ms -= draw.int(config.max_backward_ms + 1, 5000);
      continue;
    }
    if (roll < 0.2) {
      w.offset_ms += draw.int(1, 2000);
      continue;
    }
    const burst = draw.chance(0.05) ? draw.int(Math.ceil(config.burst_max / 2), config.burst_max) : draw.int(1, 20);
    let clock_ms = real_ms + w.offset_ms;
    for (let i = 0; i < burst; i++) {
      const step = w.generator.next(clock_ms);
      if (step.kind === 'refuse') {
        stats.refusals++;
        if (step.reason === 'clock_back' && step.behind_ms <= config.max_backward_ms) fail(`worker ${w.index} refused a step back of ${step.behind_ms} ms, within max_backward ${config.max_backward_ms} ms`);
        break;
      }
      if (step.kind === 'wait') {
        if (step.until_ms <= clock_ms || step.until_ms - clock_ms > wait_ms_max) fail(`worker ${w.index} was told at ${clock_ms} to wait until ${step.until_ms}`);
        if (step.reason === 'clock_back') {
          stats.waits_clock_back++;
          if (step.behind_ms > config.max_backward_ms) fail(`worker ${w.index} waits out a step back of ${step.behind_ms} ms, beyond max_backward ${config.max_backward_ms} ms`);
        } else stats.waits_sequence++;
        // The worker's clock moves on while it waits; so does everyone's.
        real_ms += step.until_ms - clock_ms;
        clock_ms = step.until_ms;
        i--;
        continue;
      }
      const id = step.id;
      if (id <= w.last) fail(`worker ${w.index} issued ${id} after ${w.last}`);
      w.last = id;
      const other = seen.get(id);
      if (other !== undefined) fail(`id ${id} was issued by worker ${other} and by worker ${w.index}`);
      seen.set(id, w.index);
      const decoded = decodeId(config.layout, config.epoch_ms, id);
      if (decoded.datacenter !== w.datacenter || decoded.worker !== w.worker) fail(`worker ${w.index} (datacenter ${w.datacenter}, worker ${w.worker}) issued ${id}, which decodes to datacenter ${decoded.datacenter}, worker ${decoded.worker}`);
      if (decoded.time_ms > clock_ms || clock_ms - decoded.time_ms >= config.layout.unit_ms) fail(`worker ${w.index} issued ${id} at ${clock_ms} with time ${decoded.time_ms}`);
      stats.issued++;
    }
  }
  return stats;
}
