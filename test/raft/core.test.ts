import { describe, expect, it } from 'vitest';
import {
  RaftCore,
  RaftInvariantError,
  type LogEntry,
  type PersistedState,
  type RaftConfig,
  type RaftMessage,
  type ReadState,
  type Ready,
} from '../../src/systems/raft/core/core.js';
import {
  KvStateMachine,
  kv_error_key_does_not_exist,
  kv_error_malformed_request,
  kv_error_precondition_failed,
  type KvCommand,
} from '../../src/systems/raft/core/kv.js';
import { createRng, type Rng } from '../../src/lib/util/prng.js';

// ---- a hand-driven network of cores ---------------------------------------------------------------

const fast: Partial<RaftConfig> = {
  election_timeout_ms_min: 100,
  election_timeout_ms_max: 200,
  heartbeat_interval_ms: 20,
};

interface Sent {
  from: string;
  to: string;
  body: RaftMessage;
}

class Net {
  readonly cores = new Map<string, RaftCore>();
  readonly applied = new Map<string, LogEntry[]>();
  readonly reads = new Map<string, ReadState[]>();
  readonly readies = new Map<string, Ready[]>();
  readonly log: Sent[] = [];
  queue: Sent[] = [];
  /** Nodes cut off from everyone. */
  readonly isolated = new Set<string>();
  /** Return true to drop a message. */
  drop: (m: Sent) => boolean = () => false;
  now = 0;
  private readonly rng: Rng;

  constructor(
    readonly ids: string[],
    readonly config: Partial<RaftConfig> = fast,
    seed = 1,
    persisted: Record<string, PersistedState> = {},
  ) {
    this.rng = createRng(seed);
    for (const id of ids) this.start(id, persisted[id]);
  }

  start(id: string, persisted?: PersistedState): RaftCore {
    const core = new RaftCore({
      id,
      peers: this.ids.filter((p) => p !== id),
      config: this.config,
      persisted,
      random: () => this.rng.next(),
      now_ms: this.now,
    });
    this.cores.set(id, core);
    this.applied.set(id, this.applied.get(id) ?? []);
    this.reads.set(id, []);
    this.readies.set(id, []);
    return core;
  }

  core(id: string): RaftCore {
    return this.cores.get(id)!;
  }

  collect(id: string): void {
    const core = this.core(id);
    while (core.hasReady()) {
      const rd = core.ready();
      this.readies.get(id)!.push(rd);
      for (const m of rd.messages) {
        const sent = { from: id, to: m.to, body: m.body };
        this.log.push(sent);
        this.queue.push(sent);
      }
      this.applied.get(id)!.push(...rd.committed);
      this.reads.get(id)!.push(...rd.read_states);
    }
  }

  deliverAll(limit = 100_000): void {
    for (const id of this.ids) this.collect(id);
    let n = 0;
    while (this.queue.length > 0) {
      if (++n > limit) throw new Error('network did not quiesce');
      const m = this.queue.shift()!;
      if (this.isolated.has(m.from) || this.isolated.has(m.to) || this.drop(m)) continue;
      const core = this.core(m.to);
      core.tick(this.now);
      core.step(m.from, m.body);
      this.collect(m.to);
    }
  }

  /** Advance time in steps, ticking every core and delivering everything in between. */
  run(ms: number, step_ms = 5): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now = Math.min(end, this.now + step_ms);
      for (const id of this.ids) {
        this.core(id).tick(this.now);
        this.collect(id);
      }
      this.deliverAll();
    }
  }

  leaders(): string[] {
    return this.ids.filter((id) => this.core(id).state().role === 'leader');
  }

  leader(): string {
    const leaders = this.leaders();
    expect(leaders).toHaveLength(1);
    return leaders[0]!;
  }

  sent(type: RaftMessage['type'], since = 0): Sent[] {
    return this.log.slice(since).filter((m) => m.body.type === type);
  }
}

function log(...terms: number[]): LogEntry[] {
  return terms.map((term, k) => ({ index: k + 1, term, op: { k: k + 1 } }));
}

function persisted(term: number, entries: LogEntry[], voted_for: string | null = null): PersistedState {
  return { hard_state: { term, voted_for }, snapshot: null, entries };
}

function single(id: string, peers: string[], p?: PersistedState, config: Partial<RaftConfig> = fast, random = () => 0.5): RaftCore {
  return new RaftCore({ id, peers, config, persisted: p, random });
}

/** Make a core with peers [n2, n3] the leader of the next term by answering its votes by hand. */
function electByHand(core: RaftCore): void {
  core.tick(core.nextTimerMs());
  const pre = core.ready().messages.filter((m) => m.body.type === 'pre_vote');
  expect(pre.length).toBeGreaterThan(0);
  core.step('n2', { type: 'pre_vote_ok', term: core.state().term + 1, vote_granted: true });
  expect(core.state().role).toBe('candidate');
  core.step('n2', { type: 'request_vote_ok', term: core.state().term, vote_granted: true });
  expect(core.state().role).toBe('leader');
}

