// The Zab server's log lines: what a student reads in `dslab logs`.

import { describe, expect, it } from 'vitest';
import type { StateReport } from '../../src/systems/zab/core/core.js';
import { commit_log_interval_ms, looking_log_interval_ms, ZabNarrator } from '../../src/systems/zab/narrator.js';

const state = (fields: Partial<StateReport> = {}): StateReport => ({
  role: 'following',
  phase: 'broadcast',
  accepted_epoch: 2,
  current_epoch: 2,
  last_zxid: '2:0',
  committed_zxid: '2:0',
  leader: 'n1',
  election_round: 1,
  sync_mode: null,
  learner_sync_modes: '',
  syncs: 0,
  truncated_txns: 0,
  established: false,
  ...fields,
});

describe('zab narrator', () => {
  it('says how a follower was synced, with how many txns a TRUNC cut', () => {
    const n = new ZabNarrator('n2', false);
    const lines = n.observe([{ type: 'synced', leader: 'n1', mode: 'TRUNC', truncated_txns: 3, epoch: 2 }], state({ sync_mode: 'TRUNC' }), 0);
    expect(lines).toEqual([expect.stringMatching(/^synced with n1 by TRUNC for epoch 2: .*cut 3 txns the leader does not have/)]);
  });

  it('names the round of each election, and sums a futile cycle of rounds into one line per interval', () => {
    const n = new ZabNarrator('n2', false);
    const looking = (round: number, at: number) => n.observe([{ type: 'looking', round, reason: 'nothing from leader n1 for 500ms' }], state({ role: 'looking' }), at);
    const elected = (round: number, at: number) => n.observe([{ type: 'elected', leader: 'n3', round, role: 'following' }], state(), at);
    expect(looking(2, 0)).toEqual([expect.stringMatching(/^looking for a leader, election round 2: nothing from leader n1/)]);
    expect(elected(2, 10)).toEqual(['election round 2 decided: following n3']);
    // It never synced with n3: the next rounds within the interval are left out, outcome and all.
    expect(looking(3, 600)).toEqual([]);
    expect(elected(3, 610)).toEqual([]);
    expect(looking(4, 1200)).toEqual([]);
    expect(looking(5, looking_log_interval_ms + 1)).toEqual([expect.stringMatching(/election round 5: .*\(2 futile rounds since the last such line\)$/)]);
    // Once synced, the next election is news at once.
    n.observe([{ type: 'synced', leader: 'n3', mode: 'DIFF', truncated_txns: 0, epoch: 3 }], state(), looking_log_interval_ms + 100);
    expect(looking(6, looking_log_interval_ms + 200)).toHaveLength(1);
  });

  it('batches commits into one line per interval', () => {
    const n = new ZabNarrator('n1', false);
    n.delivered(1, '2:1', '2:1');
    expect(n.observe([], state({ role: 'leading' }), 0)).toEqual([expect.stringMatching(/^committed txn 2:1: a quorum logged them/)]);
    n.delivered(2, '2:2', '2:3');
    expect(n.observe([], state({ role: 'leading' }), 10)).toEqual([]);
    n.delivered(1, '2:4', '2:4');
    expect(n.commitDueMs()).toBe(commit_log_interval_ms);
    expect(n.flushCommits(commit_log_interval_ms)).toEqual([expect.stringMatching(/^committed 3 txns \(2:2\.\.2:4\)/)]);
  });
});
