// Planted bug: a follower acknowledges NEWLEADER before the synced txns and its new epoch
// are on disk (ZOOKEEPER-3911): it writes them only when UPTODATE comes, so a crash in between
// loses txns its acknowledgement let the leader commit.
import { default_zab_config } from '../../../dist/systems/zab/core/core.js';

process.env.DSLAB_ZAB_PLANTED_BUG = 'ack_before_persist';
// Until the host reads DSLAB_ZAB_PLANTED_BUG itself, the core's defaults carry the bug.
default_zab_config.test_planted_bug = 'ack_before_persist';
await import('../../../dist/systems/zab/main.js');
