// Planted bug: none of the reference node's savings: every send and commit reads lin-kv before its
// compare-and-set, and every poll reads every key it is asked. Correct, but more messages per operation.
process.env.DSLAB_KAFKA_PLANTED_BUG = 'no-cache';
await import('../../../dist/systems/kafka/main.js');
