// Planted bug: the worker takes the lowest free number without checking that it fits the worker bits, and shifts it in unmasked: it spills into the datacenter bits.
process.env.DSLAB_SNOWFLAKE_PLANTED_BUG = 'worker_unchecked';
await import('../../../dist/systems/snowflake/main.js');
