import { Flags } from '@oclif/core';
import { DslabCommand } from '../cli/base.js';
import { event_filter_flags, printEventLines } from '../cli/event-lines.js';
import { excludedEventTypes } from '../lib/control/event-filter.js';
import { UserError } from '../lib/util/errors.js';

export default class Watch extends DslabCommand {
  static override summary = 'Attach a live dashboard to a running cluster: roles, terms, commit indexes, faults, message rates.';
  static override description =
    "Keys act on the cluster through the same control API as the commands: ↑/↓ or j select a node, k kill, r restart, p pause/resume, i isolate, s split into random halves, h heal, l event log on/off, ? help, q quit (the cluster keeps running). With --no-ui, or when stdout is not a terminal, prints the dashboard's plain event lines instead (the recent ones first); with --json every event as NDJSON. --type and --exclude choose the event types of those lines.";
  static override examples = ['<%= config.bin %> watch', '<%= config.bin %> watch --cluster raft', '<%= config.bin %> watch --no-ui', '<%= config.bin %> watch --no-ui --exclude node_state'];
  static override flags = {
    'no-ui': Flags.boolean({ description: 'print plain event lines instead of the dashboard' }),
    ...event_filter_flags,
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(Watch);
    const exclude = excludedEventTypes({ only: flags.type, exclude: flags.exclude });
    const client = this.client(flags.cluster);
    const json = this.jsonEnabled();
    if (flags['no-ui'] || json || !process.stdout.isTTY || !process.stdin.isTTY) {
      await printEventLines(client, { json, history: true, exclude });
      return undefined;
    }
    if (flags.type !== undefined || flags.exclude !== undefined) throw new UserError('--type and --exclude choose the plain event lines: add --no-ui (the dashboard shows every event)');
    await client.status(); // a cluster that is not running fails here, as one line, before the screen is taken over
    const { runDashboard, controlClientSource } = await import('../lib/dashboard/index.js');
    await runDashboard({ source: controlClientSource(client), mode: 'watch' });
    return undefined;
  }
}
