import { DslabCommand } from '../cli/base.js';

export default class Heal extends DslabCommand {
  static override summary = 'Remove every partition, link fault (delay, loss, duplication, reordering) and application fault (dslab fail).';
  static override description = 'Paused nodes stay paused, killed nodes stay down and skewed clocks stay skewed: use resume, restart and `skew NODE 0` for those.';
  static override examples = ['<%= config.bin %> heal'];

  async run(): Promise<unknown> {
    const { flags } = await this.parse(Heal);
    return this.act(flags.cluster, { type: 'heal' });
  }
}
