// Planted bug: the reference Raft commits entries of earlier terms by counting replicas (no
// current-term rule), and a new leader appends no no-op, so nothing of its own term commits them
// first. An entry stored on a majority can then be committed, applied and later overwritten:
// Figure 8 of the Raft paper.
import { RaftCore } from '../../../dist/systems/raft/core/core.js';

const { becomeLeader, appendOne } = RaftCore.prototype;
let electing = false;
RaftCore.prototype.canCommit = () => true;
RaftCore.prototype.becomeLeader = function () {
  electing = true;
  try {
    becomeLeader.call(this);
  } finally {
    electing = false;
  }
};
RaftCore.prototype.appendOne = function (entry) {
  if (electing && entry.op === null) return; // the new leader's no-op, left out
  appendOne.call(this, entry);
};
await import('../../../dist/systems/raft/main.js');
