// The Raft node's log in sentences, from its state reports. Words only: it decides nothing and writes
// nowhere (the host logs the lines it returns).

import type { StateReport } from './core/core.js';

/**
 * The reference Raft node's log, in sentences a student can follow: elections,
 * role and term changes, votes, leaders, rolled-back entries and commits. The
 * core reports no events, only its state after each step (Ready.state), so
 * the host compares each state with the previous one and says what changed.
 * Commits come in batches, and repeated pre-votes of a node that cannot win
 * are summarised, so the log stays readable under load or a partition.
 */

/** At most one commit line per this interval; the entries committed meanwhile are summed into it. */
export const commit_log_interval_ms = 1000;
/** A node cut off from the others asks for pre-votes every election timeout: one line per this interval, with a count. */
export const pre_vote_log_interval_ms = 5000;

export interface NarratedState extends StateReport {
  /** Uncommitted entries the node's log has lost to a new leader's so far. */
  rolled_back: number;
}

export class RaftNarrator {
  private last: NarratedState | null = null;
  /** Committed entries not yet logged: the first and last index. */
  private pendingCommits: { from: number; to: number } | null = null;
  private commitLoggedAtMs = Number.NEGATIVE_INFINITY;
  private preVoteLoggedAtMs = Number.NEGATIVE_INFINITY;
  private preVotesUnlogged = 0;
  /** Whether the current pre-vote got a line; if not, neither does its end. */
  private preVoteAnnounced = false;

  constructor(readonly id: string) {}

  /** The lines for how `state` differs from the state observed before (none for the first). */
  observe(state: NarratedState, now_ms: number): string[] {
    const before = this.last;
    this.last = { ...state };
    if (!before) return [];
    const lines: string[] = [];
    const say = (line: string) => {
      // Commits before a change of role or term belong before it in the log.
      lines.push(...this.flushCommits(now_ms, true), line);
    };
    const term = state.term;
    const roleOrTermChanged = state.role !== before.role || term !== before.term;

    if (state.role === 'pre_candidate' && before.role !== 'pre_candidate') {
      this.preVotesUnlogged++;
      this.preVoteAnnounced = now_ms - this.preVoteLoggedAtMs >= pre_vote_log_interval_ms;
      if (this.preVoteAnnounced) {
        const more = this.preVotesUnlogged > 1 ? ` (${this.preVotesUnlogged} pre-votes since the last such line)` : '';
        say(`heard from no leader for an election timeout: asking for pre-votes for term ${term + 1}, which changes no term until a majority agrees${more}`);
        this.preVoteLoggedAtMs = now_ms;
        this.preVotesUnlogged = 0;
      }
    } else if (state.role === 'candidate' && roleOrTermChanged) {
      say(`standing for election in term ${term}: voted for itself, asking the others for votes (log ends at ${state.log_last_index})`);
    } else if (state.role === 'leader' && roleOrTermChanged) {
      say(`won the election: leader of term ${term}; appending a no-op entry at ${state.log_last_index} so entries of earlier terms can commit`);
    } else if (state.role === 'follower' && before.role !== 'follower') {
      const quietPreVote = before.role === 'pre_candidate' && !this.preVoteAnnounced && term === before.term && state.leader === null;
      if (!quietPreVote) say(this.describeStepDown(before, state));
    } else if (state.role === 'follower' && term > before.term) {
      say(`moved to term ${term}${state.leader ? `, following ${state.leader}` : ' (a candidate or leader has it)'}`);
    } else if (state.role === 'follower' && state.leader !== before.leader && state.leader !== null) {
      say(`following ${state.leader}, leader of term ${term}`);
    }

    if (state.voted_for !== null && state.voted_for !== this.id && (state.voted_for !== before.voted_for || term !== before.term)) {
      say(`voted for ${state.voted_for} in term ${term}: its log is at least as up to date as this one`);
    }
    if (state.rolled_back > before.rolled_back) {
      const count = state.rolled_back - before.rolled_back;
      say(`rolled back ${count} uncommitted ${count === 1 ? 'entry' : 'entries'}: the leader${state.leader ? ` ${state.leader}` : ''} has different ones at those indexes`);
    }
    if (state.snapshot_index > before.snapshot_index) {
      const taken = state.snapshot_index <= before.last_applied || state.role === 'leader';
      say(
        taken
          ? `took a snapshot at index ${state.snapshot_index}: the log now keeps ${state.log_last_index >= state.log_first_index ? `only entries ${state.log_first_index}..${state.log_last_index}` : 'no entries before the next one'}`
          : `installed a snapshot up to index ${state.snapshot_index} from ${state.leader ?? 'the leader'}: it was too far behind for log entries`,
      );
    }
    if (state.commit_index > before.commit_index) {
      const from = this.pendingCommits?.from ?? before.commit_index + 1;
      this.pendingCommits = { from, to: state.commit_index };
    }
    lines.push(...this.flushCommits(now_ms, false));
    return lines;
  }

  /** The commit line now if one is due (or `force`), else nothing. */
  flushCommits(now_ms: number, force = false): string[] {
    const pending = this.pendingCommits;
    if (!pending) return [];
    if (!force && now_ms - this.commitLoggedAtMs < commit_log_interval_ms) return [];
    this.pendingCommits = null;
    this.commitLoggedAtMs = now_ms;
    const count = pending.to - pending.from + 1;
    const which = count === 1 ? `entry ${pending.to}` : `${count} entries (${pending.from}..${pending.to})`;
    const them = count === 1 ? 'it' : 'them';
    const how = this.last?.role === 'leader' ? `a majority stores ${them}` : `the leader says a majority stores ${them}`;
    return [`committed ${which}: ${how}; applied up to ${this.last?.last_applied ?? pending.to}, term ${this.last?.term ?? '?'}`];
  }

  /** When flushCommits would next have a line, or null when nothing waits. */
  commitDueMs(): number | null {
    return this.pendingCommits ? this.commitLoggedAtMs + commit_log_interval_ms : null;
  }

  private describeStepDown(before: NarratedState, state: NarratedState): string {
    const higher = state.term > before.term;
    const leading = state.leader ? `; ${state.leader} leads` : '';
    if (before.role === 'leader') {
      return higher
        ? `stepped down as leader of term ${before.term}: saw term ${state.term}${leading}`
        : `stepped down as leader of term ${before.term}: it has not heard from a majority for an election timeout (check quorum)`;
    }
    const what = before.role === 'candidate' ? `the election for term ${before.term}` : `the pre-vote for term ${before.term + 1}`;
    if (higher || state.leader) return `gave up ${what}: ${higher ? `saw term ${state.term}` : 'another node won'}${leading}`;
    return `gave up ${what}: a majority said no`;
  }
}
