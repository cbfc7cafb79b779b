import { systems } from '../../registry.js';
import { SingleSendCommand } from '../../workloads/single-send/cli.js';

export default class BroadcastRead extends SingleSendCommand {
  static override workloads = ['broadcast'];
  static override summary = 'Read the messages one node holds.';
  static override examples = ['<%= config.bin %> broadcast read', '<%= config.bin %> broadcast read --node n2'];
  static override flags = { ...SingleSendCommand.flags };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(BroadcastRead);
    return this.runOperation(flags, systems, 'read', {});
  }
}
