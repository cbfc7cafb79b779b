import path from 'node:path';
import type { ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterEvent } from '../../src/lib/control/api.js';
import { zxidNumber } from '../../src/workloads/zk/history.js';
import { cleanup, dslab, dslabSpawn, makeWorkdir } from '../helpers/cli.js';

// One ensemble of three voters; a tick of 500ms lets the load's sessions live 10s, through the nemesis's faults.
describe('zk load under the nemesis, checked', () => {
  let cwd: string;
  let events: ResultPromise;
  let eventText = '';

  beforeAll(async () => {
    cwd = makeWorkdir();
    const up = await dslab(cwd, 'up', 'zab', '--nodes', '3', '--tick', '500ms', '--detach');
    expect(up.exitCode, up.stderr).toBe(0);
    events = dslabSpawn(cwd, 'events', '--history', '--json');
    events.stdout!.on('data', (chunk: Buffer) => (eventText += chunk.toString()));
  });

  afterAll(async () => {
    await cleanup(cwd);
    events.kill();
  });

  it('keeps writes linearizable, each session\'s reads in order, and every server\'s txns one sequence', async () => {
    // Seed 2: link delay, 17% duplicated messages, n3 killed and restarted, n2 cut off. Duplicates once made the
    // ensemble apply one set_data twice (test/fixtures/zk-duplicated-request.jsonl), which this check then failed.
    const nemesis = await dslab(cwd, 'nemesis', '--interval', '2s', '--duration', '8s', '--seed', '2', '--detach');
    expect(nemesis.exitCode, nemesis.stderr).toBe(0);
    const load = await dslab(cwd, 'zk', 'load', '--clients', '4', '--rate', '40', '--duration', '8s', '--history', 'zk.jsonl', '--seed', '5');
    expect(load.exitCode, load.stderr).toBe(0);
    expect(load.stdout).toMatch(/zk load started: 4 sessions/);

    const check = await dslab(cwd, 'check', 'zk.jsonl', '--json');
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);
    const verdict = JSON.parse(check.stdout) as { result: string; writes_checked: number; reads_checked: number; sessions_checked: number };
    expect(verdict.result).toBe('valid');
    // Not a vacuous pass: the load wrote and read through its four sessions (more when one expired).
    expect(verdict.writes_checked).toBeGreaterThan(20);
    expect(verdict.reads_checked).toBeGreaterThan(20);
    expect(verdict.sessions_checked).toBeGreaterThanOrEqual(4);
    expect((await dslab(cwd, 'check', path.join(cwd, 'zk.jsonl'))).stdout).toMatch(/^valid: writes linearizable/);

    // dslab_apply reports: the txn at each index is the same on every server, and zxids rise with the index.
    const applies = eventText
      .split('\n')
      .filter((line) => line.includes('"node_apply"'))
      .map((line) => JSON.parse(line) as Extract<ClusterEvent, { type: 'node_apply' }>);
    expect(new Set(applies.map((a) => a.node)).size).toBe(3);
    const at_index = new Map<number, string>();
    const last_zxid = new Map<string, { index: number; zxid: number }>();
    for (const a of applies) {
      const op = a.op as { zxid: string; txn: unknown };
      const text = JSON.stringify(op);
      const index = Number(a.index);
      expect(at_index.get(index) ?? text, `index ${index} on ${a.node}`).toBe(text);
      at_index.set(index, text);
      const last = last_zxid.get(a.node);
      if (last && index > last.index) expect(zxidNumber(op.zxid), `${a.node} index ${index}`).toBeGreaterThan(last.zxid);
      last_zxid.set(a.node, { index, zxid: zxidNumber(op.zxid) });
    }
    expect(at_index.size).toBeGreaterThan(20);

    // The load's progress reports carry its latency now, which the dashboard's load line shows while it runs.
    const progress = eventText
      .split('\n')
      .filter((line) => line.includes('"type":"load"'))
      .map((line) => JSON.parse(line) as Extract<ClusterEvent, { type: 'load' }>)
      .filter((event) => event.phase === 'progress');
    expect(progress.some((event) => (event.stats.recent_latency_ms?.p50 ?? 0) > 0)).toBe(true);
  }, 120_000);
});
