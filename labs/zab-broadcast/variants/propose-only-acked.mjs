// Planted bug: the leader sends proposals only to followers that acknowledged NEWLEADER,
// so a follower misses what was proposed between its sync and its acknowledgement (and, trusting
// the stream as ZooKeeper's learner does, appends what comes after as if nothing were missing).
import { default_zab_config } from '../../../dist/systems/zab/core/core.js';

process.env.DSLAB_ZAB_PLANTED_BUG = 'propose_only_acked';
// Until the host reads DSLAB_ZAB_PLANTED_BUG itself, the core's defaults carry the bug.
default_zab_config.test_planted_bug = 'propose_only_acked';
await import('../../../dist/systems/zab/main.js');
