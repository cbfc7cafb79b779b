/**
 * The counter checker of g-counter and pn-counter: clients add integers (deltas, negative ones in
 * pn-counter) and read the total; after the run the faults heal and every client reads once more.
 *
 * Final reads (ok reads marked final): as in Maelstrom, each must equal the sum of the ok adds plus
 * the deltas of some subset of the unknown (indeterminate) adds; failed adds count for nothing.
 * So with ok adds summing to S and unknown adds u1…uk, a final read is acceptable when it is
 * S + (the sum of some of u1…uk). The set of such values is kept exactly as integer intervals
 * (unknown adds of 5 and -1 around S = 10 allow 9, 10, 14, 15, not 11), which is what Maelstrom
 * computes too; only the sign decides whether an unknown add can raise or lower the total.
 *
 * Reads during the run (ok, not final), which Maelstrom does not judge: the counter is only
 * eventually consistent, so such a read may miss any add, even one acknowledged long before; but it
 * can only count adds that had begun by the time it returned, and each at most once. So it must
 * equal the sum of some subset of the adds (ok or unknown) that began before it returned. A read
 * outside that set reports a total no combination of adds explains (counting an add twice, or one
 * not yet made), which makes the run invalid here although Maelstrom would pass it.
 *
 * Acceptable sets grow with each unknown add; past counter_intervals_max intervals the checker
 * keeps only their hull (lowest to highest total) and says so: reads outside it are still
 * certainly wrong, reads inside it are accepted.
 *
 * Verdict: invalid when a final read (or a read during the run) lies outside its acceptable set;
 * otherwise unknown when no final read succeeded; otherwise valid.
 */
import type { HistoryFileCheck } from '../../lib/history.js';
import { fileLines, textLines } from '../../lib/history-lines.js';
import { commonFields, parseAddReadLines, type AddReadFields } from '../set/history.js';

export interface CounterAdd extends AddReadFields {
  f: 'add';
  /** The delta: an integer, negative only in pn-counter. */
  value: number;
}

export interface CounterRead extends AddReadFields {
  f: 'read';
  /** The total read, when the outcome is ok. */
  result?: number;
  final: boolean;
}

export type CounterOperation = CounterAdd | CounterRead;

/** Inclusive integer range [lo, hi]. */
export type IntegerInterval = [number, number];

/** Most disjoint intervals an acceptable set keeps before it is widened to its hull. */
export const counter_intervals_max = 10_000;
/** How many wrong reads the explanation names. */
export const explanation_reads_max = 10;

export interface WrongRead {
  line: number | null;
  client: string;
  value: number;
  final: boolean;
  /** The acceptable values nearest to it, below and above (null: none on that side). */
  nearest_below: number | null;
  nearest_above: number | null;
}

export interface CounterCheckResult {
  result: 'valid' | 'invalid' | 'unknown';
  reason?: string;
  /** Sum of the ok adds. */
  definite_sum: number;
  /** Values a final read may take, as disjoint sorted intervals. */
  acceptable: IntegerInterval[];
  /** true when acceptable is a hull, not the exact set (too many unknown adds to keep it). */
  approximate: boolean;
  final_reads: number[];
  wrong_final_reads: WrongRead[];
  wrong_run_reads: WrongRead[];
  adds: { ok: number; unknown: number; fail: number };
  reads: { ok: number; final_ok: number; not_ok: number };
  text: string;
}

function isCounterInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

function toCounterOperation(record: unknown): CounterOperation {
  const { fields, f, record: r, final } = commonFields(record);
  if (f === 'add') {
    if (!isCounterInteger(r.value)) throw new Error('"value" of a counter add must be an integer (the delta)');
    return { ...fields, f, value: r.value };
  }
  if (fields.outcome === 'ok') {
    if (!isCounterInteger(r.result)) throw new Error('"result" of an ok counter read must be an integer');
    return { ...fields, f, result: r.result, final };
  }
  return { ...fields, f, final };
}

/** Parses a counter history (g-counter, pn-counter). Throws a UserError naming the line of the first bad line. */
export function parseCounterHistory(text: string): CounterOperation[] {
  return parseAddReadLines(textLines(text), toCounterOperation);
}

