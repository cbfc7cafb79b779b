import { Args, Flags } from '@oclif/core';
import { DslabCommand } from '../cli/base.js';
import { durationFlag } from '../cli/flags.js';
import { app_latency_ms_max } from '../lib/control/api.js';
import { UserError } from '../lib/util/errors.js';
import { parsePercentPoints } from '../lib/util/units.js';

const latency_range_ms = { min: 0, max: app_latency_ms_max };

export default class Fail extends DslabCommand {
  static override summary = 'Make a node fail as an application does: answer with errors, answer late, or hang.';
  static override description =
    'Only nodes that take application faults accept it (they declare dslab_fail in their init_ok, as the breaker system\'s dependency d1 does). The fault replaces any earlier one on the node and survives its restarts; `dslab heal` clears it, as does `dslab fail NODE --errors 0%`.';
  static override examples = ['<%= config.bin %> fail d1 --errors 50%', '<%= config.bin %> fail d1 --latency 800ms', '<%= config.bin %> fail d1 --hang', '<%= config.bin %> fail d1 --errors 0%'];
  static override args = {
    node: Args.string({ required: true, description: 'the node to fail (one that declared dslab_fail, like d1)' }),
  };
  static override flags = {
    errors: Flags.string({ description: 'answer this share of requests with an error, like 50% (0% for none)', helpValue: 'PERCENT' }),
    latency: durationFlag({ description: 'answer every request this much later', range: latency_range_ms }),
    hang: Flags.boolean({ description: 'answer nothing at all (requests wait until their callers give up)' }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(Fail);
    if (flags.errors === undefined && flags.latency === undefined && flags.hang !== true) throw new UserError('say how the node fails: --errors PERCENT, --latency DURATION or --hang (dslab heal clears it)');
    const errors_pct = flags.errors === undefined ? 0 : parsePercentPoints(flags.errors, '--errors');
    return this.act(flags.cluster, { type: 'fail', node: args.node, errors_pct, latency_ms: flags.latency ?? 0, hang: flags.hang === true });
  }
}