function appendOk(term: number, match_index: number, read_seq = 0): RaftMessage {
  return { type: 'append_entries_ok', term, success: true, match_index, prev_log_index: 0, conflict_index: 0, conflict_term: null, read_seq };
}

// ---- elections ----------------------------------------------------------------------------------

describe('elections', () => {
  it('elects exactly one leader that everyone follows', () => {
    const net = new Net(['n1', 'n2', 'n3']);
    net.run(600);
    const leader = net.leader();
    const term = net.core(leader).state().term;
    for (const id of net.ids) {
      expect(net.core(id).state().term).toBe(term);
      expect(net.core(id).state().leader).toBe(leader);
    }
  });

  it('draws election timeouts from [min, max) with the injected random source', () => {
    const at = (r: number): number => single('n1', ['n2', 'n3'], undefined, fast, () => r).nextTimerMs();
    expect(at(0)).toBe(100);
    expect(at(0.5)).toBe(150);
    expect(at(0.999)).toBe(199);
    expect(() => single('n1', ['n2'], undefined, fast, () => 1)).toThrow(RaftInvariantError);
  });

  it('a new leader appends a no-op of its own term', () => {
    const net = new Net(['n1', 'n2', 'n3']);
    net.run(600);
    const core = net.core(net.leader());
    const s = core.state();
    expect(core.entryAt(s.log_last_index)).toEqual({ index: s.log_last_index, term: s.term, op: null });
    expect(s.commit_index).toBe(s.log_last_index);
  });

  it('grants one vote per term and persists it in the same Ready as the answer', () => {
    const core = single('n1', ['n2', 'n3']);
    core.step('n2', { type: 'request_vote', term: 1, last_log_index: 0, last_log_term: 0, transfer: false });
    const rd = core.ready();
    expect(rd.hard_state).toEqual({ term: 1, voted_for: 'n2' });
    expect(rd.messages).toEqual([{ to: 'n2', body: { type: 'request_vote_ok', term: 1, vote_granted: true } }]);
    core.step('n3', { type: 'request_vote', term: 1, last_log_index: 5, last_log_term: 1, transfer: false });
    expect(core.ready().messages[0]!.body).toEqual({ type: 'request_vote_ok', term: 1, vote_granted: false });
    // The vote survives a restart.
    const again = single('n1', ['n2', 'n3'], persisted(1, [], 'n2'));
    again.step('n3', { type: 'request_vote', term: 1, last_log_index: 5, last_log_term: 1, transfer: false });
    expect(again.ready().messages[0]!.body).toMatchObject({ vote_granted: false });
  });

  it('persists a vote granted within the current term (no term change to carry it)', () => {
    const core = single('n1', ['n2', 'n3'], persisted(4, []));
    core.step('n2', { type: 'request_vote', term: 4, last_log_index: 0, last_log_term: 0, transfer: false });
    const rd = core.ready();
    expect(rd.hard_state).toEqual({ term: 4, voted_for: 'n2' });
    expect(rd.messages[0]!.body).toMatchObject({ vote_granted: true });
  });

  it('grants a pre-vote only for a higher term and an up-to-date log, and changes nothing', () => {
    const core = single('n1', ['n2', 'n3'], persisted(2, log(1, 2)));
    core.step('n2', { type: 'pre_vote', term: 3, last_log_index: 5, last_log_term: 1 });
    expect(core.ready().messages[0]!.body).toEqual({ type: 'pre_vote_ok', term: 2, vote_granted: false });
    core.step('n2', { type: 'pre_vote', term: 2, last_log_index: 5, last_log_term: 2 });
    expect(core.ready().messages[0]!.body).toEqual({ type: 'pre_vote_ok', term: 2, vote_granted: false });
    core.step('n2', { type: 'pre_vote', term: 3, last_log_index: 2, last_log_term: 2 });
    const rd = core.ready();
    expect(rd.messages[0]!.body).toEqual({ type: 'pre_vote_ok', term: 3, vote_granted: true });
    expect(rd.hard_state).toBeNull();
    expect(core.state()).toMatchObject({ term: 2, voted_for: null });
  });

  it('refuses candidates whose log is less up to date (election restriction)', () => {
    const core = single('n1', ['n2', 'n3'], persisted(2, log(1, 2, 2)));
    // Lower last term, longer log: refused.
    core.step('n2', { type: 'request_vote', term: 3, last_log_index: 9, last_log_term: 1, transfer: false });
    expect(core.ready().messages[0]!.body).toMatchObject({ vote_granted: false });
    // Same last term, shorter log: refused.
    core.step('n2', { type: 'request_vote', term: 4, last_log_index: 2, last_log_term: 2, transfer: false });
    expect(core.ready().messages[0]!.body).toMatchObject({ vote_granted: false });
    // Same last term, same length: granted.
    core.step('n3', { type: 'request_vote', term: 5, last_log_index: 3, last_log_term: 2, transfer: false });
    expect(core.ready().messages[0]!.body).toMatchObject({ vote_granted: true, term: 5 });
  });

  it('steps down on any message with a higher term', () => {
    const net = new Net(['n1', 'n2', 'n3']);
    net.run(600);
    const leader = net.core(net.leader());
    const term = leader.state().term;
    const other = net.ids.find((id) => id !== leader.id)!;
    leader.step(other, { type: 'request_vote_ok', term: term + 5, vote_granted: false });
    expect(leader.state()).toMatchObject({ role: 'follower', term: term + 5, voted_for: null });
  });

  it('a single-node cluster elects itself and commits at once', () => {
    const core = single('n1', []);
    core.tick(core.nextTimerMs());
    expect(core.state().role).toBe('leader');
    const r = core.propose({ x: 1 });
    expect(r).toMatchObject({ ok: true, index: 2 });
    const rd = core.ready();
    expect(rd.committed.map((e) => e.index)).toEqual([1, 2]);
    expect(rd.entries.map((e) => e.index)).toEqual([1, 2]);
  });
});

