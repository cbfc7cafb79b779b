// Seeded simulation of the Raft kv store under faults. Every failure names its seed; replay one with
//   RAFT_SIM_SEED=<seed> npx vitest run test/raft/sim.test.ts
// and run more schedules with RAFT_SIM_SCHEDULES=<n> (RAFT_SIM_FIRST_SEED moves the window).

import { describe, expect, it } from 'vitest';
import { RaftCore } from '../../src/systems/raft/core/core.js';
import { KvStateMachine } from '../../src/systems/raft/core/kv.js';
import { nemesisSchedule } from '../../src/lib/faults/nemesis.js';
import {
  faultFreeSimConfig,
  randomSimConfig,
  runSimulation,
  SimulationFailure,
  type SimConfig,
  type SimResult,
  type SimStats,
} from '../../src/systems/raft/sim.js';

const schedules_total = Number(process.env['RAFT_SIM_SCHEDULES'] ?? 2000);
const first_seed = Number(process.env['RAFT_SIM_FIRST_SEED'] ?? 1);
const replay_seed = process.env['RAFT_SIM_SEED'];
/** Schedules per test case, so each case stays far below the 60 s test timeout. */
const schedules_per_case = 300;

function replayHint(seed: number): string {
  return `replay: RAFT_SIM_SEED=${seed} npx vitest run test/raft/sim.test.ts`;
}

function runSeed(config: SimConfig): SimResult | string {
  try {
    return runSimulation(config);
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    const seed = err instanceof SimulationFailure ? err.seed : config.seed;
    return `${text}\n  ${replayHint(seed)}`;
  }
}

const totals: Partial<Record<keyof SimStats, number>> = {};
let schedules_run = 0;

function addStats(stats: SimStats): void {
  schedules_run++;
  for (const [k, v] of Object.entries(stats) as [keyof SimStats, number | null][]) {
    if (typeof v === 'number') totals[k] = (totals[k] ?? 0) + v;
  }
}

