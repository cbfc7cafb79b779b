import { Flags } from '@oclif/core';
import { DslabCommand } from '../../cli/base.js';
import { durationFlag, integerFlag, numberFlag } from '../../cli/flags.js';
import { client_timeout_ms_max, client_timeout_ms_min, run_duration_ms_max, run_duration_ms_min, seed_max } from '../../lib/control/api.js';
import { parsePercent } from '../../lib/util/units.js';
import { breakerAction } from '../../workloads/breaker/cli.js';
import { load_rate_per_s_max, load_rate_per_s_min } from '../../workloads/breaker/runtime.js';
import { formatBreakerLoadSummary } from '../../workloads/breaker/summary.js';

export default class BreakerLoad extends DslabCommand {
  static override workloads = ['breaker'];
  static override summary = 'Run an open-loop load on the breaker services and count what became of each request.';
  static override description =
    'Requests {type:"call", key} leave at --rate for --duration whether or not earlier ones were answered (open loop: overload shows), in turn to each service (or those --services names). At most 5,000 are in flight; past that a request is counted as dropped by the load, not queued. Each request is recorded with its outcome, as the service\'s reply says it: ok, fallback, failed, short_circuited (the breaker was open), rejected (the bulkhead was full), bad_request; or timeout when no reply came within --timeout. Prints progress every second, then the counts and latency (p50, p99, max) per outcome, and the counts per service.';
  static override examples = ['<%= config.bin %> breaker load --rate 100 --duration 3s', '<%= config.bin %> breaker load --rate 200 --duration 2s --bad 5% --services s1,s2'];
  static override flags = {
    rate: numberFlag({ default: 100, description: 'requests sent per second, in total', range: { min: load_rate_per_s_min, max: load_rate_per_s_max } }),
    duration: durationFlag({ default: '10s', description: 'how long to send requests', range: { min: run_duration_ms_min, max: run_duration_ms_max } }),
    // Checked as it is parsed, so a bad value is refused before any cluster is looked for.
    bad: Flags.custom<number>({ parse: async (input) => parsePercent(input, '--bad') * 100 })({ default: 0, description: 'percentage of requests marked bad, like 5% (the dependency refuses them; a breaker must not count them as its failures)', helpValue: 'PCT' }),
    services: Flags.string({ description: 'send only to these services, in turn (default: every service)', helpValue: 's1,s2' }),
    timeout: durationFlag({ default: '10s', description: 'a request unanswered this long is recorded as timeout', range: { min: client_timeout_ms_min, max: client_timeout_ms_max } }),
    seed: integerFlag({ description: 'seed for which requests are bad; random when not given', range: { min: 0, max: seed_max } }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(BreakerLoad);
    const args = {
      rate_per_s: flags.rate,
      duration_ms: flags.duration,
      bad_pct: flags.bad,
      ...(flags.services === undefined ? {} : { services: flags.services.split(',').map((s) => s.trim()).filter((s) => s !== '') }),
      timeout_ms: flags.timeout,
      ...(flags.seed === undefined ? {} : { seed: flags.seed }),
    };
    const { stats } = await this.followLoad(flags.cluster, breakerAction('load', args), breakerAction('load_stop'));
    this.log(formatBreakerLoadSummary(stats));
    return stats;
  }
}
