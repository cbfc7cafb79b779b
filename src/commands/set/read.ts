import { systems } from '../../registry.js';
import { SingleSendCommand } from '../../workloads/single-send/cli.js';

export default class SetRead extends SingleSendCommand {
  static override workloads = ['g-set'];
  static override summary = 'Read the grow-only set as one node holds it.';
  static override examples = ['<%= config.bin %> set read', '<%= config.bin %> set read --node n3'];
  static override flags = { ...SingleSendCommand.flags };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(SetRead);
    return this.runOperation(flags, systems, 'read', {});
  }
}
