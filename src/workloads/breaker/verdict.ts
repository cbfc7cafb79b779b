/**
 * The breaker checker's verdict on a cluster's record (src/systems/breaker/trace-read.ts →
 * checker.ts), in words and figures: what `dslab breaker check` prints and `down` says.
 */
import type { HistoryFileCheck } from '../../lib/plugin.js';
import { describeOutcomeCounts } from '../../lib/load-stats.js';
import { checkBreaker, type BreakerFigures } from '../../systems/breaker/checker.js';
import { readBreakerRecord, type TracedBreakerRecord } from '../../systems/breaker/trace-read.js';

/** Seconds from the record's start, as the checker's texts say times: "12.3 s". */
function atSeconds(record: TracedBreakerRecord, at_ms: number): string {
  return `${((at_ms - record.start_ms) / 1000).toFixed(1)} s`;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The run in figures: the whole, each service (the checker's figures), each outage, the faults injected. */
export function verdictFigures(record: TracedBreakerRecord, figures: BreakerFigures): string[] {
  const lines = [`${record.requests.length} requests and ${record.calls.length} calls to ${record.dependency} over ${seconds(record.end_ms - record.start_ms)} of trace`];
  for (const [service, fig] of Object.entries(figures.services)) {
    const requests = Object.values(fig.requests).reduce((a, b) => a + b, 0);
    const per_request = requests > 0 ? ` (${(fig.calls / requests).toFixed(2)} per request)` : '';
    const open = fig.opens === 0 ? 'never opened' : `opened ${fig.opens} time${fig.opens === 1 ? '' : 's'}, open ${seconds(fig.state_ms.open)}, half-open ${seconds(fig.state_ms.half_open)}`;
    const short = fig.short_circuit_p99_ms === null ? '' : `, short-circuit p99 ${fig.short_circuit_p99_ms} ms`;
    lines.push(`${service}: ${requests} requests (${describeOutcomeCounts(fig.requests)}), ${fig.calls} calls${per_request}; ${open}${short}; at most ${fig.max_in_flight} calls in flight`);
  }
  for (const outage of figures.outages) {
    const allowed = outage.allowed_calls === null ? 'no retry budget' : `the budget allows ${outage.allowed_calls}`;
    lines.push(`${outage.service} during the outage ${atSeconds(record, outage.from_ms)} to ${atSeconds(record, outage.to_ms)}: ${outage.requests} requests made ${outage.calls} calls (${outage.calls_per_request.toFixed(2)} per request; ${allowed})`);
  }
  if (record.faults.length > 0) {
    const fault = (f: TracedBreakerRecord['faults'][number]) => (f.hang ? 'hang' : f.errors_pct > 0 || f.latency_ms > 0 ? [f.errors_pct > 0 ? `errors ${f.errors_pct}%` : '', f.latency_ms > 0 ? `latency ${f.latency_ms} ms` : ''].filter(Boolean).join(' ') : 'cleared');
    lines.push(`application faults on ${record.dependency}: ${record.faults.map((f) => `${fault(f)} at ${atSeconds(record, f.at_ms)}`).join(', ')}`);
  }
  if (record.omitted) lines.push(`left out past the reader's bound: ${record.omitted.requests} requests, ${record.omitted.calls} calls, ${record.omitted.states} state reports`);
  return lines;
}

/** The verdict on a record, as `dslab breaker check` and `down` say it. */
export function breakerVerdict(record: TracedBreakerRecord): HistoryFileCheck {
  const check = checkBreaker(record);
  const count = check.violations.length;
  const head = check.ok ? 'breaker check: ok, no violation' : `breaker check: VIOLATED, ${count} violation${count === 1 ? '' : 's'}`;
  const lines = [head, ...check.violations.map((v) => `  - ${v.property}: ${v.text}`), ...verdictFigures(record, check.figures).map((l) => `  ${l}`)];
  return { result: check.ok ? 'valid' : 'invalid', text: lines.join('\n'), details: { ...check, ...(record.omitted ? { omitted: record.omitted } : {}) } };
}

/** The verdict on the cluster whose folder is `dir`; null when its trace holds no request (nothing ran). */
export function checkBreakerCluster(dir: string): HistoryFileCheck | null {
  const record = readBreakerRecord(dir);
  return record.requests.length === 0 ? null : breakerVerdict(record);
}
