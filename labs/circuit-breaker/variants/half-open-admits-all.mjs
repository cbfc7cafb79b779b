// Planted bug: a half-open breaker lets every request through, not only its trial calls: the first requests
// after the wait all reach d1 at once, which is what half-open is there to prevent.
process.env.DSLAB_BREAKER_PLANTED_BUG = 'half_open_admits_all';
await import('../../../dist/systems/breaker/main.js');