describe('raft simulation', () => {
  if (replay_seed !== undefined) {
    it(`replays seed ${replay_seed}`, () => {
      const outcome = runSeed(randomSimConfig(Number(replay_seed)));
      if (typeof outcome === 'string') throw new Error(outcome);
      console.log(JSON.stringify({ config: outcome.config, stats: outcome.stats }, null, 2));
    });
    return;
  }

  for (let from = first_seed; from < first_seed + schedules_total; from += schedules_per_case) {
    const to = Math.min(from + schedules_per_case, first_seed + schedules_total) - 1;
    it(`keeps the five safety properties and every acknowledged write (seeds ${from}..${to})`, () => {
      const failures: string[] = [];
      for (let seed = from; seed <= to; seed++) {
        const outcome = runSeed(randomSimConfig(seed));
        if (typeof outcome === 'string') failures.push(outcome);
        else addStats(outcome.stats);
      }
      expect(failures, `${failures.length} schedule(s) failed:\n${failures.slice(0, 5).join('\n')}`).toEqual([]);
    });
  }

  it('the schedules really exercised faults, snapshots, transfers and clients', () => {
    expect(schedules_run).toBe(schedules_total);
    const t = (k: keyof SimStats): number => totals[k] ?? 0;
    expect(t('crashes')).toBeGreaterThan(schedules_total / 2);
    expect(t('restarts')).toBeGreaterThan(schedules_total / 2);
    expect(t('partitions')).toBeGreaterThan(schedules_total / 2);
    expect(t('messages_lost')).toBeGreaterThan(0);
    expect(t('messages_duplicated')).toBeGreaterThan(0);
    expect(t('transfers_requested')).toBeGreaterThan(schedules_total / 10);
    expect(t('snapshots_installed')).toBeGreaterThan(schedules_total / 2);
    expect(t('leaders_elected')).toBeGreaterThan(schedules_total * 2);
    expect(t('writes_acked')).toBeGreaterThan(schedules_total * 10);
    expect(t('reads_acked')).toBeGreaterThan(schedules_total * 10);
    expect(t('ops_indeterminate')).toBeGreaterThan(0);
    expect(t('pauses')).toBeGreaterThan(schedules_total / 10);
    expect(t('nemesis_steps')).toBeGreaterThan(schedules_total);
  });

  it('some schedules are exactly what `dslab nemesis` runs against real processes', () => {
    const seeds = Array.from({ length: 200 }, (_, i) => i + 1).filter((seed) => randomSimConfig(seed).nemesis_schedule !== null);
    expect(seeds.length).toBeGreaterThan(20);
    for (const seed of seeds.slice(0, 20)) {
      const config = randomSimConfig(seed);
      const { seed: nemesis_seed, interval_ms } = config.nemesis_schedule!;
      const steps = nemesisSchedule(nemesis_seed, Array.from({ length: config.node_count }, (_, i) => `n${i + 1}`), interval_ms, config.fault_phase_ms - 1);
      const outcome = runSimulation(config);
      // Every step ran, and the cluster accepted every action (each step undoes only its own fault).
      expect(outcome.stats.nemesis_steps).toBe(steps.length);
      expect(outcome.stats.nemesis_refused).toBe(0);
      // Nothing but the schedule touched the nodes and the links.
      const kills = steps.filter((s) => s.apply?.type === 'kill').length;
      expect(outcome.stats.crashes).toBe(kills);
      expect(outcome.stats.pauses).toBe(steps.filter((s) => s.apply?.type === 'pause').length);
    }
  });

  it('makes progress without faults: a leader is elected and every operation completes', () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= 100; seed++) {
      const config = faultFreeSimConfig(seed);
      const outcome = runSeed(config);
      if (typeof outcome === 'string') {
        failures.push(outcome);
        continue;
      }
      const s = outcome.stats;
      const election_ms_max = config.raft.election_timeout_ms_max!;
      const problems: string[] = [];
      // Pre-vote plus one real round, with a split vote or two allowed.
      if (s.first_leader_ms === null || s.first_leader_ms > 4 * election_ms_max) problems.push(`first leader at ${s.first_leader_ms}ms`);
      if (s.ops_indeterminate !== 0) problems.push(`${s.ops_indeterminate} operations got no answer`);
      if (s.writes_acked < 1 || s.ops_acked < 10) problems.push(`only ${s.ops_acked} operations (${s.writes_acked} writes) acknowledged`);
      if (s.final_commit_index < s.writes_acked) problems.push(`final commit ${s.final_commit_index} < writes ${s.writes_acked}`);
      if (s.crashes + s.partitions + s.messages_lost !== 0) problems.push('faults happened in a fault-free schedule');
      if (problems.length > 0) failures.push(`fault-free seed ${seed}: ${problems.join(', ')}`);
    }
    expect(failures, failures.slice(0, 5).join('\n')).toEqual([]);
  });

  it('replays a seed exactly', () => {
    const a = runSimulation(randomSimConfig(4242));
    const b = runSimulation(randomSimConfig(4242));
    expect(JSON.stringify(b.history)).toBe(JSON.stringify(a.history));
    expect(b.stats).toEqual(a.stats);
    const c = runSimulation(randomSimConfig(4243));
    expect(JSON.stringify(c.history)).not.toBe(JSON.stringify(a.history));
  });

  describe('catches planted bugs (so a green run means something)', () => {
    /** Patch a method for the duration of fn; the first failing seed up to seeds_max is returned. */
    function hunt(
      target: object,
      method: string,
      replacement: (original: (...args: unknown[]) => unknown) => (...args: unknown[]) => unknown,
      seeds_max: number,
      tweak: (config: SimConfig) => void = () => undefined,
    ): SimulationFailure | null {
      const obj = target as Record<string, (...args: unknown[]) => unknown>;
      const original = obj[method]!;
      obj[method] = replacement(original);
      try {
        for (let seed = 1; seed <= seeds_max; seed++) {
          const config = randomSimConfig(seed);
          tweak(config);
          try {
            runSimulation(config);
          } catch (err) {
            if (err instanceof SimulationFailure) return err;
            throw err;
          }
        }
        return null;
      } finally {
        obj[method] = original;
      }
    }
    const core = RaftCore.prototype;

    it('votes for candidates with stale logs -> leader completeness', () => {
      const caught = hunt(core, 'isUpToDate', () => () => true, 200);
      expect(caught?.kind).toBe('leader completeness');
    });

    it('the `dslab nemesis` schedule alone catches stale votes -> leader completeness', () => {
      let tried = 0;
      const caught = hunt(core, 'isUpToDate', () => () => true, 400, (config) => {
        // Only the schedules that run the real nemesis: the others get a fault-free run here.
        if (config.nemesis_schedule === null) Object.assign(config, faultFreeSimConfig(config.seed));
        else tried++;
      });
      expect(tried).toBeGreaterThan(0);
      expect(caught?.kind).toBe('leader completeness');
      expect(randomSimConfig(caught!.seed).nemesis_schedule).not.toBeNull();
    });

    it('votes twice in a term -> election safety or a core invariant', () => {
      const caught = hunt(
        core,
        'handleRequestVote',
        (original) =>
          function (this: Record<string, unknown>, ...args: unknown[]) {
            this['voted_for'] = null;
            this['leader'] = null;
            return original.apply(this, args);
          },
        200,
      );
      expect(caught).not.toBeNull();
      expect(['election safety', 'core invariant', 'persistence']).toContain(caught!.kind);
    });

    it('serves reads without confirming leadership -> linearizability (stale read)', () => {
      const caught = hunt(
        core,
        'registerReads',
        () =>
          function (this: Record<string, unknown>, ...args: unknown[]) {
            const out = this['out_read_states'] as { request_id: unknown; index: unknown }[];
            for (const id of args[0] as unknown[]) out.push({ request_id: id, index: this['commit_index'] });
          },
        400,
        (config) => {
          config.raft.check_quorum = false;
        },
      );
      expect(caught?.kind).toBe('linearizability');
    });

    it('forgets exactly-once dedupe in the state machine -> a write answered differently than it took effect', () => {
      const caught = hunt(
        KvStateMachine.prototype,
        'apply',
        (original) =>
          function (this: Record<string, unknown>, ...args: unknown[]) {
            // Forget the client's session before every command, the same way on every replica.
            const command = args[0] as { client?: unknown } | null;
            (this['sessions'] as Map<unknown, unknown>).delete(command?.client);
            return original.apply(this, args);
          },
        200,
      );
      expect(caught?.kind).toBe('lost write');
    });
  });
});
