/**
 * Checks a snowflake id history (history.ts):
 * - every id is unique across all workers;
 * - each worker's ids increase: an op that began after another ended got larger ids, and a batch is increasing;
 * - the number an id decodes to is the one its worker reported holding during the request,
 *   and no other worker had taken that number since this worker took it (a paused worker
 *   that goes on issuing after its number was given away);
 * - the decoded time lies inside the request's real-time window, widened by the clock skew
 *   applied to the worker (and by one time unit, as an id carries the start of its unit);
 * - ids sorted by value are k-sorted: an id of lower value was requested at most the bound
 *   (the spread of the clock offsets plus one unit) after a higher one's request ended.
 * Violations are named in words, grouped by worker and kind.
 */
import { decodeId } from '../../systems/snowflake/core/ids.js';
import type { HistoryFault, HistoryHeader, HistoryOp, HistoryRecord, HistoryState } from './history.js';

/** Clock readings are whole ms on two processes: this much rounding is not a violation. */
export const clock_slack_ms = 2;
/** Examples kept per violation group. */
const examples_max = 3;

export interface IdCheckResult {
  valid: boolean;
  ops: { ok: number; fail: number; unknown: number };
  ids: number;
  /** Ids per issuing node. */
  by_node: Record<string, number>;
  /** The k-sorting bound checked, and the largest inversion seen (ms). */
  k_bound_ms: number;
  max_inversion_ms: number;
  violations: string[];
}

interface Tenure {
  from: number;
  to: number;
  datacenter: number;
  worker: number;
}

interface Issued {
  op: HistoryOp;
  id: bigint;
  datacenter: number;
  worker: number;
  time_ms: number;
}

function clock(t: number): string {
  return new Date(t).toISOString().slice(11, 23);
}

/** "14:02:03.120–.480" (the end's hours, minutes and seconds left out when they are the start's). */
function span(from: number, to: number): string {
  const a = clock(from);
  const b = clock(to);
  if (a === b) return a;
  return a.slice(0, 8) === b.slice(0, 8) ? `${a}–${b.slice(8)}` : `${a}–${b}`;
}

function numberName(datacenter: number, worker: number, datacenters_used: boolean): string {
  return datacenters_used ? `datacenter ${datacenter} worker ${worker}` : `worker ${worker}`;
}

/** Each node's tenures of a number, from its state reports (a crash ends one). */
function tenures(states: readonly HistoryState[], downs: readonly HistoryFault[]): Map<string, Tenure[]> {
  const events = [...states.map((s) => ({ t: s.t, node: s.node, state: s })), ...downs.map((d) => ({ t: d.t, node: d.node, state: null }))].sort((a, b) => a.t - b.t);
  const open = new Map<string, Tenure>();
  const result = new Map<string, Tenure[]>();
  for (const event of events) {
    const current = open.get(event.node);
    const next = event.state && event.state.worker !== null && event.state.datacenter !== null ? { datacenter: event.state.datacenter, worker: event.state.worker } : null;
    if (current && next && current.datacenter === next.datacenter && current.worker === next.worker) continue;
    if (current) {
      current.to = event.t;
      open.delete(event.node);
    }
    if (next) {
      const tenure = { from: event.t, to: Number.POSITIVE_INFINITY, ...next };
      open.set(event.node, tenure);
      const list = result.get(event.node) ?? [];
      list.push(tenure);
      result.set(event.node, list);
    }
  }
  return result;
}

/** The node's clock offsets in force at some point of [from, to]. */
function offsetsDuring(node: string, from: number, to: number, header: HistoryHeader, skews: readonly HistoryFault[]): { min: number; max: number } {
  let current = header.clock_offsets_ms[node] ?? 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const skew of skews) {
    if (skew.node !== node) continue;
    if (skew.t <= from) {
      current = skew.offset_ms ?? 0;
      continue;
    }
    if (skew.t > to) break;
    min = Math.min(min, current);
    max = Math.max(max, current);
    current = skew.offset_ms ?? 0;
  }
  return { min: Math.min(min, current), max: Math.max(max, current) };
}

class Violations {
  private readonly groups = new Map<string, { text: (count: number, from: number, to: number, examples: string[]) => string; count: number; from: number; to: number; examples: string[] }>();

  add(key: string, op: HistoryOp, text: (count: number, from: number, to: number, examples: string[]) => string, example?: string): void {
    const group = this.groups.get(key) ?? { text, count: 0, from: op.invoke_ms, to: op.complete_ms, examples: [] };
    group.count++;
    group.from = Math.min(group.from, op.invoke_ms);
    group.to = Math.max(group.to, op.complete_ms);
    if (example && group.examples.length < examples_max) group.examples.push(example);
    this.groups.set(key, group);
  }

  list(): string[] {
    return [...this.groups.values()].map((g) => g.text(g.count, g.from, g.to, g.examples));
  }
}

