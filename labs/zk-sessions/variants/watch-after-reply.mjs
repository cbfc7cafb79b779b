// Planted bug: a server sends a watch event after the read reply that already reflects the change.
process.env.DSLAB_ZAB_PLANTED_BUG = 'watch_after_reply';
await import('../../../dist/systems/zab/main.js');
