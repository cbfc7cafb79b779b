import { LinkProbabilityCommand } from '../cli/base.js';

export default class Loss extends LinkProbabilityCommand {
  static override field = 'loss' as const;
  static override summary = 'Drop a percentage of node-to-node messages at random.';
  static override description = 'Each message is dropped independently with this probability. `dslab loss 0%` or `dslab heal` turns it off.';
  static override examples = ['<%= config.bin %> loss 20%', '<%= config.bin %> loss 5% --link n1-n2'];
}
