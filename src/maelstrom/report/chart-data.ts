/**
 * What the report's charts draw, boiled down from the run: a history can hold
 * hundreds of thousands of operations, and the page carries a bounded sample
 * of them, not every point. Pure functions; the page's script draws the result.
 */
import { hasFinalReads, rpcTimeoutMs } from '../timing.js';
import type { FaultSpan, RunHistoryEntry, TestRunResult } from '../run/result.js';

/** Ok operations drawn in the latency chart; of more, this many spread evenly over them in call order. */
export const latency_ok_points_max = 4000;
/** Operations that were not ok drawn in the latency chart: all of them up to this many, sampled evenly past it (a run where every request fails would otherwise carry its whole history). */
export const latency_not_ok_points_max = 4000;
/** The smallest latency drawn, in ms: the chart's y axis is logarithmic, and an answer within the same millisecond as its call (times are whole ms) would be log(0). */
export const latency_floor_ms = 0.5;

export const fault_colours: Record<FaultSpan['kind'], string> = {
  partition: 'rgba(106, 27, 154, 0.16)',
  kill: 'rgba(78, 52, 46, 0.22)',
  pause: 'rgba(245, 127, 23, 0.22)',
  latency: 'rgba(21, 101, 192, 0.12)',
  other: 'rgba(96, 125, 139, 0.16)',
};

/** A fault drawn as a shaded band across both charts; seconds since the run began. */
export interface ChartBand {
  kind: FaultSpan['kind'];
  label: string;
  from_s: number;
  to_s: number;
  colour: string;
}

export interface ChartData {
  /** Aligned columns for uPlot: call times in s, and per outcome the latency in ms or null where the point is another outcome's. */
  latency: { x: number[]; ok: (number | null)[]; fail: (number | null)[]; unknown: (number | null)[] };
  /** Operations in the history, and of them drawn, per outcome class. */
  latency_counts: { ok: number; ok_drawn: number; not_ok: number; not_ok_drawn: number };
  /** Where an operation that got no answer is drawn: at its client's timeout. */
  timeout_ms: number;
  throughput: { x: number[]; ok: number[]; fail: number[]; unknown: number[] };
  bands: ChartBand[];
  /** When the time limit ended the main phase, and when the run ended, in s. */
  main_phase_end_s: number;
  end_s: number;
  /** Whether healing and final reads followed the main phase. */
  final_reads: boolean;
}

/** At most `max` of `items`, spread evenly over them (first kept), in their order. */
export function evenSample<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items];
  if (max <= 0) return [];
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(items[Math.floor((i * items.length) / max)]!);
  return out;
}

/** An operation's latency as drawn: to its answer, or to its client's timeout when none came; never below the log axis' floor. */
function drawnLatencyMs(entry: RunHistoryEntry, timeout_ms: number): number {
  const latency = entry.return_ms === null ? timeout_ms : entry.return_ms - entry.call_ms;
  return Math.max(latency_floor_ms, latency);
}

export function chartData(result: TestRunResult, history: readonly RunHistoryEntry[]): ChartData {
  const timeout_ms = rpcTimeoutMs(result.plan.workload, result.plan.latency_ms);
  const byCall = (a: RunHistoryEntry, b: RunHistoryEntry) => a.call_ms - b.call_ms;
  const ok = history.filter((e) => e.outcome === 'ok').sort(byCall);
  const notOk = history.filter((e) => e.outcome !== 'ok').sort(byCall);
  const drawn = [...evenSample(ok, latency_ok_points_max), ...evenSample(notOk, latency_not_ok_points_max)].sort(byCall);
  const latency: ChartData['latency'] = { x: [], ok: [], fail: [], unknown: [] };
  for (const entry of drawn) {
    latency.x.push(entry.call_ms / 1000);
    const y = drawnLatencyMs(entry, timeout_ms);
    latency.ok.push(entry.outcome === 'ok' ? y : null);
    latency.fail.push(entry.outcome === 'fail' ? y : null);
    latency.unknown.push(entry.outcome === 'unknown' ? y : null);
  }
  const end_s = result.end_ms / 1000;
  // Every second of the run gets a value: a second with no operation is a zero, not a line drawn across the gap.
  const bySecond = new Map(result.timeline.map((s) => [s.second, s]));
  const last = result.timeline.reduce((max, s) => Math.max(max, s.second), Math.floor(end_s));
  const seconds = Array.from({ length: last + 1 }, (_, second) => bySecond.get(second) ?? { second, ok: 0, fail: 0, unknown: 0 });
  return {
    latency,
    latency_counts: { ok: ok.length, ok_drawn: Math.min(ok.length, latency_ok_points_max), not_ok: notOk.length, not_ok_drawn: Math.min(notOk.length, latency_not_ok_points_max) },
    timeout_ms,
    throughput: { x: seconds.map((s) => s.second), ok: seconds.map((s) => s.ok), fail: seconds.map((s) => s.fail), unknown: seconds.map((s) => s.unknown) },
    bands: result.faults.map((f) => ({ kind: f.kind, label: f.description, from_s: f.start_ms / 1000, to_s: (f.end_ms ?? result.end_ms) / 1000, colour: fault_colours[f.kind] })),
    main_phase_end_s: result.main_phase_end_ms / 1000,
    end_s,
    final_reads: hasFinalReads(result.plan.workload),
  };
}

const script_escapes: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };

/**
 * A value as JSON for a <script type="application/json"> block: with < > &
 * written as \u escapes, no text a node put in a message (`</script>`, `<!--`)
 * can end the block or start markup, and JSON.parse reads the same value back.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => script_escapes[c]!);
}
