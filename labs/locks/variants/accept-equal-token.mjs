// Planted bug: the resource accepts a write whose token equals the largest one it accepted, so a second write
// under one grant (or a replay of it) passes the fence.
process.env.DSLAB_LOCKS_PLANTED_BUG = 'accept_equal_token';
await import('../../../dist/systems/locks/main.js');
