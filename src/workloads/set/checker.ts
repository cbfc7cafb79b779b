/**
 * The set checker of broadcast and g-set: clients add single elements (broadcast's messages) and
 * read the whole set; after the run the faults heal and every client reads once more (final reads).
 * It follows the meanings of Jepsen's set-full analysis, which Maelstrom uses for both workloads,
 * with three differences, each noted where it happens: duplicates are reported (set-full's test for
 * them can never be true), elements read before any add of them began are reported, and a run with
 * no successful final read is unknown.
 *
 * Per element e (elements are compared as JSON values; several adds of one value are one element):
 * - its adds: every add of e, whatever the outcome; first_call is when the earliest began.
 *   An element is *attempted* when some add of it exists, *acknowledged* when one came back ok.
 * - the reads that can tell anything about e are the ok reads that returned at or after first_call
 *   (a read that ended before e's add began cannot have been expected to hold it). Among them, reads
 *   are ordered by when they began (call_ms, then their order in the history).
 * - known: the earliest moment e is known to exist: the return of its first ok add, or the return
 *   of the first of those reads that held it, whichever is earlier; none if neither happened.
 * - last present / last absent: the last of those reads (by start) that held e / did not hold it.
 * - *stable*: some read held e and no read that began after the last one that held it missed it.
 * - *lost*: e was known, the last read missing it began strictly after e was known, and it began
 *   after the last read that held e (if any). A missing read concurrent with the add does not make
 *   e lost: that read may have happened before the add took effect.
 * - *never-read*: neither stable nor lost (no read began after e was known, or e was never known:
 *   an add that failed or timed out and that no read ever saw).
 * - *stale*: stable, but a read that began after e was known missed it (set-full counts only a
 *   staleness of at least 1 ms, an artefact of rounding; here any positive delay counts).
 * - stable latency: from known to the start of the last read that missed e (0 if none did, or if
 *   that read began before known). Lost latency: from known to the start of the last read that held
 *   e (0 if none did): how long e was visible before it vanished.
 * - *duplicated*: e appears more than once in one read's result; its count is the most times it
 *   appeared in any one read. Maelstrom's set-full means to report these but compares each count
 *   with "below 1", so it never does; dslab reports them and they make the run invalid.
 * - *unexpected*: e was in a read that returned before any add of e began (a value nobody had
 *   asked to add yet, or never did). Set-full ignores these; they make the run invalid here.
 *
 * Verdict: invalid when an element was duplicated or unexpected; otherwise unknown when no read
 * succeeded or no final read did; otherwise invalid when an element was lost; otherwise unknown
 * when no element became stable (nothing was added, or nothing ever seen); otherwise valid.
 */
import type { HistoryFileCheck } from '../../lib/history.js';
import { formatDurationMs } from '../../lib/util/units.js';
import { fileLines, textLines } from '../../lib/history-lines.js';
import { commonFields, parseAddReadLines, type AddReadFields } from './history.js';

/** An element as recorded in the history: any JSON value (broadcast and g-set send integers). */
export type SetElement = unknown;

export interface SetAdd extends AddReadFields {
  f: 'add';
  value: SetElement;
}

export interface SetRead extends AddReadFields {
  f: 'read';
  /** The elements read, when the outcome is ok. */
  result?: SetElement[];
  /** Read after the faults healed. */
  final: boolean;
}

export type SetOperation = SetAdd | SetRead;

export type ElementOutcome = 'stable' | 'lost' | 'never-read';

/** What the checker found about one attempted element. */
export interface ElementResult {
  element: SetElement;
  outcome: ElementOutcome;
  acknowledged: boolean;
  /** null when the element was never known to exist. */
  known_ms: number | null;
  stale: boolean;
  /** Set for stable elements. */
  stable_latency_ms: number | null;
  /** Set for lost elements. */
  lost_latency_ms: number | null;
  /** Whether some read (ok, returned at or after the first add began) held the element. */
  seen: boolean;
}