// ---- PreVote and CheckQuorum ----------------------------------------------------------------------

describe('PreVote and CheckQuorum', () => {
  it('an isolated node keeps its term while it cannot win (pre-vote)', () => {
    const net = new Net(['n1', 'n2', 'n3']);
    net.run(600);
    const lone = net.ids.find((id) => id !== net.leader())!;
    const term = net.core(lone).state().term;
    net.isolated.add(lone);
    net.run(2000);
    expect(net.core(lone).state().term).toBe(term);
    expect(net.core(lone).state().role).toBe('pre_candidate');
  });

  const rejoin = (config: Partial<RaftConfig>): { before: [string, number]; after: [string, number] } => {
    const net = new Net(['n1', 'n2', 'n3', 'n4', 'n5'], { ...fast, ...config }, 7);
    net.run(600);
    const leader = net.leader();
    const before: [string, number] = [leader, net.core(leader).state().term];
    const lone = net.ids.find((id) => id !== leader)!;
    net.isolated.add(lone);
    net.run(1500);
    net.isolated.clear();
    net.run(1500);
    const now = net.leader();
    return { before, after: [now, net.core(now).state().term] };
  };

  it('a rejoining partitioned node does not depose a healthy leader', () => {
    const { before, after } = rejoin({ pre_vote: true, check_quorum: true });
    expect(after).toEqual(before);
  });

  it('without PreVote and CheckQuorum the same rejoin does depose the leader (control)', () => {
    const { before, after } = rejoin({ pre_vote: false, check_quorum: false });
    expect(after[1]).toBeGreaterThan(before[1]);
  });

  it('followers that hear from a leader ignore vote requests with a higher term (leader lease)', () => {
    const net = new Net(['n1', 'n2', 'n3']);
    net.run(600);
    const leader = net.leader();
    const follower = net.ids.find((id) => id !== leader)!;
    const other = net.ids.find((id) => id !== leader && id !== follower)!;
    const core = net.core(follower);
    const term = core.state().term;
    core.step(other, { type: 'request_vote', term: term + 1, last_log_index: 100, last_log_term: term, transfer: false });
    expect(core.state().term).toBe(term);
    expect(core.ready().messages).toEqual([]);
    // A transfer (timeout_now) election is not disruption: it bypasses the lease.
    core.step(other, { type: 'request_vote', term: term + 1, last_log_index: 100, last_log_term: term, transfer: true });
    expect(core.state()).toMatchObject({ term: term + 1, voted_for: other });
  });

  it('a leader cut off from a majority steps down within two election timeouts', () => {
    const net = new Net(['n1', 'n2', 'n3']);
    net.run(600);
    const leader = net.leader();
    net.isolated.add(leader);
    net.run(2 * 100 + 10);
    expect(net.core(leader).state().role).toBe('follower');
  });

  it('without CheckQuorum the cut-off leader stays leader (control)', () => {
    const net = new Net(['n1', 'n2', 'n3'], { ...fast, check_quorum: false });
    net.run(600);
    const leader = net.leader();
    net.isolated.add(leader);
    net.run(500);
    expect(net.core(leader).state().role).toBe('leader');
  });
});

// ---- log replication ----------------------------------------------------------------------------

