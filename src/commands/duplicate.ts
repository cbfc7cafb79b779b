import { LinkProbabilityCommand } from '../cli/base.js';

export default class Duplicate extends LinkProbabilityCommand {
  static override field = 'duplicate' as const;
  static override summary = 'Deliver a percentage of node-to-node messages twice.';
  static override description = 'Nodes must tolerate duplicates (idempotent handlers, dedupe by msg_id). `dslab heal` turns it off.';
  static override examples = ['<%= config.bin %> duplicate 5%', '<%= config.bin %> duplicate 50% --link n2-n3'];
}