/** Latencies at the quantiles set-full reports. */
export interface LatencyQuantiles {
  '0': number;
  '0.5': number;
  '0.95': number;
  '0.99': number;
  '1': number;
}
export const latency_quantile_points = [0, 0.5, 0.95, 0.99, 1] as const;

export interface Duplicate {
  element: SetElement;
  /** The most times the element appeared in one read. */
  count: number;
  /** History line of the first read where it appeared more than once, when known. */
  line: number | null;
}

export interface Unexpected {
  element: SetElement;
  /** History line of the first read that held it before any add of it began, when known. */
  line: number | null;
}

export interface SetCheckResult {
  result: 'valid' | 'invalid' | 'unknown';
  /** Why the result is not valid, in one sentence. */
  reason?: string;
  attempt_count: number;
  acknowledged_count: number;
  stable_count: number;
  lost_count: number;
  never_read_count: number;
  stale_count: number;
  duplicated_count: number;
  unexpected_count: number;
  /** Elements sorted as sortElements sorts them. */
  lost: SetElement[];
  never_read: SetElement[];
  stale: SetElement[];
  duplicated: Duplicate[];
  unexpected: Unexpected[];
  /** The stale elements that took longest to become stable, longest first. */
  worst_stale: { element: SetElement; stable_latency_ms: number }[];
  /** null when no element was stable / lost. */
  stable_latencies_ms: LatencyQuantiles | null;
  lost_latencies_ms: LatencyQuantiles | null;
  reads: { ok: number; final_ok: number; not_ok: number };
  /** The verdict and its reasons in words, one screen at most. */
  text: string;
}

export interface SetAnalysis {
  /** One per attempted element, in the order of their first add in the history. */
  elements: ElementResult[];
  duplicated: Duplicate[];
  unexpected: Unexpected[];
  reads: { ok: number; final_ok: number; not_ok: number };
}

export interface SetCheckOptions {
  /** What an element is called in the explanation: "broadcast" for broadcast; default "element". */
  noun?: string;
}

/** Integer elements up to this many per add (plus dense_elements_min) are indexed by an array instead of a map. */
const dense_elements_per_add = 4;
const dense_elements_min = 1024;
/** How many stale elements the result details. */
export const worst_stale_count = 8;
/** How many elements a sentence of the explanation names before "and N more". */
export const explanation_elements_max = 20;

/** Identity of an element: numbers by value, anything else by its JSON text (which cannot equal a number). */
function elementKey(value: SetElement): number | string {
  return typeof value === 'number' ? value : JSON.stringify(value);
}

/** Numbers in numeric order before anything else, which goes in the order of its JSON text. */
export function compareElements(a: SetElement, b: SetElement): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The element in words: its JSON text. */
export function formatElement(value: SetElement): string {
  return JSON.stringify(value) ?? String(value);
}

/** Set-full's quantiles: the element at floor(n × point), the last for point 1. */
export function latencyQuantiles(values: readonly number[]): LatencyQuantiles | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const at = (point: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * point))]!;
  return { '0': at(0), '0.5': at(0.5), '0.95': at(0.95), '0.99': at(0.99), '1': at(1) };
}

function toSetOperation(record: unknown): SetOperation {
  const { fields, f, record: r, final } = commonFields(record);
  if (f === 'add') {
    if (!('value' in r) || r.value === undefined) throw new Error('an add needs "value": the element added');
    return { ...fields, f, value: r.value };
  }
  const { result } = r;
  if (fields.outcome === 'ok') {
    if (!Array.isArray(result)) throw new Error('"result" of an ok read must be an array of the elements read');
    return { ...fields, f, result, final };
  }
  return { ...fields, f, final };
}

/** Parses a set history (broadcast, g-set). Throws a UserError naming the line of the first bad line. */
export function parseSetHistory(text: string): SetOperation[] {
  return parseAddReadLines(textLines(text), toSetOperation);
}

