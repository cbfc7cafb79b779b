/**
 * The lock checker: from what the resource observed (observations.ts), did
 * mutual exclusion hold, how many increments were lost, and did fencing keep
 * its promise. A critical section is one contender's round from its read to
 * its write at the resource; two sections overlap when each began before the
 * other ended. Every violation is said in words.
 */
import type { LockReport, Observation } from './observations.js';

export interface Section {
  node: string;
  round: number;
  token: number | null;
  read_ms: number;
  /** When its write arrived; null for a section that never wrote (stopped, failed, refused at the read). */
  write_ms: number | null;
  value_read: number;
  value_written: number | null;
  accepted: boolean | null;
  acquired_ms: number;
  ttl_ms: number;
  /** An accepted write's increments lost: how far it set the counter back (the counter before it, less the value it read). */
  lost: number;
  reason?: string;
}

export interface Overlap {
  a: Section;
  b: Section;
  from_ms: number;
  to_ms: number;
  /** Increments lost by the later write of the two. */
  lost: number;
  description: string;
}

export interface LockCheck {
  ok: boolean;
  sections: number;
  overlaps: Overlap[];
  /** Writes accepted (resource mode) or acknowledged by the backend (backend mode): the increments the run claims. */
  acknowledged: number;
  /** The counter's final value (null when unknown); initial 0. */
  counter: number | null;
  /** acknowledged - counter: increments that did not survive. */
  lost: number;
  fencing: boolean;
  /** Writes the resource refused for a stale token (and reads refused likewise). */
  rejected_writes: number;
  rejected_reads: number;
  /** Accepted writes whose token was not above the previous accepted write's (a fencing failure). */
  token_regressions: string[];
  /** Observations the resource could not keep: the check saw only part of the run. */
  dropped: number;
  /** Each finding in words, the worst first; empty when all held. */
  violations: string[];
  summary: string;
}

/** HH:MM:SS.mmm in UTC. */
export function clockTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

/** "12:00:01.200–.450", shortening the end to what differs from the start's second. */
export function timeRange(from_ms: number, to_ms: number): string {
  const a = clockTime(from_ms);
  const b = clockTime(to_ms);
  return a.slice(0, 8) === b.slice(0, 8) ? `${a}–${b.slice(8)}` : `${a}–${b}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

/** Pairs each contender's read with its write of the same round. */
export function sectionsOf(observations: readonly Observation[]): Section[] {
  const sections = new Map<string, Section>();
  for (const o of observations) {
    const key = `${o.node}#${o.round}`;
    if (o.kind === 'read') {
      sections.set(key, { node: o.node, round: o.round, token: o.token, read_ms: o.at_ms, write_ms: null, value_read: o.value, value_written: null, accepted: o.accepted === false ? false : null, acquired_ms: o.acquired_ms, ttl_ms: o.ttl_ms, lost: 0, ...(o.reason ? { reason: o.reason } : {}) });
      continue;
    }
    const section = sections.get(key);
    // A write whose read was never recorded (a lost note) stands as a section of its own moment.
    const s: Section = section ?? { node: o.node, round: o.round, token: o.token, read_ms: o.at_ms, write_ms: null, value_read: o.value - 1, value_written: null, accepted: null, acquired_ms: o.acquired_ms, ttl_ms: o.ttl_ms, lost: 0 };
    s.write_ms = o.at_ms;
    s.value_written = o.value;
    s.accepted = o.accepted !== false;
    if (o.reason) s.reason = o.reason;
    if (s.accepted && o.before !== undefined) s.lost = Math.max(0, o.before - s.value_read);
    sections.set(key, s);
  }
  return [...sections.values()].sort((x, y) => x.read_ms - y.read_ms);
}

/** Why a section ran long, in words: the time from its grant to its write against its TTL. */
function explain(s: Section): string | null {
  if (s.write_ms === null) return null;
  const held = s.write_ms - s.acquired_ms;
  if (held <= s.ttl_ms) return null;
  return `${s.node} wrote ${seconds(held)} after it was granted the lock, ${seconds(held - s.ttl_ms)} past its ${seconds(s.ttl_ms)} TTL (paused, or slow)`;
}

