// Planted bug: a worker trusts its number until it takes another, so a paused worker whose session expired goes on issuing with a number the coordinator gave away.
process.env.DSLAB_SNOWFLAKE_PLANTED_BUG = 'serve_past_lease';
await import('../../../dist/systems/snowflake/main.js');
