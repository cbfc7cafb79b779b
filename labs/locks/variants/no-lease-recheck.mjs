// Planted bug: the etcd lock does not check its own key after waiting (etcd-io/etcd#11456): a waiter whose lease
// expired while it waited (paused) takes the lock beside the contender that moved up.
process.env.DSLAB_LOCKS_PLANTED_BUG = 'no_lease_recheck';
await import('../../../dist/systems/locks/main.js');
