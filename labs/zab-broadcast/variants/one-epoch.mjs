// Planted bug: the reference Zab keeps acceptedEpoch and currentEpoch as one value, so a
// follower that accepted a new epoch it was never synced to votes with that epoch and can win
// against servers that hold more committed txns.
import { default_zab_config } from '../../../dist/systems/zab/core/core.js';

process.env.DSLAB_ZAB_PLANTED_BUG = 'one_epoch';
// Until the host reads DSLAB_ZAB_PLANTED_BUG itself, the core's defaults carry the bug.
default_zab_config.test_planted_bug = 'one_epoch';
await import('../../../dist/systems/zab/main.js');
