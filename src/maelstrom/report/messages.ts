/**
 * The message diagram around each failure point: which trace messages it
 * draws (pure, from records already read) and reading just those windows of
 * a trace file, however large the file.
 */
import { type Arrow, lamportSvg } from '../../lib/report/lamport.js';
import { countOf, escapeXml, nodeTest, relativeMs } from '../../lib/report/markup.js';
import { scanTraceFrom, type TraceRecord } from '../../lib/report/trace-file.js';
import type { FailurePoint, TestRunResult } from '../run/result.js';

/** Failure points that get a diagram; the rest are listed in words. */
export const failure_diagrams_max = 6;
/** A diagram draws messages this long before and after its failure point. */
export const failure_window_ms = 1000;
/** Messages drawn in one diagram: the failure's endpoints' nearest first, then the others nearest in time. */
export const diagram_arrows_max = 120;
/** Records read on each side of a failure point: enough to choose the drawn ones from, bounded so a busy trace cannot fill memory. */
export const window_records_per_side_max = 4000;
/** Characters of a message's body shown in its tooltip. */
export const message_title_chars_max = 400;

/** The epoch-ms window [from, to] of the trace drawn around a failure point. */
export function failureWindow(result: Pick<TestRunResult, 'started_at_ms'>, failure: FailurePoint): { from_ms: number; to_ms: number } {
  const at = result.started_at_ms + failure.at_ms;
  return { from_ms: at - failure_window_ms, to_ms: at + failure_window_ms };
}

/** The failure points drawn: the first failure_diagrams_max of them, in the order the result lists them (most important first). */
export const drawnFailures = (result: Pick<TestRunResult, 'failures'>): FailurePoint[] => result.failures.slice(0, failure_diagrams_max);

/**
 * The records around a failure point, read from a trace file: the last
 * window_records_per_side_max before it and the first as many after it,
 * within failureWindow.
 */
export function readFailureWindow(file: string, result: Pick<TestRunResult, 'started_at_ms'>, failure: FailurePoint): TraceRecord[] {
  const { from_ms, to_ms } = failureWindow(result, failure);
  const at = result.started_at_ms + failure.at_ms;
  const before: TraceRecord[] = [];
  const after: TraceRecord[] = [];
  scanTraceFrom(file, from_ms, (record) => {
    if (record.t > to_ms) return false;
    if (record.t < at) {
      before.push(record);
      // Halve the backlog only now and then, so keeping the last ones costs no more than reading them.
      if (before.length >= 2 * window_records_per_side_max) before.splice(0, before.length - window_records_per_side_max);
      return true;
    }
    after.push(record);
    return after.length < window_records_per_side_max;
  });
  return [...before.slice(-window_records_per_side_max), ...after];
}

/** The trace records for every drawn failure point, each read once where windows overlap. */
export function readFailureWindows(file: string, result: Pick<TestRunResult, 'started_at_ms' | 'failures'>): TraceRecord[] {
  const seen = new Set<string>();
  const records: TraceRecord[] = [];
  for (const failure of drawnFailures(result)) {
    for (const record of readFailureWindow(file, result, failure)) {
      const key = JSON.stringify(record);
      if (seen.has(key)) continue;
      seen.add(key);
      records.push(record);
    }
  }
  return records.sort((a, b) => a.t - b.t);
}

/**
 * The messages a failure's diagram draws, in time order: of the records in
 * its window, those to or from one of the failure's endpoints nearest the
 * failure first, then the others nearest it, diagram_arrows_max in all.
 */
export function diagramMessages(records: readonly TraceRecord[], result: Pick<TestRunResult, 'started_at_ms'>, failure: FailurePoint): { drawn: TraceRecord[]; in_window: number } {
  const { from_ms, to_ms } = failureWindow(result, failure);
  const at = result.started_at_ms + failure.at_ms;
  const endpoints = new Set(failure.endpoints);
  const inWindow = records.map((record, i) => ({ record, i })).filter(({ record }) => record.t >= from_ms && record.t <= to_ms);
  const touches = (r: TraceRecord) => endpoints.has(r.msg.src) || endpoints.has(r.msg.dest);
  const chosen = [...inWindow]
    .sort((a, b) => Number(touches(b.record)) - Number(touches(a.record)) || Math.abs(a.record.t - at) - Math.abs(b.record.t - at) || a.i - b.i)
    .slice(0, diagram_arrows_max)
    .sort((a, b) => a.record.t - b.record.t || a.i - b.i);
  return { drawn: chosen.map((c) => c.record), in_window: inWindow.length };
}

/** A message's tooltip: when, who to whom, its fate and its body (cut to message_title_chars_max). */
function messageTitle(record: TraceRecord, origin_ms: number): string {
  const body = JSON.stringify(record.msg.body);
  const shown = body.length > message_title_chars_max ? `${body.slice(0, message_title_chars_max - 1)}…` : body;
  return `${relativeMs(record.t - origin_ms)} ${record.msg.src}→${record.msg.dest} (${record.fate}): ${shown}`;
}

function messageLabel(record: TraceRecord): string {
  const { body } = record.msg;
  const label = body.type === 'error' && body.code !== undefined ? `error ${String(body.code)}` : body.type;
  return record.fate === 'duplicated' ? `${label} (dup)` : label;
}

/** One failure point's section: what went wrong, and the diagram of the messages around it. */
export function failureSection(records: readonly TraceRecord[], result: TestRunResult, failure: FailurePoint, index: number): string {
  const id = `failure-${index + 1}`;
  const heading = `<h3 id="${id}">${index + 1}. ${escapeXml(failure.description)} <small>at ${relativeMs(failure.at_ms)}${failure.endpoints.length ? `, ${escapeXml(failure.endpoints.join(', '))}` : ''}</small></h3>`;
  const { drawn, in_window } = diagramMessages(records, result, failure);
  if (drawn.length === 0) return `${heading}<p class="note">The trace has no messages within ${failure_window_ms} ms of this point.</p>`;
  const isNode = nodeTest(result);
  const endpoints = new Set(failure.endpoints);
  const arrows: Arrow[] = drawn.map((record) => {
    const { src, dest } = record.msg;
    // Messages between the failure's own endpoints stand out; node-to-node traffic is blue, the rest (clients, services) dark.
    const kind: Arrow['kind'] = endpoints.has(src) && endpoints.has(dest) ? 'bad' : isNode(src) && isNode(dest) ? 'node' : 'op';
    return { t: record.t, src, dest, label: messageLabel(record), title: messageTitle(record, result.started_at_ms), kind, dropped: record.fate.startsWith('dropped') };
  });
  const omitted = in_window - drawn.length;
  return (
    heading +
    `<p class="legend">${countOf(drawn.length, 'message')} from ${relativeMs(drawn[0]!.t - result.started_at_ms)} to ${relativeMs(drawn.at(-1)!.t - result.started_at_ms)}` +
    `${omitted > 0 ? ` (${countOf(omitted, 'other message')} within ${failure_window_ms} ms left out, the failure's endpoints' and the nearest kept)` : ''}. ` +
    `Pink: between the failure's endpoints; blue: between nodes; dark: with clients and services; dashed red: dropped by the network. Hover an arrow for the whole message.</p>` +
    lamportSvg(arrows, [], result.started_at_ms, id, result.nodes, { first: failure.endpoints, marks: [{ t: result.started_at_ms + failure.at_ms, label: 'failure' }] })
  );
}
