// Planted bug: the reference Raft believes one vote or one copy is a majority.
import { RaftCore } from '../../../dist/systems/raft/core/core.js';

RaftCore.prototype.quorum = () => 1;
await import('../../../dist/systems/raft/main.js');