/** Reads and parses a set history file a chunk at a time. */
export function readSetHistoryFile(file: string): SetOperation[] {
  return parseAddReadLines(fileLines(file), toSetOperation);
}

/** Classifies every element; see the module comment for the meanings. O(total read size + reads × log reads). */
export function analyzeSet(ops: readonly SetOperation[]): SetAnalysis {
  // Elements: attempted ones first, in order of their first add; unexpected ones (read, never added)
  // after them, as the pass over reads meets them. Per-element state lives in typed arrays.
  const values: SetElement[] = [];
  const index = new Map<number | string, number>();
  let capacity = 1024;
  let firstCall = new Float64Array(capacity);
  let okReturn = new Float64Array(capacity);
  let lastPresent = new Int32Array(capacity);
  let gapAbsent = new Int32Array(capacity);
  let lastReadSeen = new Int32Array(capacity);
  let multiplicity = new Int32Array(capacity);
  let knownRead = new Float64Array(capacity);
  const grow = () => {
    const bigger = capacity * 2;
    const extend = <A extends Int32Array | Float64Array>(old: A, fresh: A): A => {
      fresh.set(old);
      return fresh;
    };
    firstCall = extend(firstCall, new Float64Array(bigger));
    okReturn = extend(okReturn, new Float64Array(bigger));
    lastPresent = extend(lastPresent, new Int32Array(bigger));
    gapAbsent = extend(gapAbsent, new Int32Array(bigger));
    lastReadSeen = extend(lastReadSeen, new Int32Array(bigger));
    multiplicity = extend(multiplicity, new Int32Array(bigger));
    knownRead = extend(knownRead, new Float64Array(bigger));
    capacity = bigger;
  };
  // Small non-negative integers (what broadcast and g-set send) are found through an array, not the map.
  let denseMax = -1;
  let adds = 0;
  for (const op of ops) {
    if (op.f !== 'add') continue;
    adds++;
    const v = op.value;
    if (typeof v === 'number' && (v | 0) === v && v > denseMax) denseMax = v;
  }
  const denseSize = denseMax >= 0 && denseMax < dense_elements_per_add * adds + dense_elements_min ? denseMax + 1 : 0;
  /** index + 1 of each small integer element; 0: not an element yet. */
  const dense = new Int32Array(denseSize);
  const find = (value: SetElement): number => {
    if (typeof value === 'number' && (value | 0) === value && value >= 0 && value < denseSize) return dense[value]! - 1;
    return index.get(elementKey(value)) ?? -1;
  };
  const insert = (value: SetElement, first: number): number => {
    const e = values.length;
    if (e >= capacity) grow();
    values.push(value);
    if (typeof value === 'number' && (value | 0) === value && value >= 0 && value < denseSize) dense[value] = e + 1;
    else index.set(elementKey(value), e);
    firstCall[e] = first;
    okReturn[e] = Infinity;
    knownRead[e] = Infinity;
    lastPresent[e] = -1;
    gapAbsent[e] = -1;
    lastReadSeen[e] = -1;
    return e;
  };
  const acknowledged: boolean[] = [];
  for (const op of ops) {
    if (op.f !== 'add') continue;
    let e = find(op.value);
    if (e < 0) {
      e = insert(op.value, op.call_ms);
      acknowledged.push(false);
    } else if (op.call_ms < firstCall[e]!) firstCall[e] = op.call_ms;
    if (op.outcome === 'ok') {
      acknowledged[e] = true;
      if (op.return_ms! < okReturn[e]!) okReturn[e] = op.return_ms!;
    }
  }
  const attempted = values.length;

  // Ok reads in order of their start.
  const reads: SetRead[] = [];
  let finalOk = 0;
  let notOk = 0;
  for (const op of ops) {
    if (op.f !== 'read') continue;
    if (op.outcome !== 'ok') {
      notOk++;
      continue;
    }
    reads.push(op);
    if (op.final) finalOk++;
  }
  const order = reads.map((_, i) => i).sort((a, b) => reads[a]!.call_ms - reads[b]!.call_ms || a - b);
  const n = order.length;
  const readCall = new Float64Array(n);
  const readReturn = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    readCall[i] = reads[order[i]!]!.call_ms;
    readReturn[i] = reads[order[i]!]!.return_ms!;
  }
  // suffixMaxReturn[i]: the latest return among reads i..n-1.
  const suffixMaxReturn = new Float64Array(n + 1);
  suffixMaxReturn[n] = -Infinity;
  for (let i = n - 1; i >= 0; i--) suffixMaxReturn[i] = Math.max(suffixMaxReturn[i + 1]!, readReturn[i]!);

  const duplicates = new Map<number, Duplicate>();
  const unexpected = new Map<number, Unexpected>();
  for (let i = 0; i < n; i++) {
    const read = reads[order[i]!]!;
    const returned = readReturn[i]!;
    const result = read.result!;
    for (let r = 0; r < result.length; r++) {
      const value = result[r];
      // find(), inlined for the common case: this loop visits every element of every read.
      let e = typeof value === 'number' && (value | 0) === value && value >= 0 && value < denseSize ? dense[value]! - 1 : find(value);
      if (e < 0) e = insert(value, Infinity);
      if (lastReadSeen[e] === i) {
        const count = ++multiplicity[e]!;
        const duplicate = duplicates.get(e);
        if (duplicate === undefined) duplicates.set(e, { element: values[e], count, line: read.line ?? null });
        else if (count > duplicate.count) duplicate.count = count;
        continue;
      }
      lastReadSeen[e] = i;
      multiplicity[e] = 1;
      if (returned < firstCall[e]!) {
        if (!unexpected.has(e)) unexpected.set(e, { element: values[e], line: read.line ?? null });
        continue;
      }
      if (returned < knownRead[e]!) knownRead[e] = returned;
      // The reads between e's previous sighting and this one missed it. Only the last of them matters, and
      // only if it began after e was known (for staleness and latency); one that began after known also
      // began after e's first add, so it could have held e: no need to check that it returned after it.
      if (i - 1 > lastPresent[e]!) gapAbsent[e] = i - 1;
      lastPresent[e] = i;
    }
  }

  const elements: ElementResult[] = [];
  for (let e = 0; e < attempted; e++) {
    const first = firstCall[e]!;
    const present = lastPresent[e]!;
    const knownAt = Math.min(okReturn[e]!, knownRead[e]!);
    const known_ms = knownAt === Infinity ? null : knownAt;
    const result: ElementResult = {
      element: values[e],
      outcome: 'never-read',
      acknowledged: acknowledged[e]!,
      known_ms,
      stale: false,
      stable_latency_ms: null,
      lost_latency_ms: null,
      seen: present >= 0,
    };
    if (suffixMaxReturn[present + 1]! >= first) {
      // A read that could have held e began after the last one that did, and missed it. e is lost if the
      // last such read began after e was known; if the very last read began after known, it is that read.
      if (known_ms !== null && known_ms < readCall[n - 1]!) {
        result.outcome = 'lost';
        result.lost_latency_ms = present >= 0 ? Math.max(0, readCall[present]! - known_ms) : 0;
      }
    } else if (present >= 0) {
      result.outcome = 'stable';
      // The last read before the last sighting that missed e; if it began before known, it does not count.
      const absent = gapAbsent[e]!;
      const delay = absent >= 0 ? readCall[absent]! - known_ms! : 0;
      result.stable_latency_ms = Math.max(0, delay);
      result.stale = delay > 0;
    }
    elements.push(result);
  }
  return {
    elements,
    duplicated: [...duplicates.values()].sort((a, b) => compareElements(a.element, b.element)),
    unexpected: [...unexpected.values()].sort((a, b) => compareElements(a.element, b.element)),
    reads: { ok: n, final_ok: finalOk, not_ok: notOk },
  };
}