function pausedFor(node: string, from: number, to: number, faults: readonly HistoryFault[]): string {
  let paused_at: number | null = null;
  let longest = 0;
  for (const fault of faults) {
    if (fault.node !== node || fault.t > to) continue;
    if (fault.action === 'pause') paused_at = fault.t;
    if (fault.action === 'resume' && paused_at !== null) {
      if (fault.t >= from) longest = Math.max(longest, fault.t - paused_at);
      paused_at = null;
    }
  }
  return longest > 0 ? `, ${node} paused for ${(longest / 1000).toFixed(1)} s` : '';
}

export function checkIdHistory(records: readonly HistoryRecord[]): IdCheckResult {
  const header = records[0] as HistoryHeader;
  const ops = records.filter((r): r is HistoryOp => r.type === 'op');
  const states = records.filter((r): r is HistoryState => r.type === 'state');
  const faults = records.filter((r): r is HistoryFault => r.type === 'fault').sort((a, b) => a.t - b.t);
  const skews = faults.filter((f) => f.action === 'skew');
  const downs = faults.filter((f) => f.action === 'kill' || f.action === 'down');
  const unit_ms = header.layout.unit_ms;
  const violations = new Violations();
  const result: IdCheckResult = { valid: true, ops: { ok: 0, fail: 0, unknown: 0 }, ids: 0, by_node: {}, k_bound_ms: 0, max_inversion_ms: 0, violations: [] };

  const issued: Issued[] = [];
  for (const op of ops) {
    result.ops[op.outcome]++;
    if (op.outcome !== 'ok') continue;
    let previous: bigint | null = null;
    for (const text of op.ids ?? []) {
      let id: bigint;
      try {
        id = BigInt(text);
      } catch {
        violations.add(`malformed ${op.node}`, op, (n) => `${op.node} answered ${n} ids that are not decimal numbers (like ${JSON.stringify(text)})`);
        continue;
      }
      if (previous !== null && id <= previous) violations.add(`batch ${op.node}`, op, (n, from, to, ex) => `${op.node} answered ${n} batches whose ids do not increase, ${span(from, to)} (${ex.join('; ')})`, `${id} after ${previous}`);
      previous = id;
      const decoded = decodeId(header.layout, header.epoch_ms, id);
      issued.push({ op, id, datacenter: decoded.datacenter, worker: decoded.worker, time_ms: decoded.time_ms });
      result.by_node[op.node] = (result.by_node[op.node] ?? 0) + 1;
    }
  }
  result.ids = issued.length;
  // Numbers are named by worker alone when every one is in datacenter 0.
  const datacenters_used = issued.some((e) => e.datacenter !== 0) || states.some((s) => (s.datacenter ?? 0) !== 0);

  // Unique across all workers.
  const first = new Map<bigint, Issued>();
  for (const entry of issued) {
    const earlier = first.get(entry.id);
    if (!earlier) {
      first.set(entry.id, entry);
      continue;
    }
    const pair = [earlier.op.node, entry.op.node].sort().join(' and ');
    violations.add(`duplicate ${pair}`, entry.op, (n, from, to, ex) => `${n} ids were issued twice (by ${pair}), ${span(from, to)}: ${ex.join('; ')}`, `${entry.id} by ${earlier.op.node} at ${clock(earlier.op.complete_ms)} and by ${entry.op.node} at ${clock(entry.op.complete_ms)}`);
  }

  // Each worker's ids increase across ops that do not overlap in time.
  const byNode = new Map<string, HistoryOp[]>();
  for (const op of ops) if (op.outcome === 'ok' && op.ids?.length) byNode.set(op.node, [...(byNode.get(op.node) ?? []), op]);
  for (const [node, list] of byNode) {
    const by_complete = [...list].sort((a, b) => a.complete_ms - b.complete_ms);
    const by_invoke = [...list].sort((a, b) => a.invoke_ms - b.invoke_ms);
    let k = 0;
    let max: { id: bigint; op: HistoryOp } | null = null;
    for (const op of by_invoke) {
      while (k < by_complete.length && by_complete[k]!.complete_ms < op.invoke_ms) {
        const done = by_complete[k++]!;
        const top = maxId(done);
        if (top !== null && (max === null || top > max.id)) max = { id: top, op: done };
      }
      const low = minId(op);
      if (max && low !== null && low <= max.id) {
        const before = max;
        violations.add(`order ${node}`, op, (n, from, to, ex) => `${node} issued smaller ids after larger ones in ${n} requests, ${span(from, to)}${pausedFor(node, from, to, faults)} (${ex.join('; ')})`, `${low} at ${clock(op.complete_ms)} after ${before.id} at ${clock(before.op.complete_ms)}`);
      }
    }
  }

  // The number each id decodes to: held by its worker, and not given to another worker meanwhile.
  const held = tenures(states, downs);
  const takers = new Map<string, { node: string; from: number }[]>();
  for (const [node, list] of held) for (const t of list) takers.set(`${t.datacenter}/${t.worker}`, [...(takers.get(`${t.datacenter}/${t.worker}`) ?? []), { node, from: t.from }]);
  const users = new Set(issued.map((e) => `${e.op.node} ${e.datacenter}/${e.worker}`));
  for (const entry of issued) {
    const { op } = entry;
    const mine = held.get(op.node);
    if (!mine) continue;
    const during = mine.filter((t) => t.from <= op.complete_ms && t.to >= op.invoke_ms);
    const name = numberName(entry.datacenter, entry.worker, datacenters_used);
    const tenure = during.find((t) => t.datacenter === entry.datacenter && t.worker === entry.worker);
    if (!tenure) {
      const claimed = during.map((t) => numberName(t.datacenter, t.worker, datacenters_used)).join(' or ') || 'no number';
      violations.add(`wrong ${op.node} ${name}`, op, (n, from, to) => `${op.node} issued ${n} ids with ${name} while it held ${claimed}, ${span(from, to)}`);
      continue;
    }
    // Another node took this number after this one did, before this request ended, and issued with it.
    const later = (takers.get(`${entry.datacenter}/${entry.worker}`) ?? []).find((t) => t.node !== op.node && t.from > tenure.from && t.from < op.complete_ms && users.has(`${t.node} ${entry.datacenter}/${entry.worker}`));
    if (later) {
      violations.add(`shared ${op.node} ${later.node} ${name}`, op, (n, from, to) => `${op.node} issued ${n} ids with ${name} while ${later.node} held ${name}, ${span(from, to)}${pausedFor(op.node, tenure.from, to, faults)}`);
    }
  }

  // Decoded time inside the request's window, widened by the worker's clock offsets (and one unit below).
  // A worker whose clock stepped back by D goes on issuing in the latest unit it issued before (after waiting
  // out a small step, or once it catches up after a large one) for up to D: its ids may carry the earlier clock's time that long.
  const step_back = new Map<string, number>();
  const offset_now = new Map<string, number>(Object.entries(header.clock_offsets_ms));
  for (const skew of skews) {
    const before = offset_now.get(skew.node) ?? 0;
    const after = skew.offset_ms ?? 0;
    if (after < before) step_back.set(skew.node, Math.max(step_back.get(skew.node) ?? 0, before - after));
    offset_now.set(skew.node, after);
  }
  for (const entry of issued) {
    const { op } = entry;
    const offsets = offsetsDuring(op.node, op.invoke_ms, op.complete_ms, header, skews);
    const earlier = offsetsDuring(op.node, op.invoke_ms - (step_back.get(op.node) ?? 0), op.complete_ms, header, skews);
    const low = op.invoke_ms + offsets.min - unit_ms - clock_slack_ms;
    const high = op.complete_ms + earlier.max + clock_slack_ms;
    if (entry.time_ms < low || entry.time_ms > high) {
      const off = entry.time_ms < low ? `${low - entry.time_ms} ms before` : `${entry.time_ms - high} ms after`;
      violations.add(`time ${op.node}`, op, (n, from, to, ex) => `${op.node} issued ${n} ids whose time lies outside their request's window (widened by its clock skew), ${span(from, to)}: ${ex.join('; ')}`, `${entry.id} says ${clock(entry.time_ms)}, ${off} it`);
    }
  }

  // k-sorted: sorted by value, no id was requested more than the bound after a larger id's request ended.
  const offsets_seen = [...Object.values(header.clock_offsets_ms), ...skews.map((s) => s.offset_ms ?? 0), 0];
  result.k_bound_ms = Math.max(...offsets_seen) - Math.min(...offsets_seen) + unit_ms + clock_slack_ms;
  const sorted = [...issued].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let min_complete_after = Number.POSITIVE_INFINITY;
  let holder: Issued | null = null;
  for (let i = sorted.length - 1; i >= 0; i--) {
    const entry = sorted[i]!;
    const inversion = entry.op.invoke_ms - min_complete_after;
    if (inversion > result.max_inversion_ms) result.max_inversion_ms = inversion;
    if (inversion > result.k_bound_ms && holder) {
      const larger = holder;
      violations.add(`ksort ${entry.op.node}`, entry.op, (n, from, to, ex) => `${n} ids are out of time order by more than the bound of ${result.k_bound_ms} ms, ${span(from, to)}: ${ex.join('; ')}`, `${entry.id} (${entry.op.node}) was requested ${inversion} ms after ${larger.id} (${larger.op.node}) was answered`);
    }
    if (entry.op.complete_ms < min_complete_after) {
      min_complete_after = entry.op.complete_ms;
      holder = entry;
    }
  }

  result.violations = violations.list();
  result.valid = result.violations.length === 0;
  return result;
}

function maxId(op: HistoryOp): bigint | null {
  let max: bigint | null = null;
  for (const text of op.ids ?? []) {
    try {
      const id = BigInt(text);
      if (max === null || id > max) max = id;
    } catch {
      // counted as malformed above
    }
  }
  return max;
}

function minId(op: HistoryOp): bigint | null {
  let min: bigint | null = null;
  for (const text of op.ids ?? []) {
    try {
      const id = BigInt(text);
      if (min === null || id < min) min = id;
    } catch {
      // counted as malformed above
    }
  }
  return min;
}
