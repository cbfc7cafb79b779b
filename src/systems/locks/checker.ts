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
  reason?: string;
}

/** Critical sections that overlapped, directly or through one another: one violation. */
export interface Overlap {
  /** The contenders involved, in order of their first section. */
  nodes: string[];
  sections: Section[];
  from_ms: number;
  to_ms: number;
  /** Increments the group's writes lost, net (see deficits). */
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
    const key = `${o.node}#${o.incarnation ?? ''}#${o.round}`;
    if (o.kind === 'read') {
      sections.set(key, { node: o.node, round: o.round, token: o.token, read_ms: o.at_ms, write_ms: null, value_read: o.value, value_written: null, accepted: o.accepted === false ? false : null, acquired_ms: o.acquired_ms, ttl_ms: o.ttl_ms, ...(o.reason ? { reason: o.reason } : {}) });
      continue;
    }
    const section = sections.get(key);
    // A write whose read was never recorded (a lost note) stands as a section of its own moment.
    const s: Section = section ?? { node: o.node, round: o.round, token: o.token, read_ms: o.at_ms, write_ms: null, value_read: o.value - 1, value_written: null, accepted: null, acquired_ms: o.acquired_ms, ttl_ms: o.ttl_ms };
    s.write_ms = o.at_ms;
    s.value_written = o.value;
    s.accepted = o.accepted !== false;
    if (o.reason) s.reason = o.reason;
    sections.set(key, s);
  }
  return [...sections.values()].sort((x, y) => x.read_ms - y.read_ms);
}

/**
 * Why a section ran long, in words: the time from its grant to its write against its TTL. A Redis PX
 * lapses then; a session or lease lasts while renewed, so for those the words say only what it depended on.
 */
export function explain(s: Pick<Section, 'node' | 'write_ms' | 'acquired_ms' | 'ttl_ms'>, backend: LockReport['lock_backend']): string | null {
  if (s.write_ms === null) return null;
  const held = s.write_ms - s.acquired_ms;
  if (held <= s.ttl_ms) return null;
  if (backend === 'zk' || backend === 'etcd') {
    const limit = backend === 'zk' ? 'session timeout' : 'lease';
    return `${s.node} wrote ${seconds(held)} after it was granted the lock, longer than its ${seconds(s.ttl_ms)} ${limit}: it held the lock only while it kept renewing it (a pause or a cut-off ends it)`;
  }
  return `${s.node} wrote ${seconds(held)} after it was granted the lock, ${seconds(held - s.ttl_ms)} past its ${seconds(s.ttl_ms)} TTL (paused, or slow)`;
}

/**
 * The increments each accepted write lost, replayed in write order: after a
 * write the counter is the value it wrote, and the deficit (accepted writes
 * so far less the counter) grows by what that write erased. A write that
 * restores a value a stale one set back makes up for it: only the net change
 * across a group of overlapping sections counts as lost.
 */
function deficits(accepted: readonly Section[]): Map<Section, { before: number; after: number }> {
  const result = new Map<Section, { before: number; after: number }>();
  let deficit = 0;
  for (const [index, s] of [...accepted].sort((x, y) => x.write_ms! - y.write_ms!).entries()) {
    const after = index + 1 - s.value_written!;
    result.set(s, { before: deficit, after });
    deficit = after;
  }
  return result;
}

