// Planted bug: the sequential suffix is the parent's number of children, so after a delete a suffix
// already handed out is handed out again.
process.env.DSLAB_ZAB_PLANTED_BUG = 'sequential_from_children';
await import('../../../dist/systems/zab/main.js');
