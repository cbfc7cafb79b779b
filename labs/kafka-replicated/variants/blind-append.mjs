// Planted bug: a send writes the key's log as this node knows it plus the new msg with a plain write, not a
// compare-and-set. On one node that is right; on two, both hand out the same offset to different msgs, and one overwrites the other.
process.env.DSLAB_KAFKA_PLANTED_BUG = 'blind-append';
await import('../../../dist/systems/kafka/main.js');
