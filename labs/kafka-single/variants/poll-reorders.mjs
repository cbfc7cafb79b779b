// Planted bug: a poll answers each key's msgs newest first, so a consumer sees offsets go backwards within one answer
// (the reference node otherwise).
process.env.DSLAB_KAFKA_PLANTED_BUG = 'poll-reorders';
await import('../../../dist/systems/kafka/main.js');
