// Planted bug: the reference Raft grants (pre-)votes without the election restriction, so a
// candidate whose log lacks committed entries can win and overwrite them.
import { RaftCore } from '../../../dist/systems/raft/core/core.js';

RaftCore.prototype.isUpToDate = () => true;
await import('../../../dist/systems/raft/main.js');
