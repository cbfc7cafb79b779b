import { describe, expect, it } from 'vitest';
import type { ClusterEvent } from '../../src/lib/control/api.js';
import { NodeStateCoalescer, state_coalesce_ms_max, type CoalescerTimers } from '../../src/lib/control/state-coalescer.js';
import { reduceAll } from '../../src/lib/dashboard/model.js';
import { recordedRaftEvents } from '../dashboard/recorded.js';

/** A clock moved by hand: timers fire, in deadline order, only when the test advances time past them. */
class ManualTimers implements CoalescerTimers {
  private clock = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; run: () => void }>();
  now = () => this.clock;
  setTimeout = (run: () => void, ms: number) => {
    const id = this.nextId++;
    this.pending.set(id, { at: this.clock + ms, run });
    return id;
  };
  clearTimeout = (handle: unknown) => void this.pending.delete(handle as number);
  get armed(): number {
    return this.pending.size;
  }
  advanceTo(t: number): void {
    for (;;) {
      const due = [...this.pending].filter(([, timer]) => timer.at <= t).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.clock = due[1].at;
      due[1].run();
    }
    this.clock = Math.max(this.clock, t);
  }
}

let seq = 0;
const state = (node: string, fields: Record<string, unknown>): ClusterEvent => ({ type: 'node_state', node, state: fields, t: 0, seq: ++seq });
const follower = (commit_index: number) => ({ role: 'follower', term: 2, leader: 'n1', commit_index });
const indexesOf = (events: ClusterEvent[]) => events.map((e) => (e.type === 'node_state' ? `${e.node}:${String(e.state.role)}:${String(e.state.commit_index)}` : e.type));

/** A coalescer on a hand-moved clock, and what it sent. */
function coalescing(interval_ms: number) {
  const timers = new ManualTimers();
  const sent: ClusterEvent[] = [];
  return { timers, sent, coalescer: new NodeStateCoalescer(interval_ms, (e) => sent.push(e), timers) };
}

describe('NodeStateCoalescer', () => {
  it('merges progress-only reports of a node into the newest one, sent once per interval', () => {
    const { timers, sent, coalescer } = coalescing(100);
    coalescer.push(state('n2', follower(1)));
    for (let i = 2; i <= 50; i++) {
      timers.advanceTo(i);
      coalescer.push(state('n2', follower(i)));
    }
    // The first report goes out at once; the other 49 are held as one.
    expect(indexesOf(sent)).toEqual(['n2:follower:1']);
    timers.advanceTo(100);
    expect(indexesOf(sent)).toEqual(['n2:follower:1', 'n2:follower:50']);
    expect(timers.armed).toBe(0);
    // Quiet now: nothing more is sent, and nothing is left armed.
    timers.advanceTo(1000);
    expect(sent).toHaveLength(2);
  });

  it('sends a report that changes role, term or leader at once, replacing what was held for that node', () => {
    const { timers, sent, coalescer } = coalescing(100);
    coalescer.push(state('n2', follower(7)));
    timers.advanceTo(10);
    coalescer.push(state('n2', follower(8)));
    coalescer.push(state('n2', { role: 'candidate', term: 3, leader: null, commit_index: 8 }));
    coalescer.push(state('n2', { role: 'leader', term: 3, leader: 'n2', commit_index: 8 }));
    coalescer.push(state('n3', { role: 'follower', term: 3, leader: 'n2', commit_index: 8 }));
    expect(indexesOf(sent)).toEqual(['n2:follower:7', 'n2:candidate:8', 'n2:leader:8', 'n3:follower:8']);
    timers.advanceTo(500);
    // The held follower report was older than the candidate one: it is never sent.
    expect(sent).toHaveLength(4);
  });

  it('passes held reports on before any other event, so a crash never overtakes the state before it', () => {
    const { timers, sent, coalescer } = coalescing(100);
    coalescer.push(state('n2', follower(1)));
    coalescer.push(state('n2', follower(2)));
    coalescer.push(state('n4', follower(1)));
    coalescer.push(state('n4', follower(3)));
    coalescer.push({ type: 'node_down', node: 'n4', exit_code: null, signal: 'SIGKILL', stderr_tail: [], expected: false, t: 0, seq: ++seq });
    expect(indexesOf(sent)).toEqual(['n2:follower:1', 'n4:follower:1', 'n2:follower:2', 'n4:follower:3', 'node_down']);
    expect(timers.armed).toBe(0);
  });

  it('lets progress events (client results, applied entries, rates) pass without sending held reports early', () => {
    const { timers, sent, coalescer } = coalescing(100);
    coalescer.push(state('n2', follower(1)));
    for (let i = 2; i <= 20; i++) {
      coalescer.push(state('n2', follower(i)));
      coalescer.push({ type: 'node_apply', node: 'n2', index: i, term: 2, op: null, t: 0, seq: ++seq });
      coalescer.push({ type: 'client_result', client: 'c1', dest: 'n2', request: null, reply: null, call_ms: 0, return_ms: 1, t: 0, seq: ++seq });
    }
    expect(sent.filter((e) => e.type === 'node_state')).toHaveLength(1);
    expect(sent.filter((e) => e.type === 'node_apply')).toHaveLength(19);
    timers.advanceTo(100);
    expect(indexesOf(sent.filter((e) => e.type === 'node_state'))).toEqual(['n2:follower:1', 'n2:follower:20']);
  });

  it('stops on close: held reports are dropped and later pushes ignored', () => {
    const { timers, sent, coalescer } = coalescing(100);
    coalescer.push(state('n2', follower(1)));
    coalescer.push(state('n2', follower(2)));
    coalescer.close();
    expect(timers.armed).toBe(0);
    coalescer.push(state('n2', follower(3)));
    timers.advanceTo(1000);
    expect(indexesOf(sent)).toEqual(['n2:follower:1']);
  });

  it('refuses an interval outside (0, max]', () => {
    expect(() => new NodeStateCoalescer(0, () => undefined)).toThrow(/interval/);
    expect(() => new NodeStateCoalescer(state_coalesce_ms_max + 1, () => undefined)).toThrow(/interval/);
  });

  it('leaves the dashboard telling the same story from a recorded cluster run: same log, same final table', () => {
    const events = recordedRaftEvents();
    const { timers, sent: merged, coalescer } = coalescing(100);
    for (const event of events) {
      timers.advanceTo(event.t);
      coalescer.push(event);
    }
    timers.advanceTo(Number.MAX_SAFE_INTEGER);
    const stateReports = (list: ClusterEvent[]) => list.filter((e) => e.type === 'node_state').length;
    // The recording must exercise merging at all, or this test proves nothing.
    expect(stateReports(merged)).toBeLessThan(stateReports(events) * 0.8);
    const full = reduceAll(events);
    const fromMerged = reduceAll(merged);
    expect(fromMerged.log.map((entry) => entry.text)).toEqual(full.log.map((entry) => entry.text));
    expect(fromMerged.nodes.map((node) => [node.id, node.status, node.state])).toEqual(full.nodes.map((node) => [node.id, node.status, node.state]));
    expect(fromMerged.leader).toBe(full.leader);
    expect(fromMerged.throughput_per_s).toEqual(full.throughput_per_s);
  });
});
