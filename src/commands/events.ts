import { Flags } from '@oclif/core';
import { DslabCommand } from '../cli/base.js';
import { printEventLines } from '../cli/event-lines.js';

export default class Events extends DslabCommand {
  static override summary = "Follow a cluster's event stream: nodes up and down, state reports, faults, misbehaviour.";
  static override description =
    'With --json, prints each event as one JSON object per line (NDJSON), exactly as the supervisor streams it, including per-second message rates. Stops when the cluster goes down or on Ctrl-C.';
  static override examples = ['<%= config.bin %> events', '<%= config.bin %> events --history --json'];
  static override flags = {
    history: Flags.boolean({ description: 'start with the recent events the supervisor kept (up to 1000)' }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(Events);
    await printEventLines(this.client(flags.cluster), { json: this.jsonEnabled(), history: flags.history });
    return undefined;
  }
}
