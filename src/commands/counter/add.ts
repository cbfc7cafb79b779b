import { Args } from '@oclif/core';
import { systems } from '../../registry.js';
import { counter_workloads, parseDelta } from '../../workloads/pn-counter/cli.js';
import { SingleSendCommand } from '../../workloads/single-send/cli.js';

export default class CounterAdd extends SingleSendCommand {
  static override workloads = counter_workloads;
  static override summary = 'Add a delta to the counter through one node (negative only on a pn-counter).';
  static override examples = ['<%= config.bin %> counter add 5', '<%= config.bin %> counter add 2 --node n3', '<%= config.bin %> counter add -4'];
  static override flags = { ...SingleSendCommand.flags };
  static override args = { delta: Args.string({ required: true, description: 'an integer' }) };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(CounterAdd);
    return this.runOperation(flags, systems, 'add', { delta: parseDelta(args.delta) });
  }
}
