// Planted bug: a ZooKeeper waiter watches the lowest node (the holder) instead of the one just below its own:
// still safe, as it reads the children again, but every release wakes every waiter (the herd effect).
process.env.DSLAB_LOCKS_PLANTED_BUG = 'watch_holder';
await import('../../../dist/systems/locks/main.js');
