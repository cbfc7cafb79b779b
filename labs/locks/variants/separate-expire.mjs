// Planted bug: the Redis lock is taken by SETNX and given its TTL by a separate PEXPIRE: a holder that dies
// between the two leaves a lock that never expires, and every other contender waits for ever.
process.env.DSLAB_LOCKS_PLANTED_BUG = 'separate_expire';
await import('../../../dist/systems/locks/main.js');
