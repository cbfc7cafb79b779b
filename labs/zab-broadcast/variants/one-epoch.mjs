// Planted bug: the reference Zab keeps acceptedEpoch and currentEpoch as one value, so a
// follower that accepted a new epoch it was never synced to votes with that epoch and can win
// against servers that hold more committed txns.
process.env.DSLAB_ZAB_PLANTED_BUG = 'one_epoch';
await import('../../../dist/systems/zab/main.js');
