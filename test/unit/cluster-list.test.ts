import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { summarizeClusters } from '../../src/lib/cluster/list.js';
import { writeClusterInfo, type ClusterInfo } from '../../src/lib/cluster/paths.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-cluster-list-');

/** A pid no process has: above Linux's pid_max limit. */
const dead_pid = 4_194_305;

function record(home: string, info: Partial<ClusterInfo> & { name: string; started_at_ms: number }): void {
  const dir = path.join(home, info.name);
  mkdirSync(dir, { recursive: true });
  writeClusterInfo(path.join(dir, 'cluster.json'), { system: 'raft', nodes: ['n1', 'n2', 'n3'], command: [], seed: 1, dir, socket: '', supervisor_pid: dead_pid, running: false, ...info });
}

describe('the cluster list', () => {
  it('says of each cluster whether it runs, and why not, newest first', () => {
    const home = tempDir();
    record(home, { name: 'live', started_at_ms: 4_000, running: true, supervisor_pid: process.pid });
    record(home, { name: 'died', started_at_ms: 3_000, running: true });
    record(home, { name: 'failed', started_at_ms: 2_000, start_error: 'n1 exited before answering init', nodes: ['n1'] });
    record(home, { name: 'stopped', started_at_ms: 1_000 });
    const rows = summarizeClusters(home, 10_000);
    expect(rows.map((r) => [r.name, r.state, r.age_ms, r.nodes, r.start_error])).toEqual([
      ['live', 'running', 6_000, 3, null],
      ['died', 'supervisor died', 7_000, 3, null],
      ['failed', 'failed start', 8_000, 1, 'n1 exited before answering init'],
      ['stopped', 'stopped', 9_000, 3, null],
    ]);
  });

  it('is empty for a home that does not exist', () => {
    expect(summarizeClusters(path.join(tempDir(), 'none'))).toEqual([]);
  });
});
