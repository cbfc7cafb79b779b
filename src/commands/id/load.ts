import { Flags } from '@oclif/core';
import path from 'node:path';
import { DslabCommand } from '../../cli/base.js';
import { durationFlag, integerFlag, numberFlag } from '../../cli/flags.js';
import { client_timeout_ms_max, client_timeout_ms_min, run_duration_ms_max, run_duration_ms_min } from '../../lib/control/api.js';
import { generate_count_max } from '../../systems/snowflake/options.js';
import { generate_timeout_ms_default, id_load_clients_max, id_load_rate_per_s_max, id_load_rate_per_s_min, runIdLoad, controlCluster } from '../../workloads/ids/client.js';
import { formatLoad } from '../../workloads/ids/format.js';

export default class IdLoad extends DslabCommand {
  static override workloads = ['ids', 'unique-ids'];
  static override summary = 'Ask the workers for ids for a while, record the history and check it.';
  static override description =
    "Each of --clients clients sends `generate` (with --count, batches) to a random worker at its share of --rate, one request at a time. The history (--history) records every request's real-time window and answer, the number each worker reported holding, and the skews, pauses and crashes meanwhile; the same checks as `dslab id check` run at the end. Refusals (a worker with no number, a clock stepped back) count as refused, not as violations.";
  static override examples = ['<%= config.bin %> id load --clients 4 --rate 200 --duration 2s --history ids.jsonl'];
  static override flags = {
    clients: integerFlag({ default: 4, description: 'concurrent clients', range: { min: 1, max: id_load_clients_max } }),
    rate: numberFlag({ default: 100, description: 'requests per second, in total', range: { min: id_load_rate_per_s_min, max: id_load_rate_per_s_max } }),
    duration: durationFlag({ default: '10s', description: 'how long to send requests', range: { min: run_duration_ms_min, max: run_duration_ms_max } }),
    count: integerFlag({ description: 'ids per request (a batch); default: one, as Maelstrom asks', range: { min: 1, max: generate_count_max } }),
    history: Flags.string({ description: 'write the history (JSONL) here, for `dslab id check`', helpValue: 'FILE' }),
    timeout: durationFlag({ default: `${generate_timeout_ms_default}ms`, description: 'how long each request may wait for its answer', range: { min: client_timeout_ms_min, max: client_timeout_ms_max } }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(IdLoad);
    const history_path = flags.history ? path.resolve(flags.history) : null;
    const summary = await runIdLoad(controlCluster(this.client(flags.cluster)), { clients: flags.clients, rate_per_s: flags.rate, duration_ms: flags.duration, count: flags.count, history_path, timeout_ms: flags.timeout });
    for (const line of formatLoad(summary)) this.log(line);
    if (history_path) this.log(`history: ${history_path} (check it again with: ${this.program()} id check ${flags.history})`);
    if (!summary.check.valid) process.exitCode = 1;
    return summary;
  }
}
