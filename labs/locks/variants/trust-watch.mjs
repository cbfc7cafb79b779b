// Planted bug: a ZooKeeper waiter takes the lock as soon as its watch fires, without reading the children again:
// when the node below went with its expired session, the holder further below still holds.
process.env.DSLAB_LOCKS_PLANTED_BUG = 'trust_watch';
await import('../../../dist/systems/locks/main.js');
