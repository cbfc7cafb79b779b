// Planted bug: the leader sends TRUNC only to a follower past the end of its log, never to
// one holding txns of an older epoch inside it (ZOOKEEPER-1154): those uncommitted txns stay and
// are delivered.
process.env.DSLAB_ZAB_PLANTED_BUG = 'trunc_only_past_log';
await import('../../../dist/systems/zab/main.js');
