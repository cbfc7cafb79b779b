import { NodeActionCommand } from '../cli/base.js';

export default class Kill extends NodeActionCommand {
  static override action = 'kill' as const;
  static override summary = 'Kill a node with SIGKILL; its data directory survives for a restart.';
  static override description = 'The node disappears in the middle of whatever it was doing, as in a power cut. Bring it back with `dslab restart`.';
  static override examples = ['<%= config.bin %> kill n3', '<%= config.bin %> kill leader', '<%= config.bin %> kill random'];
}
