// Planted bug: the Redis lock is released by a plain DEL, which deletes whatever lock is there: a holder whose lock
// expired (a slow link to Redis) frees the lock of the contender that took it since, and a third one walks in.
process.env.DSLAB_LOCKS_PLANTED_BUG = 'plain_del';
await import('../../../dist/systems/locks/main.js');
