import { NodeActionCommand } from '../cli/base.js';

export default class Resume extends NodeActionCommand {
  static override action = 'resume' as const;
  static override summary = 'Continue a paused node with SIGCONT.';
  static override description = 'It then reads every message that queued up while it was frozen.';
  static override examples = ['<%= config.bin %> resume n2'];
}
