// Planted bug: followers drop install_snapshot, so a node that fell behind the compacted log never catches up.
import { RaftCore } from '../../../dist/systems/raft/core/core.js';

const step = RaftCore.prototype.step;
RaftCore.prototype.step = function (from, message) {
  if (message?.type === 'install_snapshot') return;
  return step.call(this, from, message);
};
await import('../../../dist/systems/raft/main.js');
