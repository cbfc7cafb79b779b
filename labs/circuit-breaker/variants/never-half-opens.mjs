// Planted bug: an open breaker never half-opens. Once d1 has failed enough to open it, it short-circuits
// every request for good, even after d1 is healed: no trial call is ever made, so it never closes.
process.env.DSLAB_BREAKER_PLANTED_BUG = 'never_half_opens';
await import('../../../dist/systems/breaker/main.js');
