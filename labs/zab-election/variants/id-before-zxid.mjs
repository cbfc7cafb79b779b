// Planted bug: the reference Zab's election compares server ids before zxids, so a server that
// missed txns beats a more up-to-date one with a lower id in the same epoch.
process.env.DSLAB_ZAB_PLANTED_BUG = 'id_before_zxid';
await import('../../../dist/systems/zab/main.js');