export function checkLocks(report: Pick<LockReport, 'observations' | 'counter' | 'fencing' | 'dropped'>): LockCheck {
  const sections = sectionsOf(report.observations);
  const writing = sections.filter((s) => s.write_ms !== null);
  const overlaps: Overlap[] = [];
  // Sections sorted by read time: each one overlaps the later-read ones that began before it wrote.
  for (const [i, a] of writing.entries()) {
    for (const b of writing.slice(i + 1)) {
      if (b.read_ms >= a.write_ms!) break;
      const [first, second] = a.write_ms! <= b.write_ms! ? [a, b] : [b, a];
      const lost = second.accepted ? second.lost : 0;
      const why = explain(a) ?? explain(b);
      const words = [`${a.node} and ${b.node} both held the lock ${timeRange(b.read_ms, Math.min(a.write_ms!, b.write_ms!))}`];
      if (why) words.push(why);
      if (second.accepted === false) words.push(`${second.node}'s stale write (token ${second.token ?? 'none'}) was rejected`);
      else if (lost > 0) words.push(`${second.node} wrote ${second.value_written} over ${first.node}'s ${first.value_written}: ${lost} increment${lost === 1 ? '' : 's'} lost`);
      overlaps.push({ a, b, from_ms: b.read_ms, to_ms: Math.min(a.write_ms!, b.write_ms!), lost, description: words.join(': ') });
    }
  }
  const accepted = writing.filter((s) => s.accepted === true);
  const acknowledged = accepted.length;
  const counter = report.counter;
  const lost = counter === null ? accepted.reduce((sum, s) => sum + s.lost, 0) : Math.max(0, acknowledged - counter);
  const rejected_writes = writing.filter((s) => s.accepted === false).length;
  const rejected_reads = sections.filter((s) => s.write_ms === null && s.accepted === false).length;
  const token_regressions: string[] = [];
  if (report.fencing) {
    let last: Section | null = null;
    for (const s of [...accepted].sort((x, y) => x.write_ms! - y.write_ms!)) {
      if (last && (s.token === null || last.token === null || s.token <= last.token)) {
        token_regressions.push(`${s.node}'s write at ${clockTime(s.write_ms!)} was accepted with token ${s.token ?? 'none'}, not above ${last.node}'s ${last.token ?? 'none'} before it`);
      }
      last = s;
    }
  }
  // Under fencing an overlap whose stale side was refused harmed nothing: mutual exclusion at the resource held.
  const harmful = overlaps.filter((o) => !(report.fencing && (o.a.accepted === false || o.b.accepted === false)));
  const violations = [...harmful.map((o) => o.description), ...token_regressions];
  if (lost > 0) violations.push(`the counter is ${counter ?? '?'} after ${acknowledged} acknowledged increments: ${lost} lost`);
  const ok = violations.length === 0;
  const parts = [`${sections.length} critical sections, ${acknowledged} acknowledged increments, counter ${counter ?? 'unknown'}`];
  if (report.fencing) parts.push(`${rejected_writes} stale write${rejected_writes === 1 ? '' : 's'} rejected${rejected_reads ? `, ${rejected_reads} stale read${rejected_reads === 1 ? '' : 's'} refused` : ''}`);
  parts.push(ok ? 'mutual exclusion held and nothing was lost' : `${harmful.length} overlapping critical section${harmful.length === 1 ? '' : 's'}, ${lost} increment${lost === 1 ? '' : 's'} lost`);
  if (report.dropped > 0) parts.push(`(only the first observations: ${report.dropped} were not kept)`);
  return { ok, sections: sections.length, overlaps, acknowledged, counter, lost, fencing: report.fencing, rejected_writes, rejected_reads, token_regressions, dropped: report.dropped, violations, summary: parts.join('; ') };
}
