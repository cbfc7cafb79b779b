/**
 * The moments of a run worth a message diagram: where a lost element was
 * added, where a final read came back wrong, where an id was handed out twice,
 * where an echo came back different, where a kafka anomaly's first example
 * happened. Read from the checker's result and the
 * history; at most failure_points_max of them.
 */
import type { HistoryFileCheck } from '../../lib/plugin.js';
import type { KafkaAnomaly } from '../../workloads/kafka/checker.js';
import type { MaelstromWorkload } from '../options.js';
import type { FailurePoint, RunHistoryEntry } from './result.js';

export const failure_points_max = 5;

function describeValue(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

export function failurePoints(workload: MaelstromWorkload, check: HistoryFileCheck, entries: readonly RunHistoryEntry[]): FailurePoint[] {
  if (check.result === 'valid') return [];
  const points: FailurePoint[] = [];
  const details = check.details;
  if (workload === 'broadcast' || workload === 'g-set') {
    const lost = Array.isArray(details.lost) ? (details.lost as unknown[]) : [];
    for (const element of lost.slice(0, failure_points_max)) {
      const key = describeValue(element);
      const add = entries.find((e) => e.f === 'add' && describeValue(e.value) === key);
      if (!add) continue;
      points.push({ at_ms: add.call_ms, description: `${key} was lost: ${add.client} added it through ${add.node} (${add.outcome}), and the final reads did not hold it`, endpoints: [add.node, add.client] });
    }
  } else if (workload === 'g-counter' || workload === 'pn-counter') {
    const wrong = Array.isArray(details.wrong_final_reads) ? (details.wrong_final_reads as { line: number | null; value: number }[]) : [];
    for (const read of wrong.slice(0, failure_points_max)) {
      // History lines count the header as line 1.
      const entry = read.line !== null ? entries[read.line - 2] : undefined;
      if (!entry) continue;
      points.push({ at_ms: entry.call_ms, description: `${entry.node} answered a final read with ${read.value}, a value no combination of the adds allows`, endpoints: [entry.node, entry.client] });
    }
  } else if (workload === 'unique-ids') {
    const first = new Map<string, RunHistoryEntry>();
    for (const entry of entries) {
      if (entry.outcome !== 'ok' || points.length >= failure_points_max) continue;
      const id = describeValue(entry.result);
      const earlier = first.get(id);
      if (!earlier) first.set(id, entry);
      else points.push({ at_ms: entry.call_ms, description: `${entry.node} handed out ${id}, which ${earlier.node} had handed out before`, endpoints: [entry.node, earlier.node, entry.client] });
    }
  } else if (workload === 'echo') {
    for (const entry of entries) {
      if (points.length >= failure_points_max) break;
      if (entry.outcome === 'ok' && describeValue(entry.result) !== describeValue(entry.value)) {
        points.push({ at_ms: entry.call_ms, description: `${entry.node} answered echo ${describeValue(entry.value)} with ${describeValue(entry.result)}`, endpoints: [entry.node, entry.client] });
      }
    }
  } else if (workload === 'txn-list-append' || workload === 'txn-rw-register') {
    // Each anomaly type's first example, at its earliest transaction.
    const anomalies = (details.anomalies ?? {}) as Record<string, { count: number; lines?: (number | null)[]; examples?: string[] }>;
    for (const [type, report] of Object.entries(anomalies)) {
      if (points.length >= failure_points_max) break;
      const involved = (report.lines ?? []).flatMap((line) => (line !== null && entries[line] ? [entries[line]] : []));
      if (involved.length === 0) continue;
      const first = involved.reduce((a, b) => (b.call_ms < a.call_ms ? b : a));
      points.push({ at_ms: first.call_ms, description: `${type}: ${(report.examples?.[0] ?? '').split('\n')[0]}`, endpoints: [...new Set(involved.flatMap((e) => [e.node, e.client]))] });
    }
  } else if (workload === 'kafka') {
    // Each kind's first example that is about one operation, at that operation.
    const anomalies = Array.isArray(details.anomalies) ? (details.anomalies as KafkaAnomaly[]) : [];
    for (const anomaly of anomalies) {
      if (points.length >= failure_points_max) break;
      const index = anomaly.example_ops.findIndex((op) => op !== null);
      const entry = index >= 0 ? entries[anomaly.example_ops[index]!] : undefined;
      if (!entry) continue;
      points.push({ at_ms: entry.call_ms, description: `${anomaly.kind}: ${anomaly.examples[index]}`, endpoints: [entry.node, entry.client] });
    }
  } else if (workload === 'lin-kv') {
    const ops = (details.violation as { ops?: { client: string; call_ms: number }[] } | undefined)?.ops ?? [];
    const first = ops[0];
    if (first) {
      const entry = entries.find((e) => e.client === first.client && e.call_ms === first.call_ms);
      points.push({ at_ms: first.call_ms, description: check.text.split('\n')[0]!, endpoints: entry ? [entry.node, entry.client] : [first.client] });
    }
  }
  return points;
}
