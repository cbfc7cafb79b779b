// The leader's session tracker and session ids. Pure: no I/O, and time comes in as `now`.

// The leader's session tracker: volatile, leader-side state fed by the pings (and requests) each
// server hears from its clients and forwards. It decides which sessions have gone quiet for longer
// than their timeout; the leader then proposes an expire_session txn for each, and only that txn,
// once committed, deletes the session's ephemerals (tree.ts). Pure: time comes in as `now`.

/** ZooKeeper bounds a session's timeout to 2..20 ticks of the ensemble. */
export const session_timeout_ticks_min = 2;
export const session_timeout_ticks_max = 20;
/** Sessions the tracker follows; past this, new sessions are refused. */
export const tracked_session_count_max = 10_000;

/** The timeout a session gets: the client's request, clamped as ZooKeeper does. */
export function negotiateSessionTimeout(requested_ms: number, tick_ms: number): number {
  const lo = session_timeout_ticks_min * tick_ms;
  const hi = session_timeout_ticks_max * tick_ms;
  if (!Number.isFinite(requested_ms)) return hi;
  return Math.min(hi, Math.max(lo, Math.round(requested_ms)));
}

/** Session ids a leader hands out: unique across leaders because each leader has its own epoch. */
export class SessionIdSource {
  private next_counter = 1;
  constructor(private readonly epoch: number) {}

  next(): string {
    return `s${this.epoch.toString(16)}.${(this.next_counter++).toString(16)}`;
  }
}

interface Tracked {
  timeout_ms: number;
  deadline_ms: number;
  /** Reported by tick(); the expire txn is on its way, so pings no longer revive it. */
  expiring: boolean;
}

export class SessionTracker {
  private readonly sessions = new Map<string, Tracked>();

  get size(): number {
    return this.sessions.size;
  }

  /** Starts following a session (its create_session txn was proposed or applied). False when full. */
  add(session: string, timeout_ms: number, now: number): boolean {
    if (!this.sessions.has(session) && this.sessions.size >= tracked_session_count_max) return false;
    this.sessions.set(session, { timeout_ms, deadline_ms: now + timeout_ms, expiring: false });
    return true;
  }

  /** A new leader follows every session the tree holds, each with a whole timeout from now. */
  adopt(sessions: ReadonlyArray<{ session: string; timeout_ms: number }>, now: number): void {
    this.sessions.clear();
    for (const s of sessions.slice(0, tracked_session_count_max)) this.add(s.session, s.timeout_ms, now);
  }

  /** A ping or request from the session; false if the session is unknown or already expiring. */
  touch(session: string, now: number): boolean {
    const s = this.sessions.get(session);
    if (s === undefined || s.expiring) return false;
    s.deadline_ms = Math.max(s.deadline_ms, now + s.timeout_ms);
    return true;
  }

  /** The expire txn for a session tick() reported could not be proposed: report it again next tick. */
  retryExpiry(session: string): void {
    const s = this.sessions.get(session);
    if (s !== undefined) s.expiring = false;
  }

  /** Its close or expire txn was applied. */
  remove(session: string): void {
    this.sessions.delete(session);
  }

  /** Sessions whose deadline passed and were not reported before, oldest deadline first. */
  tick(now: number): string[] {
    const due: Array<[string, number]> = [];
    for (const [id, s] of this.sessions) if (!s.expiring && s.deadline_ms <= now) due.push([id, s.deadline_ms]);
    due.sort(([a, da], [b, db]) => da - db || (a < b ? -1 : a > b ? 1 : 0));
    for (const [id] of due) this.sessions.get(id)!.expiring = true;
    return due.map(([id]) => id);
  }

  /** When the session would expire without another ping; null if unknown. */
  deadlineOf(session: string): number | null {
    return this.sessions.get(session)?.deadline_ms ?? null;
  }

  isExpiring(session: string): boolean {
    return this.sessions.get(session)?.expiring ?? false;
  }
}
