// Seeded simulation of a Zab ensemble under faults. Every failure names its seed; replay one with
//   ZAB_SIM_SEED=<seed> npx vitest run test/zab/sim.test.ts
// and run more schedules with ZAB_SIM_SCHEDULES=<n> (ZAB_SIM_FIRST_SEED moves the window).

import { describe, expect, it } from 'vitest';
import { nemesisSchedule } from '../../src/lib/faults/nemesis.js';
import type { PlantedBug } from '../../src/systems/zab/core/core.js';
import {
  faultFreeZabSimConfig,
  randomZabSimConfig,
  runZabSimulation,
  withPlantedBug,
  ZabSimulationFailure,
  type ZabSimConfig,
  type ZabSimResult,
  type ZabSimStats,
} from '../../src/systems/zab/sim.js';

const schedules_total = Number(process.env['ZAB_SIM_SCHEDULES'] ?? 1200);
const first_seed = Number(process.env['ZAB_SIM_FIRST_SEED'] ?? 1);
const replay_seed = process.env['ZAB_SIM_SEED'];
/** Schedules per test case, so each case stays far below the test timeout. */
const schedules_per_case = 300;

function replayHint(seed: number): string {
  return `replay: ZAB_SIM_SEED=${seed} npx vitest run test/zab/sim.test.ts`;
}

function runSeed(config: ZabSimConfig): ZabSimResult | string {
  try {
    return runZabSimulation(config);
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    const seed = err instanceof ZabSimulationFailure ? err.seed : config.seed;
    return `${text}\n  ${replayHint(seed)}`;
  }
}

const totals: Partial<Record<keyof ZabSimStats, number>> = {};
let schedules_run = 0;

function addStats(stats: ZabSimStats): void {
  schedules_run++;
  for (const [k, v] of Object.entries(stats) as [keyof ZabSimStats, number | null][]) {
    if (typeof v === 'number') totals[k] = (totals[k] ?? 0) + v;
  }
}

