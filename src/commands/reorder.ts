import { LinkProbabilityCommand } from '../cli/base.js';
import { reorder_hold_ms_max } from '../lib/faults/fault-model.js';

export default class Reorder extends LinkProbabilityCommand {
  static override field = 'reorder' as const;
  static override summary = 'Hold back a percentage of messages so later ones overtake them.';
  static override description = `A held message waits up to ${reorder_hold_ms_max} ms longer than its link delay. \`dslab heal\` turns it off.`;
  static override examples = ['<%= config.bin %> reorder 10%'];
}