export function checkLocks(report: Pick<LockReport, 'observations' | 'counter' | 'fencing' | 'dropped' | 'lock_backend'>): LockCheck {
  const sections = sectionsOf(report.observations);
  const writing = sections.filter((s) => s.write_ms !== null);
  const pairs: [Section, Section][] = [];
  // Sections sorted by read time: each one overlaps the later-read ones that began before it wrote.
  for (const [i, a] of writing.entries()) {
    for (const b of writing.slice(i + 1)) {
      if (b.read_ms >= a.write_ms!) break;
      // Under fencing a pair whose stale side was refused harmed nothing: exclusion at the resource held.
      if (report.fencing && (a.accepted === false || b.accepted === false)) continue;
      pairs.push([a, b]);
    }
  }
  const overlaps = groupOverlaps(pairs, deficits(writing.filter((s) => s.accepted === true)), report.lock_backend);
  const accepted = writing.filter((s) => s.accepted === true);
  const acknowledged = accepted.length;
  const counter = report.counter;
  const lost = counter === null ? 0 : Math.max(0, acknowledged - counter);
  const rejected_writes = writing.filter((s) => s.accepted === false).length;
  const rejected_reads = sections.filter((s) => s.write_ms === null && s.accepted === false).length;
  const token_regressions: string[] = [];
  if (report.fencing) {
    let last: Section | null = null;
    for (const s of [...accepted].sort((x, y) => x.write_ms! - y.write_ms!)) {
      const regression = last && tokenRegression(s, last);
      if (regression) token_regressions.push(regression);
      last = s;
    }
  }
  const violations = [...overlaps.map((o) => o.description), ...token_regressions];
  if (lost > 0) violations.push(`the counter is ${counter ?? '?'} after ${acknowledged} acknowledged increments: ${lost} lost`);
  const ok = violations.length === 0;
  const parts = [`${sections.length} critical section${sections.length === 1 ? '' : 's'}, ${acknowledged} acknowledged increment${acknowledged === 1 ? '' : 's'}, counter ${counter ?? 'unknown'}`];
  if (report.fencing) parts.push(`${rejected_writes} stale write${rejected_writes === 1 ? '' : 's'} rejected${rejected_reads ? `, ${rejected_reads} stale read${rejected_reads === 1 ? '' : 's'} refused` : ''}`);
  parts.push(ok ? 'mutual exclusion held and nothing was lost' : `${overlaps.length} time${overlaps.length === 1 ? '' : 's'} two contenders held the lock at once, ${lost} increment${lost === 1 ? '' : 's'} lost`);
  if (report.dropped > 0) parts.push(`(only the first observations: ${report.dropped} were not kept)`);
  return { ok, sections: sections.length, overlaps, acknowledged, counter, lost, fencing: report.fencing, rejected_writes, rejected_reads, token_regressions, dropped: report.dropped, violations, summary: parts.join('; ') };
}

/** Under fencing, an accepted write whose token is not above the accepted write before it, in words; null when it is. */
export function tokenRegression(s: Pick<Section, 'node' | 'token' | 'write_ms'>, last: Pick<Section, 'node' | 'token'>): string | null {
  if (s.token !== null && last.token !== null && s.token > last.token) return null;
  return `${s.node}'s write at ${clockTime(s.write_ms!)} was accepted with token ${s.token ?? 'none'}, not above ${last.node}'s ${last.token ?? 'none'} before it`;
}

/** One group of overlapping sections in words: who held the lock at once, when, why if a section ran long, and what it cost. */
export function describeOverlap(nodes: readonly string[], from_ms: number, to_ms: number, why: string | null, lost: number): string {
  const held = `${listWords(nodes)} ${nodes.length === 2 ? 'both' : 'all'} held the lock ${timeRange(from_ms, to_ms)}${why ? `: ${why}` : ''}`;
  return `${held}; ${lost > 0 ? `${lost} increment${lost === 1 ? '' : 's'} lost` : 'no increment lost (a later write made up for it)'}`;
}

/** Joins overlapping pairs into groups (a long stale section overlaps many) and says each in words. */
function groupOverlaps(pairs: readonly [Section, Section][], deficit: Map<Section, { before: number; after: number }>, backend: LockReport['lock_backend']): Overlap[] {
  const parent = new Map<Section, Section>();
  const root = (s: Section): Section => {
    let r = s;
    while (parent.get(r) && parent.get(r) !== r) r = parent.get(r)!;
    parent.set(s, r);
    return r;
  };
  for (const [a, b] of pairs) {
    if (!parent.has(a)) parent.set(a, a);
    if (!parent.has(b)) parent.set(b, b);
    parent.set(root(a), root(b));
  }
  const groups = new Map<Section, { sections: Set<Section>; from_ms: number; to_ms: number }>();
  for (const [a, b] of pairs) {
    const r = root(a);
    const group = groups.get(r) ?? { sections: new Set<Section>(), from_ms: Infinity, to_ms: -Infinity };
    group.sections.add(a).add(b);
    group.from_ms = Math.min(group.from_ms, Math.max(a.read_ms, b.read_ms));
    group.to_ms = Math.max(group.to_ms, Math.min(a.write_ms!, b.write_ms!));
    groups.set(r, group);
  }
  return [...groups.values()]
    .map((group) => {
      const sections = [...group.sections].sort((x, y) => x.read_ms - y.read_ms);
      const nodes = [...new Set(sections.map((s) => s.node))];
      const written = sections.filter((s) => deficit.has(s)).sort((x, y) => x.write_ms! - y.write_ms!);
      const lost = written.length ? Math.max(0, deficit.get(written[written.length - 1]!)!.after - deficit.get(written[0]!)!.before) : 0;
      const why = sections.map((section) => explain(section, backend)).find((w) => w !== null) ?? null;
      const description = describeOverlap(nodes, group.from_ms, group.to_ms, why, lost);
      return { nodes, sections, from_ms: group.from_ms, to_ms: group.to_ms, lost, description };
    })
    .sort((x, y) => x.from_ms - y.from_ms);
}

function listWords(items: readonly string[]): string {
  return items.length <= 2 ? items.join(' and ') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]!}`;
}
