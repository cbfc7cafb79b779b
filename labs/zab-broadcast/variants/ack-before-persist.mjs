// Planted bug: a follower acknowledges NEWLEADER before the synced txns and its new epoch
// are on disk (ZOOKEEPER-3911): it writes them only when UPTODATE comes, so a crash in between
// loses txns its acknowledgement let the leader commit.
process.env.DSLAB_ZAB_PLANTED_BUG = 'ack_before_persist';
await import('../../../dist/systems/zab/main.js');
