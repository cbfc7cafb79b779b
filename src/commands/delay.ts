import { Flags } from '@oclif/core';
import { DslabCommand } from '../cli/base.js';
import { parseDurationMs } from '../lib/util/units.js';

export default class Delay extends DslabCommand {
  static override summary = 'Delay node-to-node messages, with optional jitter.';
  static override description = 'Each message waits --ms plus or minus a uniform random --jitter. Jitter reorders messages. `dslab delay --ms 0` or `dslab heal` turns it off.';
  static override examples = ['<%= config.bin %> delay --ms 100 --jitter 50', '<%= config.bin %> delay --ms 500 --link n1-n2', '<%= config.bin %> delay --ms 0'];
  static override flags = {
    ms: Flags.string({ required: true, description: 'delay per message (a number of ms, or with a unit: 100ms, 1s)', helpValue: 'DURATION' }),
    jitter: Flags.string({ description: 'random variation around the delay', helpValue: 'DURATION', default: '0' }),
    link: Flags.string({ description: 'only this link, both directions (default: every node-to-node link)', helpValue: 'n1-n2' }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(Delay);
    const delay_ms = parseDurationMs(flags.ms, '--ms');
    const jitter_ms = parseDurationMs(flags.jitter, '--jitter');
    return this.act(flags.cluster, { type: 'link_faults', link: flags.link, delay_ms, jitter_ms });
  }
}