/** Checks a set history; see the module comment. */
export function checkSet(ops: readonly SetOperation[], options: SetCheckOptions = {}): SetCheckResult {
  return summarizeSet(analyzeSet(ops), options);
}

/** The verdict, counts, quantiles and explanation of an analysis. */
export function summarizeSet(analysis: SetAnalysis, options: SetCheckOptions = {}): SetCheckResult {
  const { elements, duplicated, unexpected, reads } = analysis;
  const pick = (outcome: ElementOutcome) => elements.filter((e) => e.outcome === outcome);
  const sorted = (list: ElementResult[]) => list.map((e) => e.element).sort(compareElements);
  const stable = pick('stable');
  const lost = pick('lost');
  const neverRead = pick('never-read');
  const stale = stable.filter((e) => e.stale);
  const worst_stale = [...stale]
    .sort((a, b) => b.stable_latency_ms! - a.stable_latency_ms! || compareElements(a.element, b.element))
    .slice(0, worst_stale_count)
    .map((e) => ({ element: e.element, stable_latency_ms: e.stable_latency_ms! }));
  const acknowledged_count = elements.filter((e) => e.acknowledged).length;

  let result: SetCheckResult['result'];
  let reason: string | undefined;
  const noun = options.noun ?? 'element';
  const plural = (count: number) => (count === 1 ? noun : `${noun}s`);
  if (duplicated.length > 0 || unexpected.length > 0) {
    result = 'invalid';
    reason =
      duplicated.length > 0
        ? `${duplicated.length} ${plural(duplicated.length)} appeared more than once in one read`
        : `${unexpected.length} ${plural(unexpected.length)} ${unexpected.length === 1 ? 'was' : 'were'} read before anyone added ${unexpected.length === 1 ? 'it' : 'them'}`;
  } else if (reads.ok === 0) {
    result = 'unknown';
    reason = 'no read succeeded, so nothing can be said about what the nodes hold';
  } else if (reads.final_ok === 0) {
    result = 'unknown';
    reason = 'no final read succeeded (the reads after the faults healed all failed or timed out), so whether elements were lost cannot be told';
  } else if (lost.length > 0) {
    result = 'invalid';
    reason = `${lost.length} of ${elements.length} ${plural(elements.length)} ${lost.length === 1 ? 'was' : 'were'} lost`;
  } else if (stable.length === 0) {
    result = 'unknown';
    reason = elements.length === 0 ? `nothing was added` : `no ${noun} was ever seen by a read, so none became stable`;
  } else result = 'valid';

  const summary: SetCheckResult = {
    result,
    ...(reason === undefined ? {} : { reason }),
    attempt_count: elements.length,
    acknowledged_count,
    stable_count: stable.length,
    lost_count: lost.length,
    never_read_count: neverRead.length,
    stale_count: stale.length,
    duplicated_count: duplicated.length,
    unexpected_count: unexpected.length,
    lost: sorted(lost),
    never_read: sorted(neverRead),
    stale: sorted(stale),
    duplicated,
    unexpected,
    worst_stale,
    stable_latencies_ms: latencyQuantiles(stable.map((e) => e.stable_latency_ms!)),
    lost_latencies_ms: latencyQuantiles(lost.map((e) => e.lost_latency_ms!)),
    reads,
    text: '',
  };
  summary.text = explainSet(summary, lost, noun);
  return summary;
}

