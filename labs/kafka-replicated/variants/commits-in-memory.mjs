// Planted bug: committed offsets are kept in each node's memory instead of lin-kv (the logs are right, in
// lin-kv). A consumer assigned a key at another node, or at this node after it restarted, is told nothing was committed.
process.env.DSLAB_KAFKA_PLANTED_BUG = 'commits-in-memory';
await import('../../../dist/systems/kafka/main.js');
