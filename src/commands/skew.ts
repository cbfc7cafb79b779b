import { Args } from '@oclif/core';
import { DslabCommand } from '../cli/base.js';
import { clock_offset_ms_max } from '../lib/control/api.js';
import { describeDurationRange, parseSignedDurationMs } from '../lib/util/units.js';

const offset_range_ms = { min: -clock_offset_ms_max, max: clock_offset_ms_max };

export default class Skew extends DslabCommand {
  static override summary = "Shift a node's clock by an offset (clock skew).";
  static override description = 'The node runtime adds the offset to every clock read (sent as a dslab_clock message). The offset replaces any earlier one; 0 removes it. It survives restarts.';
  static override examples = ['<%= config.bin %> skew n2 +500ms', '<%= config.bin %> skew n1 -2s', '<%= config.bin %> skew n2 0'];
  static override args = {
    node: Args.string({ required: true, description: 'node id, leader or random' }),
    offset: Args.string({ required: true, description: `signed offset with a unit, like +500ms or -2s (${describeDurationRange(offset_range_ms)}; 0 removes it)` }),
  };

  async run(): Promise<unknown> {
    // A negative offset such as -2s would read as a flag; everything after "--" is positional.
    const negative = this.argv.filter((arg) => /^-\d/.test(arg));
    if (negative.length > 0 && !this.argv.includes('--')) this.argv = [...this.argv.filter((arg) => !negative.includes(arg)), '--', ...negative];
    const { args, flags } = await this.parse(Skew);
    return this.act(flags.cluster, { type: 'skew', node: args.node, offset_ms: parseSignedDurationMs(args.offset, 'clock offset', { range: offset_range_ms }) });
  }
}
