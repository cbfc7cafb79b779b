/**
 * The lock check as the resource sees the run, one observation at a time (the
 * dashboard shows it live): acknowledged increments against the counter, and
 * each overlap or token regression named the moment the write that makes it
 * arrives. The same rules as checker.ts, which judges the whole record at the
 * end (`dslab lock check`, `down`): two sections overlap when each began before
 * the other ended, both having written; under fencing a refused side harmed
 * nothing. Groups of overlapping sections are one violation, as there.
 */
import { describeOverlap, explain, tokenRegression } from './checker.js';
import type { LockReport, Observation } from './observations.js';

/** Written sections kept to pair with later writes; past this the oldest are forgotten (a bound on memory, not on the run). */
export const live_written_sections_max = 20_000;

interface LiveSection {
  node: string;
  key: string;
  token: number | null;
  read_ms: number;
  write_ms: number | null;
  /** Whether its write (or, before one, its read) was accepted; null before any verdict. */
  accepted: boolean | null;
  acquired_ms: number;
  ttl_ms: number;
  /** Accepted writes: acknowledged increments less the counter, before and after this write (checker.ts's deficits). */
  deficit_before: number | null;
  deficit_after: number | null;
  group: LiveGroup | null;
}

interface LiveGroup {
  sections: LiveSection[];
  from_ms: number;
  to_ms: number;
}

export class LiveLockCheck {
  acknowledged = 0;
  /** The counter: the resource's, or (backend mode) the last value a contender read from or wrote to the backend; null before any. */
  counter: number | null;
  /** Groups of overlapping sections seen so far. */
  overlaps = 0;
  token_regressions = 0;
  rejected_writes = 0;
  /** Overlaps and token regressions named so far (a group that later merges with another was still one named). */
  violations = 0;
  last_violation: string | null = null;
  /** The section each contender has read and not yet written (one at a time per contender). */
  private readonly open = new Map<string, LiveSection>();
  /** Written sections, in write order, that a later write may still overlap. */
  private written: LiveSection[] = [];
  private last_accepted: LiveSection | null = null;
  private deficit = 0;

  constructor(
    readonly fencing: boolean,
    readonly counter_place: 'resource' | 'backend',
    /** What a grant's ttl_ms means, for the words of a long section (checker.ts's explain). */
    private readonly backend: LockReport['lock_backend'],
  ) {
    this.counter = counter_place === 'resource' ? 0 : null;
  }

  get lost(): number {
    return this.counter === null ? 0 : Math.max(0, this.acknowledged - this.counter);
  }

  /** Whether the run holds so far: no overlap, no token regression, nothing lost. */
  get ok(): boolean {
    return this.violations === 0 && this.lost === 0;
  }

  /** The verdict so far in one line: the counter against the acknowledged increments, what was lost, the overlaps. */
  summary(): string {
    const counter = this.counter === null ? 'counter unknown' : `counter ${this.counter}`;
    const parts = [`${counter} after ${plural(this.acknowledged, 'acknowledged increment')}, ${this.lost} lost`, plural(this.overlaps, 'overlap')];
    if (this.token_regressions > 0) parts.push(plural(this.token_regressions, 'token regression'));
    if (this.fencing) parts.push(`${plural(this.rejected_writes, 'stale write')} rejected`);
    return parts.join('; ');
  }

  /** Takes one observation, in the order the resource recorded it; returns the violations it revealed, in words. */
  observe(o: Observation): string[] {
    const key = `${o.node}#${o.incarnation ?? ''}#${o.round}`;
    if (o.kind === 'read') {
      this.open.set(o.node, this.section(o, key, o.accepted === false ? false : null));
      if (this.counter_place === 'backend') this.counter = o.value;
      return [];
    }
    const opened = this.open.get(o.node);
    const section = opened?.key === key ? opened : this.section(o, key, null);
    if (opened === section) this.open.delete(o.node);
    section.write_ms = o.at_ms;
    section.accepted = o.accepted !== false;
    const found: string[] = [];
    if (section.accepted) {
      this.acknowledged++;
      this.counter = o.value;
      section.deficit_before = this.deficit;
      this.deficit = section.deficit_after = this.acknowledged - o.value;
      const regression = this.fencing && this.last_accepted ? tokenRegression(section, this.last_accepted) : null;
      if (regression) {
        this.token_regressions++;
        found.push(regression);
      }
      this.last_accepted = section;
    } else if (o.before !== undefined) this.rejected_writes++;
    found.push(...this.pair(section));
    this.written.push(section);
    this.forget();
    this.violations += found.length;
    if (found.length > 0) this.last_violation = found.at(-1)!;
    return found;
  }

  private section(o: Observation, key: string, accepted: boolean | null): LiveSection {
    return { node: o.node, key, token: o.token, read_ms: o.at_ms, write_ms: null, accepted, acquired_ms: o.acquired_ms, ttl_ms: o.ttl_ms, deficit_before: null, deficit_after: null, group: null };
  }

  /** Pairs the section just written with every earlier-written one that wrote after it read; a new group is a new violation. */
  private pair(s: LiveSection): string[] {
    const refused = (x: LiveSection) => this.fencing && x.accepted === false;
    if (refused(s)) return [];
    const partners = this.written.filter((t) => t.write_ms! > s.read_ms && !refused(t));
    if (partners.length === 0) return [];
    const groups = new Set(partners.flatMap((t) => (t.group ? [t.group] : [])));
    // One group takes in the rest: several groups that this section bridges become one violation.
    const group: LiveGroup = [...groups][0] ?? { sections: [], from_ms: Infinity, to_ms: -Infinity };
    for (const other of groups) {
      if (other === group) continue;
      for (const member of other.sections) this.join(group, member);
      group.from_ms = Math.min(group.from_ms, other.from_ms);
      group.to_ms = Math.max(group.to_ms, other.to_ms);
      this.overlaps--;
    }
    for (const t of partners) {
      this.join(group, t);
      group.from_ms = Math.min(group.from_ms, Math.max(t.read_ms, s.read_ms));
      group.to_ms = Math.max(group.to_ms, Math.min(t.write_ms!, s.write_ms!));
    }
    this.join(group, s);
    if (groups.size > 0) return [];
    this.overlaps++;
    return [this.describe(group)];
  }

  private join(group: LiveGroup, s: LiveSection): void {
    if (s.group === group) return;
    s.group = group;
    group.sections.push(s);
  }

  private describe(group: LiveGroup): string {
    const sections = [...group.sections].sort((x, y) => x.read_ms - y.read_ms);
    const nodes = [...new Set(sections.map((s) => s.node))];
    const written = sections.filter((s) => s.deficit_after !== null).sort((x, y) => x.write_ms! - y.write_ms!);
    const lost = written.length ? Math.max(0, written.at(-1)!.deficit_after! - written[0]!.deficit_before!) : 0;
    const why = sections.map((s) => explain(s, this.backend)).find((w) => w !== null) ?? null;
    return describeOverlap(nodes, group.from_ms, group.to_ms, why, lost);
  }

  /** Drops written sections no later write can overlap: those that wrote before every open section read (and the oldest past the bound). */
  private forget(): void {
    let earliest_open = Infinity;
    for (const s of this.open.values()) earliest_open = Math.min(earliest_open, s.read_ms);
    const keep_from = this.written.findIndex((s) => s.write_ms! > earliest_open || s === this.written.at(-1));
    const start = Math.max(keep_from < 0 ? this.written.length : keep_from, this.written.length - live_written_sections_max);
    if (start > 0) this.written = this.written.slice(start);
  }
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
