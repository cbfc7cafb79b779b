import { Flags } from '@oclif/core';
import path from 'node:path';
import { DslabCommand } from '../cli/base.js';
import { durationFlag, integerFlag, numberFlag } from '../cli/flags.js';
import { run_duration_ms_max, run_duration_ms_min, seed_max } from '../lib/control/api.js';
import { formatLoadKeys, formatLoadSummary } from '../cli/format/load.js';
import { linKvAction } from '../workloads/lin-kv/cli.js';
import { parseMix } from '../workloads/lin-kv/mix.js';
import { load_clients_max, load_keys_max, load_rate_per_s_max, load_rate_per_s_min } from '../workloads/lin-kv/runtime.js';

export default class Load extends DslabCommand {
  static override workloads = ['lin-kv'];
  static override summary = 'Run an open-loop key-value workload (reads, writes, cas) and record its history.';
  static override description =
    'Operations are offered at --rate whatever the latency, each by one of --clients clients (one operation at a time per client). As Maelstrom\'s clients are, client i is bound to node i mod n, and sends each request once: only a refusal that says it was not done (error 11) goes on to the leader; a write or cas left unanswered is unknown, a read left unanswered failed. Prints progress every second, then throughput, latency percentiles and outcomes per operation: ok, not found (error 20) and mismatched (a cas whose from did not match, error 22) are expected answers; failed (other errors) and unknown (no answer in time) are real failures. Each run uses fresh keys (a new prefix) unless --key-prefix names them, so a cluster\'s earlier data does not confuse `dslab check`. --history writes the keys (and whether they were fresh) and every operation (call and return times, result, and whether it took effect: ok, fail or unknown) for `dslab check`.';
  static override examples = [
    '<%= config.bin %> load --clients 10 --rate 200 --duration 2s --history run.jsonl',
    '<%= config.bin %> load --duration 5m --keys 5 --detach',
    '<%= config.bin %> load --stop',
  ];
  static override flags = {
    clients: integerFlag({ default: 10, description: 'concurrent clients', range: { min: 1, max: load_clients_max } }),
    rate: numberFlag({ default: 100, description: 'operations offered per second, in total', range: { min: load_rate_per_s_min, max: load_rate_per_s_max } }),
    duration: durationFlag({ default: '10s', description: 'how long to offer operations', range: { min: run_duration_ms_min, max: run_duration_ms_max } }),
    keys: integerFlag({ default: 20, description: 'number of distinct keys', range: { min: 1, max: load_keys_max } }),
    'key-prefix': Flags.string({ description: 'name the keys PREFIX0, PREFIX1, … (e.g. k for k0…k19, to reuse an earlier run\'s keys); default: a fresh prefix per run', helpValue: 'PREFIX' }),
    history: Flags.string({ description: 'write the operation history (JSONL) here', helpValue: 'FILE' }),
    seed: integerFlag({ description: 'seed for the choice of operations and keys; random when not given', range: { min: 0, max: seed_max } }),
    mix: Flags.string({ default: 'read=1,write=1,cas=1', description: 'relative weights of reads, writes and cas; write=1 for writes only', helpValue: 'read=R,write=W,cas=C' }),
    detach: Flags.boolean({ description: 'start the workload and return at once' }),
    stop: Flags.boolean({ description: 'stop a running workload' }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(Load);
    if (flags.stop) return this.act(flags.cluster, linKvAction('load_stop'));
    const args = {
      clients: flags.clients,
      rate_per_s: flags.rate,
      duration_ms: flags.duration,
      keys: flags.keys,
      history_path: flags.history ? path.resolve(flags.history) : null,
      ...(flags['key-prefix'] === undefined ? {} : { key_prefix: flags['key-prefix'] }),
      seed: flags.seed,
      mix: parseMix(flags.mix),
    };
    const start = linKvAction('load_start', args);
    if (flags.detach) return this.act(flags.cluster, start);

    let keys: { key_prefix: string; keys_fresh: boolean } | null = null;
    const { stats: final } = await this.followLoad(flags.cluster, start, linKvAction('load_stop'), (event) => {
      if (event.options.key_prefix !== undefined) keys = { key_prefix: event.options.key_prefix, keys_fresh: event.options.keys_fresh ?? false };
    });
    this.log(formatLoadSummary(final));
    const used = keys as { key_prefix: string; keys_fresh: boolean } | null;
    if (used) this.log(formatLoadKeys(used.key_prefix, args.keys, used.keys_fresh));
    if (args.history_path) this.log(`history: ${args.history_path} (check it with: ${this.program()} check ${flags.history})`);
    return { ...final, history: args.history_path, key_prefix: used?.key_prefix ?? null, keys_fresh: used?.keys_fresh ?? null };
  }
}
