import { Flags } from '@oclif/core';
import { DslabCommand } from '../cli/base.js';
import { durationFlag, integerFlag } from '../cli/flags.js';
import {
  nemesis_interval_ms_max,
  nemesis_interval_ms_min,
  nemesis_steps_max,
  run_duration_ms_max,
  run_duration_ms_min,
  seed_max,
} from '../lib/control/api.js';
import { nemesisFaultCount } from '../lib/faults/nemesis.js';
import { formatEvent } from '../cli/format/event.js';
import { UserError } from '../lib/util/errors.js';
import { randomSeed } from '../lib/util/prng.js';
import { formatDurationMs } from '../lib/util/units.js';

export default class Nemesis extends DslabCommand {
  static override summary = 'Inject a seeded random sequence of faults, printing each.';
  static override description =
    'Every interval the previous fault is undone and a new one is chosen (partition, isolate, kill, pause, loss, delay, duplicate); at the end everything is healed. The same seed on the same cluster size replays the same faults. The supervisor runs the schedule: Ctrl-C stops it and undoes its last fault; --detach leaves it running.';
  static override examples = [
    '<%= config.bin %> nemesis --interval 1s --duration 3s --seed 7',
    '<%= config.bin %> nemesis --duration 5m --detach',
    '<%= config.bin %> nemesis --stop',
  ];
  static override flags = {
    interval: durationFlag({ default: '2s', description: 'time between faults', range: { min: nemesis_interval_ms_min, max: nemesis_interval_ms_max } }),
    duration: durationFlag({ default: '30s', description: 'how long to run', range: { min: run_duration_ms_min, max: run_duration_ms_max } }),
    seed: integerFlag({ description: 'seed of the schedule; random, and printed, when not given', range: { min: 0, max: seed_max } }),
    detach: Flags.boolean({ description: 'start the schedule and return at once' }),
    stop: Flags.boolean({ description: 'stop a running nemesis and undo its last fault' }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(Nemesis);
    if (flags.stop) return this.act(flags.cluster, { type: 'nemesis_stop' });
    const { interval: interval_ms, duration: duration_ms } = flags;
    const count = nemesisFaultCount(interval_ms, duration_ms);
    if (count === 0) {
      throw new UserError(`--interval ${formatDurationMs(interval_ms)} is longer than --duration ${formatDurationMs(duration_ms)}, so no fault would be injected`);
    }
    if (count > nemesis_steps_max) {
      throw new UserError(
        `--duration ${formatDurationMs(duration_ms)} at --interval ${formatDurationMs(interval_ms)} would be ${count} faults; at most ${nemesis_steps_max} (use a longer --interval or a shorter --duration)`,
      );
    }
    const seed = flags.seed ?? randomSeed();
    const start = { type: 'nemesis_start' as const, interval_ms, duration_ms, seed };
    if (flags.detach) return this.act(flags.cluster, start);

    const client = this.client(flags.cluster);
    const json = this.jsonEnabled();
    const faults: string[] = [];
    // The started line comes from the action's answer; the stream's own start event would repeat it.
    const { result, follower } = await client.actAndFollow(start, (event) => {
      const ours = (event.type === 'fault' && event.source === 'nemesis') || (event.type === 'nemesis' && event.phase !== 'start') || event.type === 'notice';
      if (event.type === 'fault' && event.source === 'nemesis') faults.push(event.description);
      if (ours && !json) this.log(formatEvent(event) ?? '');
      return !(event.type === 'nemesis' && event.phase !== 'start');
    });
    this.log(result.description);
    const interrupt = () => void client.act({ type: 'nemesis_stop' }).catch(() => follower.stop());
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    await follower.ended;
    return { seed, faults };
  }
}
