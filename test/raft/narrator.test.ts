import { describe, expect, it } from 'vitest';
import { explainingLine } from '../../src/lib/util/stderr.js';
import { commit_log_interval_ms, type NarratedState, pre_vote_log_interval_ms, RaftNarrator } from '../../src/systems/raft/narrator.js';

const follower: NarratedState = {
  role: 'follower',
  term: 1,
  leader: 'n2',
  voted_for: null,
  commit_index: 10,
  last_applied: 10,
  log_first_index: 1,
  log_last_index: 10,
  snapshot_index: 0,
  rolled_back: 0,
};

/** A narrator that has seen `start`, so the next observation is compared with it. */
function narratorAt(start: NarratedState, id = 'n1'): RaftNarrator {
  const narrator = new RaftNarrator(id);
  expect(narrator.observe(start, 0)).toEqual([]);
  return narrator;
}

describe('the reference Raft node narrates its log', () => {
  it('tells an election from timeout to leadership, one line per step', () => {
    const narrator = narratorAt({ ...follower, leader: null });
    const lines = [
      ...narrator.observe({ ...follower, leader: null, role: 'pre_candidate' }, 100),
      ...narrator.observe({ ...follower, role: 'candidate', term: 2, leader: null, voted_for: 'n1' }, 110),
      ...narrator.observe({ ...follower, role: 'leader', term: 2, leader: 'n1', voted_for: 'n1', log_last_index: 11 }, 120),
    ];
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^heard from no leader for an election timeout: asking for pre-votes for term 2/);
    expect(lines[1]).toMatch(/^standing for election in term 2: voted for itself/);
    expect(lines[2]).toMatch(/^won the election: leader of term 2; appending a no-op entry at 11/);
  });

  it('says why a leader stepped down: a higher term, or no majority heard (check quorum)', () => {
    const leader = { ...follower, role: 'leader' as const, term: 3, leader: 'n1', voted_for: 'n1' };
    expect(narratorAt(leader).observe({ ...leader, role: 'follower', term: 4, leader: 'n3', voted_for: null }, 10)).toEqual([
      'stepped down as leader of term 3: saw term 4; n3 leads',
    ]);
    expect(narratorAt(leader).observe({ ...leader, role: 'follower', leader: null }, 10)).toEqual([
      'stepped down as leader of term 3: it has not heard from a majority for an election timeout (check quorum)',
    ]);
  });

  it('logs votes for others, new terms and new leaders', () => {
    const narrator = narratorAt(follower);
    expect(narrator.observe({ ...follower, term: 2, leader: null, voted_for: 'n3' }, 10)).toEqual([
      'moved to term 2 (a candidate or leader has it)',
      'voted for n3 in term 2: its log is at least as up to date as this one',
    ]);
    expect(narrator.observe({ ...follower, term: 2, leader: 'n3', voted_for: 'n3' }, 20)).toEqual(['following n3, leader of term 2']);
    expect(narrator.observe({ ...follower, term: 2, leader: 'n3', voted_for: 'n3' }, 30)).toEqual([]);
  });

  it('batches commits: at most one line per interval, with every index in it, and the rest when due', () => {
    const narrator = narratorAt(follower);
    const step = (commit: number, t: number) => narrator.observe({ ...follower, commit_index: commit, last_applied: commit, log_last_index: commit }, t);
    // The first commit after a quiet spell is said at once.
    expect(step(11, 1000)).toEqual(['committed entry 11: the leader says a majority stores it; applied up to 11, term 1']);
    // Then a busy second: 200 commits, no line until the interval is over.
    const lines: string[] = [];
    for (let i = 1; i <= 200; i++) lines.push(...step(11 + i, 1000 + i * 4));
    expect(lines).toEqual([]);
    expect(narrator.commitDueMs()).toBe(1000 + commit_log_interval_ms);
    expect(narrator.flushCommits(1000 + commit_log_interval_ms - 1)).toEqual([]);
    expect(narrator.flushCommits(1000 + commit_log_interval_ms)).toEqual(['committed 200 entries (12..211): the leader says a majority stores them; applied up to 211, term 1']);
    expect(narrator.commitDueMs()).toBeNull();
    expect(narrator.flushCommits(5000)).toEqual([]);
  });

  it('writes held commits before a change of role, so the log keeps its order', () => {
    const narrator = narratorAt(follower);
    narrator.observe({ ...follower, commit_index: 11 }, 1000);
    narrator.observe({ ...follower, commit_index: 12 }, 1001);
    expect(narrator.observe({ ...follower, commit_index: 12, role: 'pre_candidate', leader: null }, 1002)).toEqual([
      'committed entry 12: the leader says a majority stores it; applied up to 10, term 1',
      expect.stringMatching(/^heard from no leader for an election timeout/),
    ]);
  });

  it('summarises the pre-votes of a node that cannot win instead of a line each time', () => {
    const narrator = narratorAt({ ...follower, leader: null });
    const lines: string[] = [];
    // Turned down by a majority every election timeout (400 ms), for 12 s.
    for (let t = 400; t <= 12_000; t += 400) {
      lines.push(...narrator.observe({ ...follower, leader: null, role: 'pre_candidate' }, t));
      lines.push(...narrator.observe({ ...follower, leader: null, role: 'follower' }, t + 10));
    }
    const preVotes = lines.filter((l) => l.startsWith('heard from no leader'));
    expect(preVotes.length).toBeLessThanOrEqual(Math.ceil(12_000 / pre_vote_log_interval_ms));
    expect(preVotes.length).toBeGreaterThanOrEqual(2);
    expect(preVotes[1]).toMatch(/\(\d+ pre-votes since the last such line\)$/);
    // Each announced pre-vote's end is told, the quiet ones' are not.
    expect(lines.filter((l) => l.startsWith('gave up the pre-vote'))).toHaveLength(preVotes.length);
    // A crash report picks the last stderr line that reads like an error: these must not.
    for (const line of lines) expect(explainingLine([line, 'the real reason'])).toBe('the real reason');
  });

  it('tells rolled-back entries and snapshots taken or installed', () => {
    const narrator = narratorAt(follower);
    expect(narrator.observe({ ...follower, rolled_back: 3 }, 10)).toEqual(['rolled back 3 uncommitted entries: the leader n2 has different ones at those indexes']);
    expect(narrator.observe({ ...follower, rolled_back: 3, snapshot_index: 10, log_first_index: 11 }, 20)).toEqual([
      'took a snapshot at index 10: the log now keeps no entries before the next one',
    ]);
    expect(narratorAt({ ...follower, log_last_index: 14 }).observe({ ...follower, log_last_index: 14, snapshot_index: 10, log_first_index: 11 }, 20)).toEqual([
      'took a snapshot at index 10: the log now keeps only entries 11..14',
    ]);
    expect(narrator.observe({ ...follower, rolled_back: 3, snapshot_index: 500, log_first_index: 501, log_last_index: 500, commit_index: 500, last_applied: 500 }, 30)).toEqual([
      'installed a snapshot up to index 500 from n2: it was too far behind for log entries',
      'committed 490 entries (11..500): the leader says a majority stores them; applied up to 500, term 1',
    ]);
  });
});
