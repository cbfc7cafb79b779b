import { describe, expect, it } from 'vitest';
import type { ClusterEvent, ClusterStatus, NewClusterEvent } from '../../src/lib/control/api.js';
import { cluster_event_types, excludedEventTypes, parseEventTypes } from '../../src/lib/control/event-filter.js';
import { EventLinePrinter, followEventLines, formatEventLine, lineless_event_types, type EventLine } from '../../src/lib/dashboard/event-lines.js';
import { EventHub } from '../../src/lib/supervisor/event-hub.js';
import { viewFor } from '../../src/registry.js';
import { recordedRaftEvents } from '../dashboard/recorded.js';

let seq = 0;
const at = (t: number, event: NewClusterEvent) => ({ ...event, t, seq: ++seq }) as ClusterEvent;
const texts = (lines: readonly EventLine[]) => lines.map((l) => l.text);
const printAll = (events: readonly ClusterEvent[]) => {
  const printer = new EventLinePrinter();
  return events.flatMap((e) => printer.push(e));
};

describe('the plain event lines', () => {
  it('say what a node sent a client unasked, in one line', () => {
    const lines = texts(
      printAll([
        at(1, { type: 'client_message', client: 'c3', node: 'n2', body: { type: 'watch', event: 'NodeDataChanged', path: '/a', msg_id: 7 } }),
        at(2, { type: 'client_message', client: 'c4', node: 'n1', body: { type: 'session_expired', session: 12, detail: { nested: true } } }),
      ]),
    );
    expect(lines).toEqual(['n2 → c3: watch NodeDataChanged /a', 'n1 → c4: session_expired 12']);
  });

  it('turn a recorded raft run into the dashboard\'s sentences, not a line per state report', () => {
    const events = recordedRaftEvents();
    const lines = texts(printAll(events));
    expect(lines).toEqual(
      expect.arrayContaining([
        'n1 up (pid ' + String((events.find((e) => e.type === 'node_up' && e.node === 'n1') as { pid: number }).pid) + ')',
        'n5 starts an election for term 1',
        'n5 is leader (term 1)',
        'killed n5 (leader)',
        'n5 down (signal SIGKILL)',
        'no leader (n5 no longer leads)',
        'n3 is leader (term 2)',
        'partition {n3} | {n1,n2,n4,n5}',
      ]),
    );
    // Hundreds of state reports (every commit), a few dozen lines.
    const reports = events.filter((e) => e.type === 'node_state').length;
    expect(reports).toBeGreaterThan(200);
    expect(lines.length).toBeLessThan(reports / 5);
    expect(lines.some((l) => /commit_index=|role=/.test(l))).toBe(false);
    // Each leader change is said once.
    expect(lines.filter((l) => l === 'n3 is leader (term 2)')).toHaveLength(1);
  });

  it('say how many uncommitted entries a node rolled back, and nothing for progress alone', () => {
    const printer = new EventLinePrinter();
    const push = (t: number, event: NewClusterEvent) => texts(printer.push(at(t, event)));
    expect(push(1, { type: 'cluster_up', name: 'raft', system: 'raft', nodes: ['n1', 'n2', 'n3'], seed: 1, view: viewFor('raft') })).toEqual(['cluster raft up: raft on 3 nodes, seed 1']);
    expect(push(2, { type: 'node_up', node: 'n3', pid: 42, restarts: 0 })).toEqual(['n3 up (pid 42)']);
    push(2, { type: 'node_up', node: 'n2', pid: 41, restarts: 0 });
    expect(push(3, { type: 'node_state', node: 'n2', state: { role: 'leader', term: 5, leader: 'n2', commit_index: 10 } })).toEqual(['n2 is leader (term 5)']);
    for (let commit = 11; commit < 40; commit++) {
      expect(push(commit, { type: 'node_state', node: 'n2', state: { role: 'leader', term: 5, leader: 'n2', commit_index: commit } })).toEqual([]);
    }
    expect(push(50, { type: 'node_state', node: 'n3', state: { role: 'follower', term: 5, leader: 'n2', commit_index: 39, rolled_back: 0 } })).toEqual([]);
    expect(push(51, { type: 'node_state', node: 'n3', state: { role: 'follower', term: 5, leader: 'n2', commit_index: 39, rolled_back: 2 } })).toEqual(['n3 rolled back 2 uncommitted entries']);
    expect(push(52, { type: 'rates', interval_ms: 1000, nodes: {}, dropped_per_s: 0 })).toEqual([]);
    expect(push(53, { type: 'client_result', client: 'c1', dest: 'n2', request: {}, reply: {}, call_ms: 1, return_ms: 2 })).toEqual([]);
    expect(push(54, { type: 'node_up', node: 'n1', pid: 43, restarts: 1 })).toEqual(['n1 restarted (restart 1)']);
  });

  it('tell of each session a Zab leader expired, with its deleted ephemerals, once', () => {
    const printer = new EventLinePrinter();
    const push = (t: number, event: NewClusterEvent) => texts(printer.push(at(t, event)));
    push(1, { type: 'cluster_up', name: 'z', system: 'zab', nodes: ['n1', 'n2', 'n3'], seed: 1, view: viewFor('zab') });
    push(2, { type: 'node_up', node: 'n1', pid: 40, restarts: 0 });
    const leader = { role: 'leading', epoch: 2, established: true, leader: 'n1' };
    expect(push(3, { type: 'node_state', node: 'n1', state: { ...leader, sessions_expired: 0, last_expired_session: null, last_expired_ephemerals: null } })).toEqual(['n1 is leader (epoch 2)']);
    expect(push(4, { type: 'node_state', node: 'n1', state: { ...leader, sessions_expired: 1, last_expired_session: 's2.1', last_expired_ephemerals: '/lock, /q/e-0000000004' } })).toEqual([
      'n1 expired session s2.1 (nothing heard for its timeout): its ephemerals /lock, /q/e-0000000004 are deleted',
    ]);
    // Unchanged count: no line; two more at once (coalesced reports): one line naming the last.
    expect(push(5, { type: 'node_state', node: 'n1', state: { ...leader, sessions_expired: 1, last_expired_session: 's2.1', last_expired_ephemerals: '/lock, /q/e-0000000004', znodes: 3 } })).toEqual([]);
    expect(push(6, { type: 'node_state', node: 'n1', state: { ...leader, sessions_expired: 3, last_expired_session: 's2.7', last_expired_ephemerals: '' } })).toEqual([
      'n1 expired 2 sessions (nothing heard for their timeouts), the last s2.7: it had no ephemerals',
    ]);
  });

  it('start silently from a snapshot, so a leader in office is not news', () => {
    const printer = new EventLinePrinter();
    const status = {
      name: 'raft', system: 'raft', view: viewFor('raft'), dir: '/x', supervisor_pid: 1, seed: 1, started_at_ms: 0, uptime_ms: 10, faults: [], partition: null, active_faults: { partition: null, links: [], paused: [], clock_offsets_ms: {} }, links: [], leader: 'n2', nemesis: null,
      trace: { path: '/x/trace.jsonl', bytes: 0, truncated: false },
      nodes: ['n1', 'n2'].map((id) => ({
        id, pid: 1, status: 'up', exit_code: null, exit_signal: null, restarts: 0, msgs_in: 0, msgs_out: 0, garbage_lines: 0, oversized_lines: 0, unknown_dest: 0, backpressure_drops: 0, clock_offset_ms: 0,
        state: { role: id === 'n2' ? 'leader' : 'follower', term: 5, leader: 'n2' }, state_at_ms: 0, stderr_tail: [],
      })),
    } as ClusterStatus;
    expect(printer.push({ type: 'snapshot', t: 1, status })).toEqual([]);
    expect(texts(printer.push(at(2, { type: 'node_state', node: 'n2', state: { role: 'leader', term: 5, leader: 'n2', commit_index: 99 } })))).toEqual([]);
    expect(texts(printer.push(at(3, { type: 'node_state', node: 'n1', state: { role: 'leader', term: 6, leader: 'n1' } })))).toEqual(['n1 is leader (term 6)']);
  });

  it('print the time of day in UTC before the text', () => {
    const line = formatEventLine({ t: Date.UTC(2024, 0, 2, 7, 44, 14, 34), kind: 'leader', text: 'n5 is leader (term 4)' });
    // Colour codes may wrap the parts; the words stay in this order.
    expect(line.replace(/\x1b\[[0-9;]*m/g, '')).toBe('07:44:14.034 n5 is leader (term 4)');
  });

  it('follow an in-process hub with merged state reports, and say what was held back when stopped', () => {
    const hub = new EventHub();
    const lines: string[] = [];
    hub.emit({ type: 'node_up', node: 'n1', pid: 7, restarts: 0 });
    hub.emit({ type: 'cluster_up', name: 'c', system: 'raft', nodes: ['n1'], seed: 3, view: viewFor('raft') });
    const stop = followEventLines(hub, (line) => lines.push(line.text), { history: true });
    expect(lines).toEqual(['n1 up (pid 7)', 'cluster c up: raft on 1 nodes, seed 3']);
    hub.emit({ type: 'node_state', node: 'n1', state: { role: 'leader', term: 1, leader: 'n1', rolled_back: 0 } });
    expect(lines.at(-1)).toBe('n1 is leader (term 1)');
    // A progress-only report is held back for the interval; stopping writes it.
    hub.emit({ type: 'node_state', node: 'n1', state: { role: 'leader', term: 1, leader: 'n1', rolled_back: 3 } });
    stop();
    expect(lines.at(-1)).toBe('n1 rolled back 3 uncommitted entries');
    hub.emit({ type: 'fault', action: 'heal', fault: { action: 'heal' }, description: 'healed', faults: [], active: { partition: null, links: [], paused: [], clock_offsets_ms: {} }, source: 'cli' });
    expect(lines.at(-1)).toBe('n1 rolled back 3 uncommitted entries');
  });
});

describe('event type filters', () => {
  it('keep only the types --type names, and leave out those --exclude names', () => {
    const kept = (options: { only?: string; exclude?: string }) => {
      const excluded = new Set(excludedEventTypes(options));
      return cluster_event_types.filter((t) => !excluded.has(t));
    };
    expect(kept({})).toEqual(cluster_event_types);
    expect(kept({ only: 'fault,node_down' })).toEqual(['node_down', 'fault']);
    expect(kept({ exclude: 'rates' })).toEqual(cluster_event_types.filter((t) => t !== 'rates'));
    expect(kept({ only: 'fault, node_down,rates', exclude: 'rates' })).toEqual(['node_down', 'fault']);
  });

  it('refuse a type that does not exist, naming the flag and the types there are', () => {
    expect(() => parseEventTypes('fault,falut', '--type')).toThrow(/^--type: unknown event type "falut" \(types: cluster_up, .*node_state/);
    expect(() => parseEventTypes(',', '--exclude')).toThrow(/--exclude needs at least one event type/);
  });

  it('list every type the stream has, and name the ones that make no plain line', () => {
    expect(new Set(cluster_event_types).size).toBe(cluster_event_types.length);
    for (const type of lineless_event_types) expect(cluster_event_types).toContain(type);
  });
});
