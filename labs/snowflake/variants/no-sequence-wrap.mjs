// Planted bug: a full sequence starts again at 0 in the same millisecond instead of waiting for the next one, repeating that millisecond's ids.
process.env.DSLAB_SNOWFLAKE_PLANTED_BUG = 'no_sequence_wrap';
await import('../../../dist/systems/snowflake/main.js');
