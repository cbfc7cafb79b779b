import { Flags } from '@oclif/core';
import { DslabCommand } from '../cli/base.js';
import { formatEvent } from '../lib/format.js';
import { randomSeed } from '../lib/util/prng.js';
import { parseDurationMs } from '../lib/util/units.js';

export default class Nemesis extends DslabCommand {
  static override summary = 'Inject a seeded random sequence of faults, printing each.';
  static override description =
    'Every interval the previous fault is undone and a new one is chosen (partition, isolate, kill, pause, loss, delay, duplicate); at the end everything is healed. The same seed on the same cluster size replays the same faults. The supervisor runs the schedule: Ctrl-C stops it and undoes its last fault; --detach leaves it running.';
  static override examples = [
    '<%= config.bin %> nemesis --interval 2s --duration 30s --seed 7',
    '<%= config.bin %> nemesis --duration 5m --detach',
    '<%= config.bin %> nemesis --stop',
  ];
  static override flags = {
    interval: Flags.string({ default: '2s', description: 'time between faults', helpValue: 'DURATION' }),
    duration: Flags.string({ default: '30s', description: 'how long to run', helpValue: 'DURATION' }),
    seed: Flags.integer({ min: 0, description: 'seed of the schedule (default: random, printed)' }),
    detach: Flags.boolean({ description: 'start the schedule and return at once' }),
    stop: Flags.boolean({ description: 'stop a running nemesis and undo its last fault' }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(Nemesis);
    const client = this.client(flags.cluster);
    if (flags.stop) return this.act(flags.cluster, { type: 'nemesis_stop' });
    const interval_ms = parseDurationMs(flags.interval, '--interval');
    const duration_ms = parseDurationMs(flags.duration, '--duration');
    const seed = flags.seed ?? randomSeed();
    if (flags.detach) return this.act(flags.cluster, { type: 'nemesis_start', interval_ms, duration_ms, seed });

    const json = this.jsonEnabled();
    const faults: string[] = [];
    // Listen before starting, so the first fault is not missed.
    const follower = client.follow((event) => {
      if (event.type === 'fault' && event.source === 'nemesis') faults.push(event.description);
      if ((event.type === 'fault' && event.source === 'nemesis') || event.type === 'nemesis' || event.type === 'notice') {
        if (!json) this.log(formatEvent(event) ?? '');
      }
      return !(event.type === 'nemesis' && event.phase !== 'start');
    });
    await this.act(flags.cluster, { type: 'nemesis_start', interval_ms, duration_ms, seed });
    const interrupt = () => void client.act({ type: 'nemesis_stop' }).catch(() => follower.stop());
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    await follower.ended;
    return { seed, faults };
  }
}
