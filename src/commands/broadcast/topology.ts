import { systems } from '../../registry.js';
import { SingleSendCommand } from '../../workloads/single-send/cli.js';

export default class BroadcastTopology extends SingleSendCommand {
  static override workloads = ['broadcast'];
  static override summary = 'Show the neighbours each node was sent in its topology message.';
  static override examples = ['<%= config.bin %> broadcast topology'];

  async run(): Promise<unknown> {
    const { flags } = await this.parse(BroadcastTopology);
    return this.runOperation(flags, systems, 'topology', {});
  }
}
