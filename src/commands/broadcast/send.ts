import { Args } from '@oclif/core';
import { systems } from '../../registry.js';
import { parseValue } from '../../workloads/lin-kv/cli.js';
import { SingleSendCommand } from '../../workloads/single-send/cli.js';

export default class BroadcastSend extends SingleSendCommand {
  static override workloads = ['broadcast'];
  static override summary = 'Broadcast a message from one node: every node should come to hold it.';
  static override examples = ['<%= config.bin %> broadcast send 17', '<%= config.bin %> broadcast send 18 --node n3'];
  // oclif's parse reads only a class's own statics, so inherited flags are restated.
  static override flags = { ...SingleSendCommand.flags };
  static override args = { message: Args.string({ required: true, description: 'the message: JSON (17, "x") or else the text itself' }) };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(BroadcastSend);
    return this.runOperation(flags, systems, 'broadcast', { message: parseValue(args.message) });
  }
}