describe('zab simulation', () => {
  if (replay_seed !== undefined) {
    it(`replays seed ${replay_seed}`, () => {
      const outcome = runSeed(randomZabSimConfig(Number(replay_seed)));
      if (typeof outcome === 'string') throw new Error(outcome);
      console.log(JSON.stringify({ config: outcome.config, stats: outcome.stats }, null, 2));
    });
    return;
  }

  for (let from = first_seed; from < first_seed + schedules_total; from += schedules_per_case) {
    const to = Math.min(from + schedules_per_case, first_seed + schedules_total) - 1;
    it(`keeps agreement, total and primary order, one leader per epoch and every committed txn (seeds ${from}..${to})`, () => {
      const failures: string[] = [];
      for (let seed = from; seed <= to; seed++) {
        const outcome = runSeed(randomZabSimConfig(seed));
        if (typeof outcome === 'string') failures.push(outcome);
        else addStats(outcome.stats);
      }
      expect(failures, `${failures.length} schedule(s) failed:\n${failures.slice(0, 5).join('\n')}`).toEqual([]);
    });
  }

  it('the schedules really exercised faults, every sync mode, compaction and clients', () => {
    expect(schedules_run).toBe(schedules_total);
    const t = (k: keyof ZabSimStats): number => totals[k] ?? 0;
    expect(t('crashes')).toBeGreaterThan(schedules_total / 2);
    expect(t('restarts')).toBe(t('crashes'));
    expect(t('partitions')).toBeGreaterThan(schedules_total / 2);
    expect(t('pauses')).toBeGreaterThan(schedules_total / 10);
    expect(t('messages_lost')).toBeGreaterThan(0);
    expect(t('messages_duplicated')).toBeGreaterThan(0);
    expect(t('nemesis_steps')).toBeGreaterThan(schedules_total);
    expect(t('leaders_established')).toBeGreaterThan(schedules_total * 2);
    expect(t('syncs_diff')).toBeGreaterThan(schedules_total);
    expect(t('syncs_snap')).toBeGreaterThan(schedules_total / 2);
    expect(t('syncs_trunc')).toBeGreaterThan(schedules_total / 100);
    expect(t('txns_truncated')).toBeGreaterThan(0);
    expect(t('compactions')).toBeGreaterThan(schedules_total);
    expect(t('writes_acked')).toBeGreaterThan(schedules_total * 10);
    expect(t('writes_indeterminate')).toBeGreaterThan(0);
  });

  it('some schedules are exactly what `dslab nemesis` runs against real processes', () => {
    const seeds = Array.from({ length: 200 }, (_, i) => i + 1).filter((seed) => randomZabSimConfig(seed).nemesis_schedule !== null);
    expect(seeds.length).toBeGreaterThan(20);
    for (const seed of seeds.slice(0, 20)) {
      const config = randomZabSimConfig(seed);
      const { seed: nemesis_seed, interval_ms } = config.nemesis_schedule!;
      const ids = [...Array.from({ length: config.voter_count }, (_, i) => `n${i + 1}`), ...Array.from({ length: config.observer_count }, (_, i) => `o${i + 1}`)];
      const steps = nemesisSchedule(nemesis_seed, ids, interval_ms, config.fault_phase_ms - 1);
      const outcome = runSeed(config);
      if (typeof outcome === 'string') throw new Error(outcome);
      // Every step ran, the cluster accepted every action, and nothing but the schedule touched the servers.
      expect(outcome.stats.nemesis_steps).toBe(steps.length);
      expect(outcome.stats.nemesis_refused).toBe(0);
      expect(outcome.stats.crashes).toBe(steps.filter((s) => s.apply?.type === 'kill').length);
      expect(outcome.stats.pauses).toBe(steps.filter((s) => s.apply?.type === 'pause').length);
    }
  });

  it('makes progress without faults: a leader is established soon and every write commits', () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= 100; seed++) {
      const config = faultFreeZabSimConfig(seed);
      const outcome = runSeed(config);
      if (typeof outcome === 'string') {
        failures.push(outcome);
        continue;
      }
      const s = outcome.stats;
      const problems: string[] = [];
      // One election round (with its finalize wait) and one discovery/synchronization handshake.
      const bound_ms = config.zab.notification_interval_ms_max! + config.zab.init_limit_ms!;
      if (s.first_established_ms === null || s.first_established_ms > bound_ms) problems.push(`first leader established at ${s.first_established_ms}ms`);
      if (s.leaders_established !== 1) problems.push(`${s.leaders_established} leaders established`);
      if (s.writes_indeterminate !== 0) problems.push(`${s.writes_indeterminate} writes got no answer`);
      if (s.writes_acked < 10 || s.writes_acked !== s.writes_invoked) problems.push(`${s.writes_acked} of ${s.writes_invoked} writes acknowledged`);
      if (s.crashes + s.partitions + s.messages_lost !== 0) problems.push('faults happened in a fault-free schedule');
      if (problems.length > 0) failures.push(`fault-free seed ${seed}: ${problems.join(', ')}\n  ${replayHint(seed)}`);
    }
    expect(failures, failures.slice(0, 5).join('\n')).toEqual([]);
  });

  it('replays a seed exactly', () => {
    const a = runZabSimulation(randomZabSimConfig(4242));
    const b = runZabSimulation(randomZabSimConfig(4242));
    expect(b.delivered).toEqual(a.delivered);
    expect(b.stats).toEqual(a.stats);
    const c = runZabSimulation(randomZabSimConfig(4243));
    expect(JSON.stringify(c.delivered)).not.toBe(JSON.stringify(a.delivered));
  });

  describe('catches planted bugs (so a green run means something)', () => {
    /** The first failing seed up to seeds_max with the bug planted in every server. */
    function hunt(bug: PlantedBug, seeds_max: number, tweak: (config: ZabSimConfig) => void = () => undefined): ZabSimulationFailure | null {
      for (let seed = 1; seed <= seeds_max; seed++) {
        const config = withPlantedBug(randomZabSimConfig(seed), bug);
        tweak(config);
        try {
          runZabSimulation(config);
        } catch (err) {
          if (err instanceof ZabSimulationFailure) return err;
          throw err;
        }
      }
      return null;
    }

    it('TRUNC only past the leader\'s log (ZOOKEEPER-1154) -> agreement', () => {
      const caught = hunt('trunc_only_past_log', 200);
      expect(caught?.kind).toBe('agreement');
      expect(caught?.message).toContain(`seed ${caught!.seed}`);
    });

    it('a follower acknowledges NEWLEADER before persisting (ZOOKEEPER-3911) -> durability', () => {
      const caught = hunt('ack_before_persist', 20);
      expect(caught?.kind).toBe('durability');
      expect(caught?.message).toMatch(/acknowledged .* on disk/);
    });

    it('acceptedEpoch and currentEpoch are one value -> a committed txn lost', () => {
      const caught = hunt('one_epoch', 400);
      expect(caught).not.toBeNull();
      expect(['lost commit', 'agreement', 'core invariant', 'lost write']).toContain(caught!.kind);
      // The same seed without the bug passes: the failure is the bug's.
      expect(typeof runSeed(randomZabSimConfig(caught!.seed))).not.toBe('string');
    });

    it('proposals only to followers that acknowledged NEWLEADER -> a follower misses a txn (agreement)', () => {
      // No loss, duplication, reordering or partitions: a gap can then come only from the sync window.
      const caught = hunt('propose_only_acked', 400, (config) => {
        config.message_loss_rate = 0;
        config.message_duplicate_rate = 0;
        config.message_delay_ms_max = config.message_delay_ms_min;
        config.partitions = false;
        config.pauses = false;
      });
      expect(caught).not.toBeNull();
      expect(['agreement', 'lost commit', 'lost write']).toContain(caught!.kind);
      expect(typeof runSeed(randomZabSimConfig(caught!.seed))).not.toBe('string');
    });

    it('the election compares server id before zxid -> no progress (the stale winner gives up forever)', () => {
      const caught = hunt('id_before_zxid', 400);
      expect(caught?.kind).toBe('liveness');
      expect(typeof runSeed(randomZabSimConfig(caught!.seed))).not.toBe('string');
    });
  });
});
