import { Flags } from '@oclif/core';
import path from 'node:path';
import { DslabCommand } from '../../cli/base.js';
import { durationFlag, integerFlag, numberFlag } from '../../cli/flags.js';
import { run_duration_ms_max, run_duration_ms_min, seed_max } from '../../lib/control/api.js';
import { formatLoadSummary } from '../../cli/format/load.js';
import { zk_load_clients_max, zk_load_legend, zk_load_paths_max, zk_load_rate_per_s_max, zk_load_rate_per_s_min } from '../../workloads/zk/load.js';
import { zk_workload } from '../../workloads/zk/plugin.js';

export default class ZkLoadCommand extends DslabCommand {
  static override workloads = ['zk'];
  static override summary = 'Run an open-loop znode workload (create, set, delete, reads) on sessions of its own and record its history.';
  static override description =
    'Each of --clients clients opens a session and runs one call at a time; calls are offered at --rate whatever the latency: create, set_data and delete (half with the version last seen, half any version), get_data, exists and get_children, on --paths znodes under a parent made fresh for the run. Prints progress every second, then throughput, latency percentiles and outcomes per call: ok, not found (NoNode) and mismatched (NodeExists, BadVersion, NotEmpty) are expected answers; failed (other errors) and unknown (ConnectionLoss in flight, no answer) are real failures. --history writes every call (session, server, call and return times, outcome with ZooKeeper\'s error name, the stat returned) for `dslab check`.';
  static override examples = ['<%= config.bin %> zk load --clients 5 --rate 100 --duration 2s --history zk.jsonl', '<%= config.bin %> zk load --duration 1m --detach', '<%= config.bin %> zk load --stop'];
  static override flags = {
    clients: integerFlag({ default: 5, description: 'concurrent clients, a session each', range: { min: 1, max: zk_load_clients_max } }),
    rate: numberFlag({ default: 50, description: 'calls offered per second, in total', range: { min: zk_load_rate_per_s_min, max: zk_load_rate_per_s_max } }),
    duration: durationFlag({ default: '10s', description: 'how long to offer calls', range: { min: run_duration_ms_min, max: run_duration_ms_max } }),
    paths: integerFlag({ default: 4, description: 'number of znodes under the run\'s parent', range: { min: 1, max: zk_load_paths_max } }),
    history: Flags.string({ description: 'write the call history (JSONL) here', helpValue: 'FILE' }),
    seed: integerFlag({ description: 'seed for the choice of calls and znodes; random when not given', range: { min: 0, max: seed_max } }),
    detach: Flags.boolean({ description: 'start the workload and return at once' }),
    stop: Flags.boolean({ description: 'stop a running zk load' }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(ZkLoadCommand);
    const action = (op: string, args: Record<string, unknown> = {}) => ({ type: 'workload' as const, workload: zk_workload.name, op, args });
    if (flags.stop) return this.act(flags.cluster, action('load_stop'));
    const history_path = flags.history ? path.resolve(flags.history) : null;
    const start = action('load_start', { clients: flags.clients, rate_per_s: flags.rate, duration_ms: flags.duration, paths: flags.paths, history_path, ...(flags.seed === undefined ? {} : { seed: flags.seed }) });
    if (flags.detach) return this.act(flags.cluster, start);

    const { result, stats: final } = await this.followLoad(flags.cluster, start, action('load_stop'));
    this.log(formatLoadSummary(final, zk_load_legend));
    if (history_path) this.log(`history: ${history_path} (check it with: ${this.program()} check ${flags.history})`);
    return { ...final, history: history_path, parent: result.parent ?? null };
  }
}
