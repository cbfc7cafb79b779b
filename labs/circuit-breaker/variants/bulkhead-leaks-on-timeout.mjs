// Planted bug: a call that times out does not give its bulkhead permit back: after d1 hangs for a while
// every permit is lost, and the service rejects all requests even once d1 answers again.
process.env.DSLAB_BREAKER_PLANTED_BUG = 'bulkhead_leaks_on_timeout';
await import('../../../dist/systems/breaker/main.js');