/** Reads and parses a counter history file a chunk at a time. */
export function readCounterHistoryFile(file: string): CounterOperation[] {
  return parseAddReadLines(fileLines(file), toCounterOperation);
}

/**
 * A set of integers as sorted, disjoint, non-adjacent intervals, widened to its hull once it would
 * need more than counter_intervals_max of them.
 */
export class IntegerSet {
  intervals: IntegerInterval[];
  approximate = false;

  constructor(value: number) {
    this.intervals = [[value, value]];
  }

  /** Adds every member plus delta: the set of totals when one more add may or may not count. */
  addOptional(delta: number): void {
    if (delta === 0) return;
    const shifted = this.intervals.map(([lo, hi]): IntegerInterval => [lo + delta, hi + delta]);
    const merged: IntegerInterval[] = [];
    let a = 0;
    let b = 0;
    const { intervals } = this;
    while (a < intervals.length || b < shifted.length) {
      const next = b >= shifted.length || (a < intervals.length && intervals[a]![0] <= shifted[b]![0]) ? intervals[a++]! : shifted[b++]!;
      const last = merged[merged.length - 1];
      if (last !== undefined && next[0] <= last[1] + 1) last[1] = Math.max(last[1], next[1]);
      else merged.push([next[0], next[1]]);
    }
    if (merged.length > counter_intervals_max) {
      this.intervals = [[merged[0]![0], merged[merged.length - 1]![1]]];
      this.approximate = true;
    } else this.intervals = merged;
  }

