import { NodeActionCommand } from '../cli/base.js';

export default class Restart extends NodeActionCommand {
  static override action = 'restart' as const;
  static override summary = 'Restart a killed or crashed node with the same id and data directory.';
  static override description = 'The node is sent init again and must answer it in time.';
  static override examples = ['<%= config.bin %> restart n3'];
}
