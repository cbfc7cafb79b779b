import { Args, Flags } from '@oclif/core';
import { DslabCommand } from '../cli/base.js';
import { UserError } from '../lib/util/errors.js';
import { parseDurationMs } from '../lib/util/units.js';

export default class Send extends DslabCommand {
  static override summary = 'Send one client message to a node and print its reply.';
  static override description = 'The body is JSON with a "type"; msg_id is added. Useful for poking any node by hand.';
  static override examples = [
    `<%= config.bin %> send n1 '{"type":"echo","echo":"hello"}'`,
    `<%= config.bin %> send n2 '{"type":"read","key":"x"}' --timeout 2s`,
  ];
  static override args = {
    node: Args.string({ required: true, description: 'node id' }),
    body: Args.string({ required: true, description: 'message body as JSON' }),
  };
  static override flags = {
    timeout: Flags.string({ default: '5s', description: 'how long to wait for the reply', helpValue: 'DURATION' }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(Send);
    let body: unknown;
    try {
      body = JSON.parse(args.body);
    } catch {
      throw new UserError(`the message body is not valid JSON: ${args.body}`);
    }
    if (typeof body !== 'object' || body === null || typeof (body as { type?: unknown }).type !== 'string') {
      throw new UserError('the message body must be a JSON object with a string "type"');
    }
    const result = await this.client(flags.cluster).act({
      type: 'send',
      dest: args.node,
      body: body as { type: string },
      timeout_ms: parseDurationMs(flags.timeout, '--timeout'),
    });
    this.log(JSON.stringify(result.reply));
    return result.reply;
  }
}
