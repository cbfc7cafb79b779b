// The grader's maelstrom_run step asks for the run dslab test's flags would: the transactional workloads'
// models, transaction length and writes per key reach the run's settings, with the same limits.
import { describe, expect, it } from 'vitest';
import { parseTestArgs } from '../../src/maelstrom/options.js';
import { labRunSettings, maelstrom_run_step } from '../../src/maelstrom/run/lab-step.js';

const run = { workload: 'txn-rw-register' as const, nodes: ['n1', 'n2'], concurrency: 4, seed: 7, history_file: '/tmp/h.jsonl' };

describe('the maelstrom_run step', () => {
  it("passes a txn lab's models, transaction length, writes per key and key count to the run as dslab test's flags do", () => {
    const step = maelstrom_run_step.fields.parse({
      do: 'maelstrom_run',
      workload: 'txn-rw-register',
      time_limit_s: 5,
      rate: 200,
      nemesis: ['partition'],
      nemesis_interval_s: 1,
      consistency_models: ['read-committed'],
      max_txn_length: 3,
      max_writes_per_key: 8,
      key_count: 4,
    });
    const settings = labRunSettings(step as Parameters<typeof labRunSettings>[0], run);
    const parsed = parseTestArgs(['-w', 'txn-rw-register', '--bin', 'x', '--node-count', '2', '--time-limit', '5', '--rate', '200', '--nemesis', 'partition', '--nemesis-interval', '1', '--consistency-models', 'read-committed', '--max-txn-length', '3', '--max-writes-per-key', '8', '--key-count', '4']);
    if (parsed.kind !== 'plan') throw new Error('not a plan');
    const { plan } = parsed;
    expect(settings).toMatchObject({
      time_limit_s: plan.time_limit_s,
      rate_per_s: plan.rate_per_s,
      nemesis: plan.nemesis,
      nemesis_interval_s: plan.nemesis_interval_s,
      consistency_models: plan.consistency_models,
      max_txn_length: plan.max_txn_length,
      max_writes_per_key: plan.max_writes_per_key,
      key_count: plan.key_count,
    });
    expect(settings).toMatchObject({ consistency_models: ['read-committed'], max_txn_length: 3, max_writes_per_key: 8, key_count: 4 });
  });

  it('leaves what a step does not name to the run, as a flag left out of dslab test is', () => {
    const step = maelstrom_run_step.fields.parse({ do: 'maelstrom_run', workload: 'txn-rw-register', time_limit_s: 5 });
    const settings = labRunSettings(step as Parameters<typeof labRunSettings>[0], run);
    expect(settings).not.toHaveProperty('consistency_models');
    expect(settings).not.toHaveProperty('max_txn_length');
    expect(settings).not.toHaveProperty('max_writes_per_key');
    expect(settings.key_count).toBeNull();
  });

  it("refuses a model dslab test's --consistency-models does not know, and limits beyond its flags'", () => {
    const base = { do: 'maelstrom_run', workload: 'txn-rw-register', time_limit_s: 5 };
    expect(maelstrom_run_step.fields.safeParse({ ...base, consistency_models: ['read-comitted'] }).success).toBe(false);
    expect(maelstrom_run_step.fields.safeParse({ ...base, consistency_models: [] }).success).toBe(false);
    expect(maelstrom_run_step.fields.safeParse({ ...base, max_txn_length: 0 }).success).toBe(false);
    expect(maelstrom_run_step.fields.safeParse({ ...base, max_writes_per_key: 1.5 }).success).toBe(false);
    expect(maelstrom_run_step.fields.safeParse({ ...base, consistency_models: ['PL-2', 'read-uncommitted'] }).success).toBe(true);
  });
});
