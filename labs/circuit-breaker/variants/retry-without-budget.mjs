// Planted bug: retries ignore their budget: during an outage every request makes all its attempts, so
// the calls reaching d1 are multiplied by 1 plus the retries allowed.
process.env.DSLAB_BREAKER_PLANTED_BUG = 'retry_without_budget';
await import('../../../dist/systems/breaker/main.js');
