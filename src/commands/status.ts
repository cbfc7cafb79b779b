import { DslabCommand } from '../cli/base.js';
import { formatStatus } from '../cli/format/status.js';

export default class Status extends DslabCommand {
  static override summary = 'Show the nodes of a cluster: process status, message counts, problems and last state report.';
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --cluster raft --json'];

  async run(): Promise<unknown> {
    const { flags } = await this.parse(Status);
    const status = await this.client(flags.cluster).status();
    this.log(formatStatus(status));
    return status;
  }
}
