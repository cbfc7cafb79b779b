// Planted bug: the reference Raft never writes its term and vote to disk, so a restarted node
// starts again at term 0 (and could vote twice in a term).
import { RaftStorage } from '../../../dist/systems/raft/storage.js';

const persist = RaftStorage.prototype.persist;
RaftStorage.prototype.persist = function (ready, logAfterSnapshot) {
  return persist.call(this, { ...ready, hard_state: null }, logAfterSnapshot);
};
await import('../../../dist/systems/raft/main.js');
