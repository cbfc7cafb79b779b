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
    // 8 faults applied, each undone, then a final heal.
    expect(first.faults.length).toBeGreaterThanOrEqual(17);
    expect(first.faults.at(-1)).toMatch(/^healed/);
    const second = await dslabJson<{ faults: string[] }>(cwd, ...args);
    expect(second.faults).toEqual(first.faults);

    const status = await dslabJson<ClusterStatus>(cwd, 'status');
    expect(status.faults).toEqual([]);
    expect(status.nodes.map((n) => n.status)).toEqual(['up', 'up', 'up']);
    expect(status.nemesis).toEqual({ seed: 7, running: false });

    const text = await dslab(cwd, 'nemesis', '--interval', '200ms', '--duration', '400ms', '--seed', '7');
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toContain('nemesis started: seed 7');
    expect(text.stdout).toMatch(/nemesis: /);
    expect(text.stdout).toContain('nemesis done (seed 7)');
  });
});
