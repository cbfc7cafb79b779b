// The Zab server's log in sentences, from its core's events. Words only: it decides nothing and writes
// nowhere (the host logs the lines it returns).

import type { StateReport, ZabEvent } from './core/core.js';

/**
 * The Zab server's log, in sentences a student can follow: each election with
 * its round and outcome, each new epoch, how every follower was synchronized
 * (DIFF, TRUNC with how many txns were cut, SNAP), the moment a leader is
 * established, and commits. The core reports events (Ready.events); this turns
 * them into lines. Commits come in batches, and a server that keeps looking
 * (cut off from the others) gets one line per interval with a count, so the
 * log stays readable under load or a partition.
 */

/** At most one commit line per this interval; the txns committed meanwhile are summed into it. */
export const commit_log_interval_ms = 1000;
/** A server that cannot find a leader starts a new round every few hundred ms: one line per this interval, with a count. */
export const looking_log_interval_ms = 5000;

const sync_mode_meaning = {
  DIFF: 'it has a prefix of this history and gets only the txns it lacks',
  TRUNC: 'it holds txns this leader never had (from an older epoch); it cuts them, then gets the txns it lacks',
  SNAP: "it is behind this leader's log window; it gets the whole snapshot, then the txns after it",
} as const;

export class ZabNarrator {
  private state: StateReport | null = null;
  /** Delivered txns not yet logged: how many, and the first and last zxid. */
  private pendingCommits: { count: number; from: string; to: string } | null = null;
  private commitLoggedAtMs = Number.NEGATIVE_INFINITY;
  private lookingLoggedAtMs = Number.NEGATIVE_INFINITY;
  private lookingUnlogged = 0;
  /** Synced or established since the last looking line: the next election is news, whenever it comes. */
  private settledSinceLookingLine = true;
  /** The current round's looking line was left out, so its outcome is too (it is part of a futile cycle). */
  private quietRound = false;

  constructor(
    readonly id: string,
    /** An observer neither votes nor leads, and its lines say so. */
    readonly observer: boolean,
  ) {}

  /** The lines for one Ready's events, `state` being the server's state after it. */
  observe(events: readonly ZabEvent[], state: StateReport, now_ms: number): string[] {
    this.state = state;
    const lines: string[] = [];
    const say = (line: string) => {
      // Commits before an election or a new epoch belong before it in the log.
      lines.push(...this.flushCommits(now_ms, true), line);
    };
    for (const event of events) {
      const line = this.describe(event, now_ms);
      if (line !== null) say(line);
    }
    lines.push(...this.flushCommits(now_ms, false));
    return lines;
  }

  /** Counts txns this server delivered; they are logged in batches by flushCommits. */
  delivered(count: number, from: string, to: string): void {
    if (count === 0) return;
    const pending = this.pendingCommits;
    this.pendingCommits = pending ? { count: pending.count + count, from: pending.from, to } : { count, from, to };
  }

  /** The commit line now if one is due (or `force`), else nothing. */
  flushCommits(now_ms: number, force = false): string[] {
    const pending = this.pendingCommits;
    if (!pending) return [];
    if (!force && now_ms - this.commitLoggedAtMs < commit_log_interval_ms) return [];
    this.pendingCommits = null;
    this.commitLoggedAtMs = now_ms;
    const which = pending.count === 1 ? `txn ${pending.to}` : `${pending.count} txns (${pending.from}..${pending.to})`;
    const role = this.state?.role;
    const how =
      role === 'leading'
        ? 'a quorum logged them'
        : role === 'observing'
          ? 'the leader informed this observer of them'
          : 'the leader said a quorum logged them';
    return [`committed ${which}: ${how}; last zxid ${this.state?.last_zxid ?? '?'}, epoch ${this.state?.current_epoch ?? '?'}`];
  }

  /** When flushCommits would next have a line, or null when nothing waits. */
  commitDueMs(): number | null {
    return this.pendingCommits ? this.commitLoggedAtMs + commit_log_interval_ms : null;
  }

  private describe(event: ZabEvent, now_ms: number): string | null {
    const s = this.state!;
    switch (event.type) {
      case 'looking': {
        this.lookingUnlogged++;
        this.quietRound = !this.settledSinceLookingLine && now_ms - this.lookingLoggedAtMs < looking_log_interval_ms;
        if (this.quietRound) return null;
        this.settledSinceLookingLine = false;
        const more = this.lookingUnlogged > 1 ? ` (${this.lookingUnlogged - 1} futile rounds since the last such line)` : '';
        this.lookingLoggedAtMs = now_ms;
        this.lookingUnlogged = 0;
        const vote = this.observer ? 'observers do not vote' : `it votes for itself with epoch ${s.current_epoch}, last zxid ${s.last_zxid}`;
        return `looking for a leader, election round ${event.round}: ${event.reason}; ${vote}${more}`;
      }
      case 'elected':
        if (this.quietRound) return null;
        if (event.role === 'leading') {
          return `election round ${event.round} decided: this server leads (a quorum agreed its (epoch, zxid, id) is the highest); now asking its followers for their accepted epochs`;
        }
        if (event.role === 'observing') return `election round ${event.round} decided: observing ${event.leader} (an observer learns the leader and neither votes nor leads)`;
        return `election round ${event.round} decided: following ${event.leader}`;
      case 'new_epoch':
        return `a quorum sent FOLLOWERINFO: new epoch ${event.epoch}, one past every epoch they accepted; this leader's txns will be ${event.epoch}:1, ${event.epoch}:2, ...`;
      case 'learner_synced':
        return `synchronizing ${event.learner} by ${event.mode} from its last zxid ${event.from_zxid}: ${sync_mode_meaning[event.mode]}`;
      case 'synced': {
        this.settledSinceLookingLine = true;
        const cut =
          event.truncated_txns > 0
            ? `; cut ${event.truncated_txns} ${event.truncated_txns === 1 ? 'txn' : 'txns'} the leader does not have (never committed)`
            : '';
        const how = event.mode === 'SNAP' ? "replaced its state with the leader's snapshot" : event.mode === 'TRUNC' ? 'truncated its log to the leader\'s history' : 'took the txns it lacked';
        return `synced with ${event.leader} by ${event.mode} for epoch ${event.epoch}: ${how}${cut}; it acknowledges NEWLEADER once that is on disk`;
      }
      case 'established':
        this.settledSinceLookingLine = true;
        return `a quorum acknowledged NEWLEADER: established as leader of epoch ${event.epoch}; everything up to ${event.zxid} is committed and new writes get zxids ${event.epoch}:1 on`;
    }
  }
}
