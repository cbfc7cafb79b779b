/**
 * The breaker checker's verdict on a cluster's record (src/systems/breaker/trace-read.ts →
 * checker.ts), in words and figures: what `dslab breaker check` prints and `down` says.
 */
import type { HistoryFileCheck } from '../../lib/plugin.js';
import { describeOutcomeCounts } from '../../lib/load-stats.js';
import { checkBreaker } from '../../systems/breaker/checker.js';
import type { BreakerRecord } from '../../systems/breaker/record.js';
import { breaker_outcomes, readBreakerRecord, type TracedBreakerRecord } from '../../systems/breaker/trace-read.js';

/** Seconds from the record's start, as the checker's texts say times: "12.3 s". */
function atSeconds(record: BreakerRecord, at_ms: number): string {
  return `${((at_ms - record.start_ms) / 1000).toFixed(1)} s`;
}

/** What the record holds, in figures: requests by outcome, calls reaching the dependency, breaker changes. */
export function recordFigures(record: TracedBreakerRecord): string[] {
  const counts: Record<string, number> = Object.fromEntries(breaker_outcomes.map((o) => [o, 0]));
  for (const request of record.requests) counts[request.outcome]!++;
  const lines = [
    `${record.requests.length} requests over ${((record.end_ms - record.start_ms) / 1000).toFixed(1)} s: ${describeOutcomeCounts(counts)}`,
    `${record.calls.length} calls reached ${record.dependency}${record.requests.length > 0 ? ` (${(record.calls.length / record.requests.length).toFixed(2)} per request)` : ''}, ${record.calls.filter((c) => c.result === 'unanswered').length} unanswered`,
  ];
  // A breaker's changes: each report whose state differs from the node's last one.
  const last = new Map<string, string>();
  const changes: string[] = [];
  for (const state of record.states) {
    const before = last.get(state.node) ?? 'closed';
    last.set(state.node, state.breaker);
    if (state.breaker !== before) changes.push(`${state.node} ${state.breaker.replace('_', '-')} at ${atSeconds(record, state.at_ms)}`);
  }
  lines.push(changes.length === 0 ? 'no breaker left closed' : `breaker changes: ${changes.join(', ')}`);
  if (record.faults.length > 0) lines.push(`application faults on ${record.dependency}: ${record.faults.map((f) => `${f.hang ? 'hang' : f.errors_pct || f.latency_ms ? `errors ${f.errors_pct}% latency ${f.latency_ms} ms` : 'cleared'} at ${atSeconds(record, f.at_ms)}`).join(', ')}`);
  if (record.omitted) lines.push(`left out (past the reader's bound): ${record.omitted.requests} requests, ${record.omitted.calls} calls, ${record.omitted.states} state reports`);
  return lines;
}

/** The checker's own figures that are plain numbers or words, "name value". */
function checkerFigures(figures: unknown): string[] {
  if (typeof figures !== 'object' || figures === null) return [];
  const plain = Object.entries(figures).filter(([, v]) => typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean');
  return plain.length === 0 ? [] : [plain.map(([k, v]) => `${k.replaceAll('_', ' ')} ${String(v)}`).join(', ')];
}

/** The verdict on a record, as `dslab breaker check` and `down` say it. */
export function breakerVerdict(record: TracedBreakerRecord): HistoryFileCheck {
  const check = checkBreaker(record);
  const head = check.ok
    ? `breaker check: ok, no violation`
    : `breaker check: VIOLATED, ${check.violations.length} violation${check.violations.length === 1 ? '' : 's'}`;
  const lines = [head, ...check.violations.map((v) => `  - ${v.property}: ${v.text}`), ...recordFigures(record).map((l) => `  ${l}`), ...checkerFigures(check.figures).map((l) => `  ${l}`)];
  return { result: check.ok ? 'valid' : 'invalid', text: lines.join('\n'), details: { ...check } };
}

/** The verdict on the cluster whose folder is `dir`; null when its trace holds no request (nothing ran). */
export function checkBreakerCluster(dir: string): HistoryFileCheck | null {
  const record = readBreakerRecord(dir);
  return record.requests.length === 0 ? null : breakerVerdict(record);
}
