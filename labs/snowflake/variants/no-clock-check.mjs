// Planted bug: the worker takes a clock behind the latest time it issued as a new millisecond, so after a step back it issues ids lower than earlier ones (and may repeat them).
process.env.DSLAB_SNOWFLAKE_PLANTED_BUG = 'no_clock_check';
await import('../../../dist/systems/snowflake/main.js');
