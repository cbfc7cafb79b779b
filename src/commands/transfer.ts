import { Args } from '@oclif/core';
import { DslabCommand } from '../cli/base.js';
import { durationFlag } from '../cli/flags.js';
import { client_timeout_ms_max, client_timeout_ms_min } from '../lib/control/api.js';

export default class Transfer extends DslabCommand {
  static override summary = 'Move leadership to another node (Raft leadership transfer).';
  static override description = 'The leader brings the target up to date, then tells it to start an election at once. Waits until the target reports itself leader.';
  static override examples = ['<%= config.bin %> transfer n3', '<%= config.bin %> transfer n2 --timeout 10s'];
  static override args = { node: Args.string({ required: true, description: 'node id or random' }) };
  static override flags = {
    timeout: durationFlag({ default: '5s', description: 'how long to wait for the new leader', range: { min: client_timeout_ms_min, max: client_timeout_ms_max } }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(Transfer);
    return this.act(flags.cluster, { type: 'transfer', node: args.node, timeout_ms: flags.timeout });
  }
}
