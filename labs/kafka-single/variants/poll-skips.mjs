// Planted bug: a poll answers each key from one past the offset asked, so the msg at that offset is never returned to a consumer
// polling in order (the reference node otherwise).
process.env.DSLAB_KAFKA_PLANTED_BUG = 'poll-skips';
await import('../../../dist/systems/kafka/main.js');
