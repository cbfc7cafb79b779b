// Planted bug: the reference Raft never takes a snapshot, so its log grows without bound.
import { RaftCore } from '../../../dist/systems/raft/core/core.js';

RaftCore.prototype.compact = function () {};
await import('../../../dist/systems/raft/main.js');
