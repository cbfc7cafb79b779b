// Planted bug: ids pass through a JavaScript number on their way out, which holds integers exactly only to 2^53: the low bits of a 63-bit id are rounded away.
process.env.DSLAB_SNOWFLAKE_PLANTED_BUG = 'number_ids';
await import('../../../dist/systems/snowflake/main.js');
