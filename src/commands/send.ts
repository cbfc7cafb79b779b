import { Args, Flags } from '@oclif/core';
import { DslabCommand } from '../cli/base.js';
import { errorCodeName } from '../lib/protocol/messages.js';
import { UserError } from '../lib/util/errors.js';
import { durationFlag } from '../cli/flags.js';
import { client_timeout_ms_max, client_timeout_ms_min } from '../lib/control/api.js';

export default class Send extends DslabCommand {
  static override summary = 'Send one client message to a node and print its reply.';
  static override description =
    'The body is JSON with a "type"; msg_id is added. Useful for poking any node by hand. The reply is printed as JSON; when it is an error (type "error"), the exit code is 1 and the error is also explained on stderr.';
  static override examples = [
    `<%= config.bin %> send n1 '{"type":"echo","echo":"hello"}'`,
    `<%= config.bin %> send lin-kv '{"type":"write","key":"x","value":1}' --timeout 2s`,
  ];
  static override args = {
    node: Args.string({ required: true, description: 'node id' }),
    body: Args.string({ required: true, description: 'message body as JSON' }),
  };
  static override flags = {
    timeout: durationFlag({ default: '5s', description: 'how long to wait for the reply', range: { min: client_timeout_ms_min, max: client_timeout_ms_max } }),
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
      timeout_ms: flags.timeout,
    });
    const reply = result.reply as { type?: unknown; code?: unknown; text?: unknown };
    this.log(JSON.stringify(reply));
    if (reply.type === 'error') {
      process.exitCode = 1;
      const name = errorCodeName(reply.code);
      const text = typeof reply.text === 'string' && reply.text ? `: ${reply.text}` : '';
      if (!this.jsonEnabled()) this.logToStderr(`dslab: ${args.node} answered error ${String(reply.code)}${name ? ` (${name})` : ''}${text}`);
    }
    return reply;
  }
}
