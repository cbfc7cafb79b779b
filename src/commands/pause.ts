import { NodeActionCommand } from '../cli/base.js';

export default class Pause extends NodeActionCommand {
  static override action = 'pause' as const;
  static override summary = 'Freeze a node with SIGSTOP, as a long GC pause would.';
  static override description = 'The node keeps its state but runs no code; messages to it queue up. `dslab resume` continues it.';
  static override examples = ['<%= config.bin %> pause n2', '<%= config.bin %> pause leader'];
}
