import { Flags } from '@oclif/core';
import { DslabCommand } from '../cli/base.js';
import { durationFlag } from '../cli/flags.js';
import { link_delay_ms_max } from '../lib/control/api.js';

const delay_range_ms = { min: 0, max: link_delay_ms_max };

export default class Delay extends DslabCommand {
  static override summary = 'Delay node-to-node messages, with optional jitter.';
  static override description = 'Each message waits --ms plus or minus a uniform random --jitter. Jitter reorders messages. `dslab delay --ms 0` or `dslab heal` turns it off.';
  static override examples = ['<%= config.bin %> delay --ms 100 --jitter 50', '<%= config.bin %> delay --ms 500 --link n1-n2', '<%= config.bin %> delay --ms 0'];
  static override flags = {
    // The command is about milliseconds (--ms), so a bare number here means ms.
    ms: durationFlag({ required: true, bare_ms: true, description: 'delay per message: a number of ms, or with a unit like 1s', range: delay_range_ms }),
    jitter: durationFlag({ default: '0', bare_ms: true, description: 'random variation around the delay: a number of ms, or with a unit', range: delay_range_ms }),
    link: Flags.string({ description: 'only this link, both directions; a node group stands for each member; one end may be a client (c1-n2) (default: every node-to-node link; client links take faults only when named)', helpValue: 'n1-n2' }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(Delay);
    return this.act(flags.cluster, { type: 'link_faults', link: flags.link, delay_ms: flags.ms, jitter_ms: flags.jitter });
  }
}