/** Names elements, at most explanation_elements_max of them. */
function listElements(elements: readonly SetElement[]): string {
  const named = elements.slice(0, explanation_elements_max).map(formatElement).join(', ');
  return elements.length > explanation_elements_max ? `${named} and ${elements.length - explanation_elements_max} more` : named;
}

function formatQuantiles(q: LatencyQuantiles): string {
  return `median ${formatDurationMs(q['0.5'])}, 95th percentile ${formatDurationMs(q['0.95'])}, 99th ${formatDurationMs(q['0.99'])}, max ${formatDurationMs(q['1'])}`;
}

function explainSet(s: SetCheckResult, lost: readonly ElementResult[], noun: string): string {
  const plural = (count: number) => (count === 1 ? noun : `${noun}s`);
  const lines: string[] = [];
  if (s.result === 'valid') {
    lines.push(`valid: all ${s.stable_count} ${plural(s.stable_count)} seen by a read stayed in every later read, and none of the ${s.acknowledged_count} acknowledged was lost`);
  } else if (s.result === 'unknown') {
    lines.push(`unknown: ${s.reason}`);
  } else lines.push(`invalid: ${s.reason}`);

  if (s.duplicated_count > 0) {
    const named = s.duplicated.slice(0, explanation_elements_max).map((d) => `${formatElement(d.element)} (${d.count} times${d.line === null ? '' : `, line ${d.line}`})`);
    lines.push(
      `  duplicated in one read: ${named.join(', ')}${s.duplicated_count > explanation_elements_max ? ` and ${s.duplicated_count - explanation_elements_max} more` : ''}` +
        ` (Maelstrom's checker never reports duplicates: its test for them cannot be true)`,
    );
  }
  if (s.unexpected_count > 0) {
    const named = s.unexpected.slice(0, explanation_elements_max).map((u) => `${formatElement(u.element)}${u.line === null ? '' : ` (line ${u.line})`}`);
    lines.push(`  read before any add of them began: ${named.join(', ')}${s.unexpected_count > explanation_elements_max ? ` and ${s.unexpected_count - explanation_elements_max} more` : ''}`);
  }
  if (s.lost_count > 0) {
    const neverSeen = lost.filter((e) => !e.seen).map((e) => e.element).sort(compareElements);
    const vanished = lost.filter((e) => e.seen).map((e) => e.element).sort(compareElements);
    const parts: string[] = [];
    if (neverSeen.length > 0) parts.push(`${listElements(neverSeen)}, acknowledged but never seen by any read, the final reads after healing included`);
    if (vanished.length > 0) parts.push(`${listElements(vanished)}, seen by a read, then missing from every later one, the final reads included`);
    lines.push(`  lost: ${parts.join('; ')}`);
    if (s.lost_latencies_ms) lines.push(`  lost latency (acknowledged to last seen): ${formatQuantiles(s.lost_latencies_ms)}`);
  }
  lines.push(
    `  ${s.attempt_count} attempted, ${s.acknowledged_count} acknowledged, ${s.stable_count} stable, ${s.lost_count} lost, ${s.never_read_count} never read, ${s.stale_count} stale; ` +
      `${s.reads.ok} reads ok (${s.reads.final_ok} final), ${s.reads.not_ok} failed or timed out`,
  );
  if (s.stable_latencies_ms) lines.push(`  stable latency (acknowledged to the last read that missed it): ${formatQuantiles(s.stable_latencies_ms)}`);
  if (s.stale_count > 0) {
    const worst = s.worst_stale.map((w) => `${formatElement(w.element)} after ${formatDurationMs(w.stable_latency_ms)}`).join(', ');
    lines.push(`  ${s.stale_count} stale (missed by a read that began after they were known, then seen for good); slowest: ${worst}`);
  }
  if (s.never_read_count > 0) lines.push(`  never read (no read began after they were known to exist): ${listElements(s.never_read)}`);
  return lines.join('\n');
}

/** What `dslab check FILE` runs on a broadcast or g-set history (`noun` words it: "broadcast" or "element"). */
export function checkSetFile(file: string, options: SetCheckOptions = {}): HistoryFileCheck {
  const result = checkSet(readSetHistoryFile(file), options);
  return { result: result.result, text: result.text, details: { ...result } };
}
