import { Flags } from '@oclif/core';
import { DslabCommand } from '../cli/base.js';
import { event_filter_flags, printEventLines } from '../cli/event-lines.js';
import { excludedEventTypes } from '../lib/control/event-filter.js';

export default class Events extends DslabCommand {
  static override summary = "Follow a cluster's events: elections, leader changes, rolled-back entries, faults, crashes, restarts.";
  static override description =
    "Prints the dashboard's plain event lines (\"n2 is leader (term 5)\", \"n3 rolled back 2 uncommitted entries\", \"killed n1 (leader)\"). With --json, prints every event as one JSON object per line (NDJSON), exactly as the supervisor streams it, including each state report, applied entry, client result and the per-second message rates. --type and --exclude choose event types. Stops when the cluster goes down or on Ctrl-C.";
  static override examples = [
    '<%= config.bin %> events',
    '<%= config.bin %> events --history --json',
    '<%= config.bin %> events --type fault,node_down',
    '<%= config.bin %> events --json --exclude rates,client_result',
  ];
  static override flags = {
    history: Flags.boolean({ description: 'start with the recent events the supervisor kept (up to 1000)' }),
    ...event_filter_flags,
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(Events);
    const exclude = excludedEventTypes({ only: flags.type, exclude: flags.exclude });
    await printEventLines(this.client(flags.cluster), { json: this.jsonEnabled(), history: flags.history, exclude });
    return undefined;
  }
}
