// Planted bug: a server tells the leader to stop tracking a session as soon as it sees the session's
// close request, so a close whose txn is lost on the way leaves the session's ephemerals for ever.
process.env.DSLAB_ZAB_PLANTED_BUG = 'close_lost_keeps_ephemerals';
await import('../../../dist/systems/zab/main.js');