describe('log replication', () => {
  it('replicates, commits and applies proposals in order on every node', () => {
    const net = new Net(['n1', 'n2', 'n3']);
    net.run(600);
    const leader = net.core(net.leader());
    const indexes: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = leader.propose({ i });
      expect(r.ok).toBe(true);
      if (r.ok) indexes.push(r.index);
    }
    net.run(100);
    for (const id of net.ids) {
      const ops = net.applied.get(id)!.filter((e) => e.op !== null).map((e) => (e.op as { i: number }).i);
      expect(ops).toEqual([...Array(20).keys()]);
      expect(net.core(id).state().commit_index).toBe(indexes[19]);
    }
  });

  it('followers refuse proposals and name the leader', () => {
    const net = new Net(['n1', 'n2', 'n3']);
    net.run(600);
    const leader = net.leader();
    const follower = net.ids.find((id) => id !== leader)!;
    expect(net.core(follower).propose({ x: 1 })).toEqual({ ok: false, error: 'not_leader', leader });
  });

  it('rejects an append whose previous entry it lacks, with conflict hints', () => {
    const core = single('n2', ['n1', 'n3'], persisted(3, log(1, 1, 2, 2, 2)));
    // Log too short.
    core.step('n1', { type: 'append_entries', term: 3, prev_log_index: 9, prev_log_term: 3, entries: [], leader_commit: 0, read_seq: 0 });
    expect(core.ready().messages[0]!.body).toMatchObject({ success: false, conflict_index: 6, conflict_term: null });
    // Term mismatch at 5: point at the first entry of term 2.
    core.step('n1', { type: 'append_entries', term: 3, prev_log_index: 5, prev_log_term: 3, entries: [], leader_commit: 0, read_seq: 0 });
    expect(core.ready().messages[0]!.body).toMatchObject({ success: false, conflict_index: 3, conflict_term: 2, prev_log_index: 5 });
    expect(core.state().log_last_index).toBe(5);
  });

  it('truncates conflicting entries and persists the change', () => {
    const core = single('n2', ['n1', 'n3'], persisted(3, log(1, 1, 2, 2)));
    const entry: LogEntry = { index: 3, term: 3, op: { new: true } };
    core.step('n1', { type: 'append_entries', term: 3, prev_log_index: 2, prev_log_term: 1, entries: [entry], leader_commit: 3, read_seq: 0 });
    const rd = core.ready();
    expect(rd.log_truncate_from).toBe(3);
    expect(rd.entries).toEqual([entry]);
    expect(rd.committed.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(rd.messages[0]!.body).toMatchObject({ success: true, match_index: 3 });
    expect(core.state().log_last_index).toBe(3);
    expect(core.termAt(3)).toBe(3);
  });

  it('keeps its log on a duplicate or reordered older append (no truncation of matching entries)', () => {
    const core = single('n2', ['n1', 'n3'], persisted(2, log(1, 2, 2, 2)));
    core.step('n1', { type: 'append_entries', term: 2, prev_log_index: 1, prev_log_term: 1, entries: log(1, 2).slice(1), leader_commit: 0, read_seq: 0 });
    const rd = core.ready();
    expect(rd.log_truncate_from).toBeNull();
    expect(core.state().log_last_index).toBe(4);
    expect(rd.messages[0]!.body).toMatchObject({ success: true, match_index: 2 });
  });

  it('backs up past a whole conflicting term per round trip (fast back-up)', () => {
    // Figure 7 style: the leader has terms 1 1 1 4 4 5 5 6 6 6; the follower 1 1 1 2 2 2 3 3 3 3 3.
    const ids = ['n1', 'n2', 'n3'];
    const net = new Net(ids, { ...fast, election_timeout_ms_min: 100, election_timeout_ms_max: 101 }, 3, {
      n1: persisted(6, log(1, 1, 1, 4, 4, 5, 5, 6, 6, 6)),
      n2: persisted(6, log(1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3)),
      n3: persisted(6, log(1, 1, 1, 4, 4, 5, 5, 6, 6, 6)),
    });
    // n1 must win: hold n3 back, then let it vote.
    net.drop = (m) => m.from === 'n2' && (m.body.type === 'pre_vote' || m.body.type === 'request_vote');
    net.core('n3').tick(0);
    net.run(400);
    const leader = net.leader();
    expect(leader).not.toBe('n2');
    const rejections = net.log.filter((m) => m.from === 'n2' && m.body.type === 'append_entries_ok' && !m.body.success);
    expect(rejections.length).toBeLessThanOrEqual(3);
    expect(net.core('n2').termAt(4)).toBe(4);
    expect(net.core('n2').state().log_last_index).toBe(net.core(leader).state().log_last_index);
  });

  it('batches at most append_entries_max entries per message to a follower that is behind', () => {
    const net = new Net(['n1', 'n2', 'n3'], { ...fast, append_entries_max: 4, append_inflight_entries_max: 8 });
    net.run(600);
    const leader = net.core(net.leader());
    const lagging = net.ids.find((id) => id !== leader.id)!;
    net.isolated.add(lagging);
    for (let i = 0; i < 30; i++) leader.propose({ i });
    net.run(50);
    const since = net.log.length;
    net.isolated.clear();
    net.run(300);
    const appends = net.sent('append_entries', since).filter((m) => m.to === lagging);
    const sizes = appends.map((m) => (m.body as { entries: LogEntry[] }).entries.length);
    expect(Math.max(...sizes)).toBe(4);
    expect(sizes.filter((n) => n > 0).length).toBeGreaterThanOrEqual(8); // 30 entries, at most 4 at a time
    expect(net.core(lagging).state().commit_index).toBe(leader.state().log_last_index);
  });

  it('commits an old-term entry only through an entry of the current term (Figure 8)', () => {
    // n1 holds index 2 from term 2 that nobody else has; it becomes leader of term 4.
    const core = single('n1', ['n2', 'n3'], persisted(3, log(1, 2)));
    electByHand(core);
    expect(core.state()).toMatchObject({ term: 4, log_last_index: 3 });
    // A majority (n1, n2) now holds index 2, but it is from term 2: not committed by counting.
    core.step('n2', appendOk(4, 2));
    expect(core.state().commit_index).toBe(0);
    // Once the term-4 no-op is on a majority, everything up to it commits.
    core.step('n2', appendOk(4, 3));
    expect(core.state().commit_index).toBe(3);
  });

  it('stops sending to a follower that stopped answering after one probe (bounded in-flight)', () => {
    const core = single('n1', ['n2', 'n3'], undefined, { ...fast, append_entries_max: 2, append_inflight_entries_max: 4 });
    electByHand(core);
    core.ready();
    core.step('n2', appendOk(1, 1));
    core.ready();
    for (let i = 0; i < 20; i++) core.propose({ i });
    const to_n2 = core.ready().messages.filter((m) => m.to === 'n2' && m.body.type === 'append_entries');
    const entries = to_n2.reduce((n, m) => n + (m.body as { entries: LogEntry[] }).entries.length, 0);
    expect(entries).toBe(4);
  });

  it('refuses proposals beyond uncommitted_entries_max', () => {
    const core = single('n1', ['n2', 'n3'], undefined, { ...fast, uncommitted_entries_max: 5 });
    electByHand(core);
    const results = Array.from({ length: 6 }, (_, i) => core.propose({ i }));
    expect(results.filter((r) => r.ok)).toHaveLength(4); // the no-op counts as uncommitted too
    expect(results[5]).toMatchObject({ ok: false, error: 'busy' });
  });
});

