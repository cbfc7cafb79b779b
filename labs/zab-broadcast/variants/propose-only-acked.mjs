// Planted bug: the leader sends proposals only to followers that acknowledged NEWLEADER,
// so a follower misses what was proposed between its sync and its acknowledgement (and, trusting
// the stream as ZooKeeper's learner does, appends what comes after as if nothing were missing).
// ZooKeeper's leader starts forwarding proposals to a learner as soon as it has chosen the learner's
// sync, before NEWLEADER; this skips the proposals made until the acknowledgement comes back.
process.env.DSLAB_ZAB_PLANTED_BUG = 'propose_only_acked';
await import('../../../dist/systems/zab/main.js');
