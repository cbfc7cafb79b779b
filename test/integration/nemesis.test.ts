import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterStatus } from '../../src/lib/control/api.js';
import { cleanup, dslab, dslabJson, makeWorkdir } from '../helpers/cli.js';

describe('dslab nemesis', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = makeWorkdir();
    expect((await dslab(cwd, 'up', 'echo', '--nodes', '3', '--detach')).exitCode).toBe(0);
  });
  afterAll(async () => {
    await cleanup(cwd);
  });

  it('replays the same faults for the same seed, prints each, and leaves the cluster healed', async () => {
    const args = ['nemesis', '--interval', '300ms', '--duration', '2400ms', '--seed', '7'];
    const first = await dslabJson<{ seed: number; faults: string[] }>(cwd, ...args);
    expect(first.seed).toBe(7);
    // 8 faults applied, each undone; the last undo and the final clean-up heal only once between them.
    const applied = first.faults.filter((f) => !/^(healed|restarted|resumed)/.test(f));
    expect(applied).toHaveLength(8);
    expect(first.faults.at(-1)).toMatch(/^healed/);
    expect(first.faults.at(-2)).not.toMatch(/^healed/);
    const second = await dslabJson<{ faults: string[] }>(cwd, ...args);
    expect(second.faults).toEqual(first.faults);

    const status = await dslabJson<ClusterStatus>(cwd, 'status');
    expect(status.faults).toEqual([]);
    expect(status.nodes.map((n) => n.status)).toEqual(['up', 'up', 'up']);
    expect(status.nemesis).toEqual({ seed: 7, running: false });

    const text = await dslab(cwd, 'nemesis', '--interval', '200ms', '--duration', '400ms', '--seed', '7');
    expect(text.exitCode).toBe(0);
    const lines = text.stdout.trim().split('\n');
    // Started first (once: not also as an event line), then the faults, one "healed" at the end, then done.
    expect(lines[0]).toMatch(/^nemesis started: seed 7, a fault every 200ms for 400ms$/);
    expect(lines.filter((l) => /nemesis (started|start)\b/.test(l))).toHaveLength(1);
    expect(lines[1]).toMatch(/ nemesis: /);
    expect(lines.at(-1)).toMatch(/ nemesis done \(seed 7\)$/);
    expect(lines.at(-2)).toMatch(/ nemesis: healed/);
    expect(lines.at(-3)).not.toMatch(/ nemesis: healed/);
  });
});
