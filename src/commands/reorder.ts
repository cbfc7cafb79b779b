import { LinkProbabilityCommand } from '../cli/base.js';

export default class Reorder extends LinkProbabilityCommand {
  static override field = 'reorder' as const;
  static override summary = 'Hold back a percentage of messages so later ones overtake them.';
  static override description = 'A held message waits up to 50 ms longer than its link delay. `dslab heal` turns it off.';
  static override examples = ['<%= config.bin %> reorder 10%'];
}
