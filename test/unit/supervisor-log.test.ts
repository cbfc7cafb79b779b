import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventHub } from '../../src/lib/supervisor/event-hub.js';
import { viewFor } from '../../src/registry.js';
import { SupervisorLog } from '../../src/lib/supervisor/supervisor-log.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-supervisor-log-');

describe("the supervisor's log", () => {
  it('keeps its own notes and the event lines, timestamped, one per line, and nothing per state report', async () => {
    const file = path.join(tempDir(), 'supervisor.log');
    const hub = new EventHub();
    const log = new SupervisorLog(file);
    log.note('starting cluster raft: system raft', Date.UTC(2024, 0, 2, 3, 4, 5, 6));
    log.follow(hub);
    hub.emit({ type: 'node_up', node: 'n1', pid: 11, restarts: 0 });
    hub.emit({ type: 'cluster_up', name: 'raft', system: 'raft', nodes: ['n1'], seed: 9, view: viewFor('raft') });
    for (let commit = 1; commit <= 50; commit++) hub.emit({ type: 'node_state', node: 'n1', state: { role: 'leader', term: 1, leader: 'n1', commit_index: commit } });
    hub.emit({ type: 'fault', action: 'kill', fault: { action: 'kill', node: 'n1' }, description: 'killed n1 (leader)', faults: [], active: { partition: null, links: [], paused: [], clock_offsets_ms: {} }, source: 'cli' });
    hub.emit({ type: 'node_down', node: 'n1', exit_code: null, signal: 'SIGKILL', stderr_tail: [], expected: true });
    log.note('refused kill n9: unknown node "n9"');
    await log.close();
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe('2024-01-02T03:04:05.006Z starting cluster raft: system raft');
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S/);
    expect(lines.map((l) => l.slice(25))).toEqual([
      'starting cluster raft: system raft',
      'n1 up (pid 11)',
      'cluster raft up: raft on 1 nodes, seed 9',
      'n1 is leader (term 1)',
      'killed n1 (leader)',
      'n1 down (signal SIGKILL)',
      'no leader (n1 no longer leads)',
      'refused kill n9: unknown node "n9"',
    ]);
  });
});
