import { describe, expect, it } from 'vitest';
import { randomSimConfig, runSimulation } from '../../src/systems/raft/sim.js';

describe('smoke', () => {
  it('runs', () => {
    const t0 = performance.now();
    const fails: string[] = [];
    let events = 0, acked = 0, writes = 0, snaps = 0;
    for (let seed = 1; seed <= 5000; seed++) {
      try {
        const r = runSimulation(randomSimConfig(seed));
        events += r.stats.events; acked += r.stats.ops_acked; writes += r.stats.writes_acked; snaps += r.stats.snapshots_installed;
      } catch (e) { fails.push((e as Error).message.slice(0, 600)); }
    }
    console.log(`ms=${performance.now() - t0} events=${events} acked=${acked} writes=${writes} snaps=${snaps} fails=${fails.length}`);
    console.log(fails.slice(0, 8).join('\n\n'));
    expect(fails).toEqual([]);
  });
});
