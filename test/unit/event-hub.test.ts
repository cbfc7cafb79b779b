import { describe, expect, it } from 'vitest';
import { event_backlog_max, EventHub, operation_backlog_max } from '../../src/lib/supervisor/event-hub.js';

describe('the event backlog', () => {
  it('keeps elections and faults when thousands of client results follow them, and gives both back in order', () => {
    const hub = new EventHub();
    hub.emit({ type: 'node_state', node: 'n1', state: { role: 'leader', term: 2 } });
    hub.emit({ type: 'fault', description: 'partition n1 | n2 n3' } as never);
    for (let i = 0; i < operation_backlog_max + 500; i++) {
      hub.emit({ type: 'client_result', client: 'c2001', dest: 'n1', replied_by: 'n1', request: { type: 'ping' }, reply: { type: 'ping_ok' }, call_ms: i, return_ms: i } as never);
    }
    hub.emit({ type: 'node_state', node: 'n2', state: { role: 'leader', term: 3 } });
    const history = hub.history();
    expect(history.filter((e) => e.type === 'node_state').map((e) => (e as { node: string }).node)).toEqual(['n1', 'n2']);
    expect(history.some((e) => e.type === 'fault')).toBe(true);
    expect(history.filter((e) => e.type === 'client_result')).toHaveLength(operation_backlog_max);
    const seqs = history.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    // The newest client results are the ones kept.
    expect(history.at(-2)!.type).toBe('client_result');
    expect(history.at(-1)!.seq).toBe(operation_backlog_max + 503);
  });

  it('still bounds the other events on their own', () => {
    const hub = new EventHub();
    for (let i = 0; i < event_backlog_max + 10; i++) hub.emit({ type: 'node_state', node: 'n1', state: { term: i } });
    expect(hub.history()).toHaveLength(event_backlog_max);
    expect(hub.history()[0]!.seq).toBe(11);
  });
});
