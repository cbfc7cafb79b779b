// Planted bug: the window never forgets: outcomes older than the window still count, so a few failures
// long ago, with a little healthy traffic since, open the breaker.
process.env.DSLAB_BREAKER_PLANTED_BUG = 'window_never_forgets';
await import('../../../dist/systems/breaker/main.js');
