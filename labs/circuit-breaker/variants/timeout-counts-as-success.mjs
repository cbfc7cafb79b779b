// Planted bug: a call that times out counts as a success: d1 hanging (no answer at all) never opens the
// breaker, and every request waits out the call timeout.
process.env.DSLAB_BREAKER_PLANTED_BUG = 'timeout_counts_as_success';
await import('../../../dist/systems/breaker/main.js');