  has(value: number): boolean {
    const { intervals } = this;
    let lo = 0;
    let hi = intervals.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [from, to] = intervals[mid]!;
      if (value < from) hi = mid - 1;
      else if (value > to) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** The largest member below value and the smallest above it (null where there is none). */
  nearest(value: number): { below: number | null; above: number | null } {
    let below: number | null = null;
    let above: number | null = null;
    for (const [from, to] of this.intervals) {
      if (to < value) below = to;
      else if (from > value) {
        above = from;
        break;
      }
    }
    return { below, above };
  }
}

function wrongRead(read: CounterRead, set: IntegerSet): WrongRead {
  const { below, above } = set.nearest(read.result!);
  return { line: read.line ?? null, client: read.client, value: read.result!, final: read.final, nearest_below: below, nearest_above: above };
}

/** Checks a counter history; see the module comment. */
export function checkCounter(ops: readonly CounterOperation[]): CounterCheckResult {
  const adds = ops.filter((op): op is CounterAdd => op.f === 'add');
  const reads = ops.filter((op): op is CounterRead => op.f === 'read');
  const okReads = reads.filter((r) => r.outcome === 'ok');
  const finalReads = okReads.filter((r) => r.final);

  let definite_sum = 0;
  for (const add of adds) if (add.outcome === 'ok') definite_sum += add.value;
  const finalSet = new IntegerSet(definite_sum);
  for (const add of adds) if (add.outcome === 'unknown') finalSet.addOptional(add.value);
  const wrong_final_reads = finalReads.filter((r) => !finalSet.has(r.result!)).map((r) => wrongRead(r, finalSet));

  // Reads during the run, in order of return, against every add (but failed ones) begun by then.
  const candidates = adds.filter((a) => a.outcome !== 'fail').sort((x, y) => x.call_ms - y.call_ms);
  const runReads = okReads.filter((r) => !r.final).sort((x, y) => x.return_ms! - y.return_ms!);
  const runSet = new IntegerSet(0);
  const wrong_run_reads: WrongRead[] = [];
  let next = 0;
  for (const read of runReads) {
    while (next < candidates.length && candidates[next]!.call_ms <= read.return_ms!) runSet.addOptional(candidates[next++]!.value);
    if (!runSet.has(read.result!)) wrong_run_reads.push(wrongRead(read, runSet));
  }

  let result: CounterCheckResult['result'];
  let reason: string | undefined;
  if (wrong_final_reads.length > 0) {
    result = 'invalid';
    reason = `${wrong_final_reads.length} of ${finalReads.length} final ${finalReads.length === 1 ? 'read is' : 'reads are'} not a total the adds allow`;
  } else if (wrong_run_reads.length > 0) {
    result = 'invalid';
    reason = `${wrong_run_reads.length} of ${runReads.length} ${runReads.length === 1 ? 'read' : 'reads'} during the run ${wrong_run_reads.length === 1 ? 'is' : 'are'} not a total any combination of the adds begun by then gives`;
  } else if (finalReads.length === 0) {
    result = 'unknown';
    reason = 'no final read succeeded (the reads after the faults healed all failed or timed out), so the total was never judged';
  } else result = 'valid';

  const summary: CounterCheckResult = {
    result,
    ...(reason === undefined ? {} : { reason }),
    definite_sum,
    acceptable: finalSet.intervals.map(([lo, hi]): IntegerInterval => [lo, hi]),
    approximate: finalSet.approximate,
    final_reads: finalReads.map((r) => r.result!),
    wrong_final_reads,
    wrong_run_reads,
    adds: {
      ok: adds.filter((a) => a.outcome === 'ok').length,
      unknown: adds.filter((a) => a.outcome === 'unknown').length,
      fail: adds.filter((a) => a.outcome === 'fail').length,
    },
    reads: { ok: okReads.length, final_ok: finalReads.length, not_ok: reads.length - okReads.length },
    text: '',
  };
  summary.text = explainCounter(summary, runSet.approximate);
  return summary;
}

export function formatIntervals(intervals: readonly IntegerInterval[]): string {
  return intervals.map(([lo, hi]) => (lo === hi ? String(lo) : `${lo}..${hi}`)).join(', ');
}

function describeWrong(read: WrongRead): string {
  const near = [read.nearest_below, read.nearest_above].filter((v): v is number => v !== null).join(' or ');
  return `${read.client} read ${read.value}${read.line === null ? '' : ` (line ${read.line})`}${near ? `; nearest possible ${near}` : ''}`;
}

function explainCounter(s: CounterCheckResult, runApproximate: boolean): string {
  const lines: string[] = [s.result === 'valid' ? `valid: ${s.final_reads.length === 1 ? 'the final read is a total' : `all ${s.final_reads.length} final reads are totals`} the adds allow` : `${s.result}: ${s.reason}`];
  const allowed = `${s.definite_sum} from ${s.adds.ok} acknowledged ${s.adds.ok === 1 ? 'add' : 'adds'}` + (s.adds.unknown > 0 ? `, plus any of the ${s.adds.unknown} indeterminate` : '');
  lines.push(`  a final read may be ${formatIntervals(s.acceptable.slice(0, explanation_reads_max))}${s.acceptable.length > explanation_reads_max ? ` and ${s.acceptable.length - explanation_reads_max} more ranges` : ''} (${allowed}; failed adds count for nothing)`);
  if (s.approximate) lines.push(`  (too many indeterminate adds to keep every possible total: the range shown is the lowest to the highest, so a wrong total inside it goes unnoticed)`);
  const name = (list: WrongRead[]) => list.slice(0, explanation_reads_max).map(describeWrong).join('; ') + (list.length > explanation_reads_max ? `; and ${list.length - explanation_reads_max} more` : '');
  if (s.wrong_final_reads.length > 0) lines.push(`  wrong final reads: ${name(s.wrong_final_reads)}`);
  if (s.wrong_run_reads.length > 0) {
    lines.push(`  wrong reads during the run (Maelstrom does not judge these): ${name(s.wrong_run_reads)}`);
    if (runApproximate) lines.push(`  (reads during the run were judged against the lowest to highest possible total only)`);
  }
  lines.push(`  adds: ${s.adds.ok} ok, ${s.adds.unknown} indeterminate, ${s.adds.fail} failed; reads: ${s.reads.ok} ok (${s.reads.final_ok} final), ${s.reads.not_ok} failed or timed out`);
  return lines.join('\n');
}

/** What `dslab check FILE` runs on a g-counter or pn-counter history. */
export function checkCounterFile(file: string): HistoryFileCheck {
  const result = checkCounter(readCounterHistoryFile(file));
  return { result: result.result, text: result.text, details: { ...result } };
}
