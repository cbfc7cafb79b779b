import { Args } from '@oclif/core';
import { systems } from '../../registry.js';
import { parseValue } from '../../workloads/lin-kv/cli.js';
import { SingleSendCommand } from '../../workloads/single-send/cli.js';

export default class SetAdd extends SingleSendCommand {
  static override workloads = ['g-set'];
  static override summary = 'Add an element to the grow-only set through one node.';
  static override examples = ['<%= config.bin %> set add 5', '<%= config.bin %> set add 6 --node n2'];
  static override flags = { ...SingleSendCommand.flags };
  static override args = { element: Args.string({ required: true, description: 'the element: JSON (5, "x") or else the text itself' }) };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(SetAdd);
    return this.runOperation(flags, systems, 'add', { element: parseValue(args.element) });
  }
}
