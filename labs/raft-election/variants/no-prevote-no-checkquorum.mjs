// Planted bug: the reference Raft without PreVote and CheckQuorum, so a node that was cut off
// comes back with a higher term and deposes a healthy leader.
import { default_raft_config } from '../../../dist/systems/raft/core/core.js';

default_raft_config.pre_vote = false;
default_raft_config.check_quorum = false;
await import('../../../dist/systems/raft/main.js');