// ---- snapshots ----------------------------------------------------------------------------------

describe('snapshots and compaction', () => {
  it('compaction drops the log prefix and asks the runtime to persist the snapshot', () => {
    const core = single('n1', []);
    core.tick(core.nextTimerMs());
    for (let i = 0; i < 5; i++) core.propose({ i });
    core.ready();
    core.compact(4, { state: 'at 4' });
    const rd = core.ready();
    expect(rd.snapshot).toEqual({ index: 4, term: 1, data: { state: 'at 4' } });
    expect(core.state()).toMatchObject({ snapshot_index: 4, log_first_index: 5, log_last_index: 6 });
    expect(core.entryAt(4)).toBeUndefined();
    expect(core.termAt(4)).toBe(1);
    expect(() => core.compact(7, null)).toThrow(RaftInvariantError);
  });

  it('a follower behind the leader\'s first index gets install_snapshot and catches up', () => {
    const net = new Net(['n1', 'n2', 'n3']);
    net.run(600);
    const leader = net.core(net.leader());
    const lagging = net.ids.find((id) => id !== leader.id)!;
    net.isolated.add(lagging);
    for (let i = 0; i < 10; i++) leader.propose({ i });
    net.run(100);
    const applied = leader.state().last_applied;
    leader.compact(applied, { upto: applied });
    for (let i = 10; i < 13; i++) leader.propose({ i });
    net.run(50);
    const since = net.log.length;
    net.isolated.clear();
    net.run(300);
    expect(net.sent('install_snapshot', since).filter((m) => m.to === lagging).length).toBeGreaterThan(0);
    const rd = net.readies.get(lagging)!.find((r) => r.apply_snapshot !== null);
    expect(rd?.apply_snapshot).toMatchObject({ index: applied, data: { upto: applied } });
    expect(rd?.snapshot?.index).toBe(applied);
    const st = net.core(lagging).state();
    expect(st).toMatchObject({ snapshot_index: applied, commit_index: leader.state().commit_index });
    // After the snapshot, it applied the three later entries normally.
    const later = net.applied.get(lagging)!.filter((e) => e.index > applied && e.op !== null);
    expect(later.map((e) => (e.op as { i: number }).i)).toEqual([10, 11, 12]);
  });

  it('restarts from a snapshot plus log and hands the snapshot to the state machine first', () => {
    const snap = { index: 3, term: 1, data: { kv: 'state' } };
    const core = new RaftCore({
      id: 'n1',
      peers: ['n2', 'n3'],
      config: fast,
      random: () => 0.5,
      persisted: { hard_state: { term: 2, voted_for: 'n2' }, snapshot: snap, entries: [...log(1, 1, 1, 2, 2)] },
    });
    expect(core.state()).toMatchObject({ term: 2, voted_for: 'n2', snapshot_index: 3, log_first_index: 4, log_last_index: 5, commit_index: 3 });
    expect(core.ready().apply_snapshot).toEqual(snap);
  });

  it('an install_snapshot covering entries it already has only advances the commit index', () => {
    const core = single('n2', ['n1', 'n3'], persisted(2, log(1, 1, 2, 2)));
    core.step('n1', { type: 'install_snapshot', term: 2, snapshot: { index: 3, term: 2, data: 'x' }, read_seq: 0 });
    const rd = core.ready();
    expect(rd.apply_snapshot).toBeNull();
    expect(rd.committed.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(core.state().log_last_index).toBe(4);
  });
});

// ---- ReadIndex ----------------------------------------------------------------------------------

describe('ReadIndex', () => {
  it('serves a read only after a quorum confirms leadership, at the commit index', () => {
    const core = single('n1', ['n2', 'n3']);
    electByHand(core);
    core.step('n2', appendOk(1, 1));
    expect(core.state().commit_index).toBe(1);
    core.ready();
    expect(core.readIndex('r1')).toEqual({ ok: true });
    const rd = core.ready();
    const heartbeats = rd.messages.filter((m) => m.body.type === 'append_entries');
    expect(heartbeats).toHaveLength(2);
    const seq = (heartbeats[0]!.body as { read_seq: number }).read_seq;
    expect(rd.read_states).toEqual([]);
    // An answer to a message sent before the read does not count.
    core.step('n3', appendOk(1, 1, seq - 1));
    expect(core.ready().read_states).toEqual([]);
    core.step('n3', appendOk(1, 1, seq));
    expect(core.ready().read_states).toEqual([{ request_id: 'r1', index: 1 }]);
  });

  it('waits for the new leader\'s no-op to commit before fixing a read index', () => {
    const core = single('n1', ['n2', 'n3'], persisted(1, log(1, 1)));
    electByHand(core);
    expect(core.readIndex('early')).toEqual({ ok: true });
    core.step('n2', appendOk(2, 2, 99));
    expect(core.ready().read_states).toEqual([]);
    core.step('n2', appendOk(2, 3)); // commits the no-op at 3
    core.step('n2', appendOk(2, 3, 99));
    expect(core.ready().read_states).toEqual([{ request_id: 'early', index: 3 }]);
  });

  it('an isolated leader never serves the read and drops it when it steps down', () => {
    const net = new Net(['n1', 'n2', 'n3']);
    net.run(600);
    const leader = net.leader();
    net.isolated.add(leader);
    expect(net.core(leader).readIndex('r')).toEqual({ ok: true });
    net.run(400);
    expect(net.reads.get(leader)).toEqual([]);
    expect(net.readies.get(leader)!.some((r) => r.reads_dropped.includes('r'))).toBe(true);
    expect(net.core(net.ids.find((id) => id !== leader)!).readIndex('x')).toMatchObject({ ok: false });
  });

  it('works end to end in a healthy cluster', () => {
    const net = new Net(['n1', 'n2', 'n3']);
    net.run(600);
    const leader = net.core(net.leader());
    leader.propose({ w: 1 });
    leader.readIndex('r');
    net.run(50);
    const reads = net.reads.get(leader.id)!;
    expect(reads).toHaveLength(1);
    expect(reads[0]!.index).toBeGreaterThanOrEqual(1);
    expect(reads[0]!.index).toBeLessThanOrEqual(leader.state().last_applied);
  });
});

// ---- leadership transfer ------------------------------------------------------------------------

describe('leadership transfer', () => {
  it('hands leadership to the target well within an election timeout', () => {
    const net = new Net(['n1', 'n2', 'n3']);
    net.run(600);
    const old = net.leader();
    const target = net.ids.find((id) => id !== old)!;
    const term = net.core(old).state().term;
    expect(net.core(old).transferLeadership(target)).toEqual({ ok: true });
    expect(net.core(old).propose({ x: 1 })).toMatchObject({ ok: false, error: 'transferring' });
    net.run(30);
    expect(net.sent('timeout_now').length).toBe(1);
    expect(net.leader()).toBe(target);
    expect(net.core(target).state().term).toBe(term + 1);
  });

  it('catches a lagging target up before sending timeout_now', () => {
    const net = new Net(['n1', 'n2', 'n3']);
    net.run(600);
    const old = net.leader();
    const target = net.ids.find((id) => id !== old)!;
    net.isolated.add(target);
    for (let i = 0; i < 5; i++) net.core(old).propose({ i });
    net.run(30);
    net.isolated.clear();
    net.core(old).transferLeadership(target);
    net.run(60);
    expect(net.leader()).toBe(target);
    const applied = net.applied.get(target)!.filter((e) => e.op !== null);
    expect(applied).toHaveLength(5);
  });

  it('gives up after an election timeout if the target cannot be reached', () => {
    const net = new Net(['n1', 'n2', 'n3'], { ...fast, check_quorum: false });
    net.run(600);
    const old = net.leader();
    const target = net.ids.find((id) => id !== old)!;
    net.isolated.add(target);
    net.core(old).transferLeadership(target);
    net.run(150);
    expect(net.leader()).toBe(old);
    expect(net.core(old).propose({ x: 1 }).ok).toBe(true);
  });

  it('rejects a transfer from a follower or to an unknown node', () => {
    const net = new Net(['n1', 'n2', 'n3']);
    net.run(600);
    const leader = net.leader();
    const follower = net.ids.find((id) => id !== leader)!;
    expect(net.core(follower).transferLeadership(leader)).toMatchObject({ ok: false, error: 'not_leader' });
    expect(net.core(leader).transferLeadership('n9')).toMatchObject({ ok: false, error: 'unknown_node' });
    expect(net.core(leader).transferLeadership(leader)).toMatchObject({ ok: false, error: 'already_leader' });
  });
});

// ---- invariants and operating errors ------------------------------------------------------------

describe('invariants and bad input', () => {
  it('throws when a second leader of the same term shows up', () => {
    const core = single('n1', ['n2', 'n3']);
    electByHand(core);
    expect(() =>
      core.step('n2', { type: 'append_entries', term: 1, prev_log_index: 0, prev_log_term: 0, entries: [], leader_commit: 0, read_seq: 0 }),
    ).toThrow(RaftInvariantError);
  });

  it('throws when asked to replace a committed entry', () => {
    const core = single('n2', ['n1', 'n3'], persisted(2, log(1, 1, 1)));
    core.step('n1', { type: 'append_entries', term: 2, prev_log_index: 3, prev_log_term: 1, entries: [], leader_commit: 3, read_seq: 0 });
    expect(core.state().commit_index).toBe(3);
    expect(() =>
      core.step('n1', {
        type: 'append_entries',
        term: 2,
        prev_log_index: 1,
        prev_log_term: 1,
        entries: [{ index: 2, term: 2, op: 'evil' }],
        leader_commit: 3,
        read_seq: 0,
      }),
    ).toThrow(/committed entry/);
  });

  it('throws when time goes backwards', () => {
    const core = single('n1', ['n2']);
    core.tick(100);
    expect(() => core.tick(50)).toThrow(RaftInvariantError);
  });

  it('ignores malformed messages and unknown senders', () => {
    const core = single('n1', ['n2', 'n3']);
    core.step('n2', { type: 'append_entries', term: 1 } as unknown as RaftMessage);
    core.step('n2', { type: 'bogus', term: 1 } as unknown as RaftMessage);
    core.step('n9', { type: 'request_vote', term: 1, last_log_index: 0, last_log_term: 0, transfer: false });
    core.step('n2', {
      type: 'append_entries',
      term: 1,
      prev_log_index: 0,
      prev_log_term: 0,
      entries: [{ index: 5, term: 1, op: null }],
      leader_commit: 0,
      read_seq: 0,
    });
    expect(core.dropped_messages).toBe(4);
    expect(core.state().term).toBe(0);
    expect(core.hasReady()).toBe(false);
  });

  it('answers a stale leader with its newer term so the stale leader steps down', () => {
    const core = single('n2', ['n1', 'n3'], persisted(5, []));
    core.step('n1', { type: 'append_entries', term: 3, prev_log_index: 0, prev_log_term: 0, entries: [], leader_commit: 0, read_seq: 0 });
    expect(core.ready().messages[0]!.body).toMatchObject({ type: 'append_entries_ok', term: 5, success: false });
  });
});

// ---- the kv state machine -----------------------------------------------------------------------

describe('kv state machine', () => {
  const cmd = (client: string, seq: number, op: KvCommand['op']): KvCommand => ({ client, seq, op });

  it('reads, writes, cas and deletes with Maelstrom lin-kv errors', () => {
    const kv = new KvStateMachine();
    expect(kv.apply(cmd('c', 1, { type: 'read', key: 1 })).result).toMatchObject({ type: 'error', code: kv_error_key_does_not_exist });
    expect(kv.apply(cmd('c', 2, { type: 'write', key: 1, value: 'a' })).result).toEqual({ type: 'write_ok' });
    expect(kv.read(1)).toEqual({ type: 'read_ok', value: 'a' });
    expect(kv.apply(cmd('c', 3, { type: 'cas', key: 1, from: 'x', to: 'b' })).result).toMatchObject({ code: kv_error_precondition_failed });
    expect(kv.apply(cmd('c', 4, { type: 'cas', key: 1, from: 'a', to: 'b' })).result).toEqual({ type: 'cas_ok' });
    expect(kv.read(1)).toEqual({ type: 'read_ok', value: 'b' });
    expect(kv.apply(cmd('c', 5, { type: 'cas', key: 2, from: 'a', to: 'b' })).result).toMatchObject({ code: kv_error_key_does_not_exist });
    expect(kv.apply(cmd('c', 6, { type: 'cas', key: 2, from: 'a', to: 'z', create_if_not_exists: true })).result).toEqual({ type: 'cas_ok' });
    expect(kv.read(2)).toEqual({ type: 'read_ok', value: 'z' });
    expect(kv.apply(cmd('c', 7, { type: 'delete', key: 1 })).result).toEqual({ type: 'delete_ok' });
    expect(kv.read(1)).toMatchObject({ code: kv_error_key_does_not_exist });
    expect(kv.apply(cmd('c', 8, { type: 'delete', key: 1 })).result).toMatchObject({ code: kv_error_key_does_not_exist });
  });

  it('compares structured values by content and keeps keys of different types apart', () => {
    const kv = new KvStateMachine();
    kv.apply(cmd('c', 1, { type: 'write', key: 1, value: { a: 1, b: [2] } }));
    kv.apply(cmd('c', 2, { type: 'write', key: '1', value: 'string key' }));
    expect(kv.apply(cmd('c', 3, { type: 'cas', key: 1, from: { b: [2], a: 1 }, to: 3 })).result).toEqual({ type: 'cas_ok' });
    expect(kv.read('1')).toEqual({ type: 'read_ok', value: 'string key' });
    expect(kv.read(1)).toEqual({ type: 'read_ok', value: 3 });
  });

  it('applies a retried command once and returns the first result (exactly-once)', () => {
    const kv = new KvStateMachine();
    kv.apply(cmd('c1', 1, { type: 'write', key: 'k', value: 0 }));
    const first = kv.apply(cmd('c1', 2, { type: 'cas', key: 'k', from: 0, to: 1 }));
    const retry = kv.apply(cmd('c1', 2, { type: 'cas', key: 'k', from: 0, to: 1 }));
    expect(first).toEqual({ result: { type: 'cas_ok' }, duplicate: false });
    expect(retry).toEqual({ result: { type: 'cas_ok' }, duplicate: true });
    expect(kv.read('k')).toEqual({ type: 'read_ok', value: 1 });
    // An older request arriving late has no effect.
    expect(kv.apply(cmd('c1', 1, { type: 'write', key: 'k', value: 0 })).duplicate).toBe(true);
    expect(kv.read('k')).toEqual({ type: 'read_ok', value: 1 });
  });

  it('keeps data and the dedupe table across snapshot/restore, deterministically', () => {
    const a = new KvStateMachine();
    a.apply(cmd('c2', 1, { type: 'write', key: 'y', value: 2 }));
    a.apply(cmd('c1', 1, { type: 'write', key: 'x', value: 1 }));
    const b = new KvStateMachine();
    b.apply(cmd('c2', 1, { type: 'write', key: 'y', value: 2 }));
    b.apply(cmd('c1', 1, { type: 'write', key: 'x', value: 1 }));
    expect(JSON.stringify(a.snapshot())).toBe(JSON.stringify(b.snapshot()));
    const restored = KvStateMachine.restore(JSON.parse(JSON.stringify(a.snapshot())));
    expect(restored.read('x')).toEqual({ type: 'read_ok', value: 1 });
    expect(restored.apply(cmd('c1', 1, { type: 'write', key: 'x', value: 'again' })).duplicate).toBe(true);
    expect(restored.read('x')).toEqual({ type: 'read_ok', value: 1 });
    expect(restored.snapshot()).toEqual(a.snapshot());
  });

  it('answers a malformed command with error 12 instead of throwing', () => {
    const kv = new KvStateMachine();
    expect(kv.apply({ client: 'c', seq: 1, op: { type: 'explode', key: 1 } }).result).toMatchObject({ code: kv_error_malformed_request });
    expect(kv.apply(null).result).toMatchObject({ code: kv_error_malformed_request });
  });
});
