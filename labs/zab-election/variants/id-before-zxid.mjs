// Planted bug: the reference Zab's election compares server ids before zxids, so a server that
// missed txns beats a more up-to-date one with a lower id in the same epoch.
import { default_zab_config } from '../../../dist/systems/zab/core/core.js';

process.env.DSLAB_ZAB_PLANTED_BUG = 'id_before_zxid';
// Until the host reads DSLAB_ZAB_PLANTED_BUG itself, the core's defaults carry the bug.
default_zab_config.test_planted_bug = 'id_before_zxid';
await import('../../../dist/systems/zab/main.js');
