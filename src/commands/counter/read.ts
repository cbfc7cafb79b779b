import { systems } from '../../registry.js';
import { counter_workloads } from '../../workloads/pn-counter/cli.js';
import { SingleSendCommand } from '../../workloads/single-send/cli.js';

export default class CounterRead extends SingleSendCommand {
  static override workloads = counter_workloads;
  static override summary = "Read the counter's value as one node sees it.";
  static override examples = ['<%= config.bin %> counter read', '<%= config.bin %> counter read --node n2'];
  static override flags = { ...SingleSendCommand.flags };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(CounterRead);
    return this.runOperation(flags, systems, 'read', {});
  }
}
