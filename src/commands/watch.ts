import { Flags } from '@oclif/core';
import { DslabCommand } from '../cli/base.js';
import { printEventLines } from '../cli/event-lines.js';

export default class Watch extends DslabCommand {
  static override summary = 'Attach a live dashboard to a running cluster: roles, terms, commit indexes, faults, message rates.';
  static override description =
    'Keys act on the cluster through the same control API as the commands: ↑/↓ or j select a node, k kill, r restart, p pause/resume, i isolate, s split into random halves, h heal, l event log on/off, ? help, q quit (the cluster keeps running). With --no-ui, --json or when stdout is not a terminal, prints the plain event lines instead.';
  static override examples = ['<%= config.bin %> watch', '<%= config.bin %> watch --cluster raft', '<%= config.bin %> watch --no-ui'];
  static override flags = {
    'no-ui': Flags.boolean({ description: 'print plain event lines instead of the dashboard' }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(Watch);
    const client = this.client(flags.cluster);
    const json = this.jsonEnabled();
    if (flags['no-ui'] || json || !process.stdout.isTTY || !process.stdin.isTTY) {
      await printEventLines(client, { json, history: true });
      return undefined;
    }
    await client.status(); // a cluster that is not running fails here, as one line, before the screen is taken over
    const { runDashboard, controlClientSource } = await import('../lib/dashboard/index.js');
    await runDashboard({ source: controlClientSource(client), mode: 'watch' });
    return undefined;
  }
}
