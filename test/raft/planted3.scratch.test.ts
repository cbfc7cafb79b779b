import { it } from 'vitest';
import { RaftCore } from '../../src/systems/raft/core.js';
import { randomSimConfig, runSimulation } from '../../src/systems/raft/sim.js';
const proto = RaftCore.prototype as any;
it('fig8', () => {
  const orig = proto.canCommit;
  proto.canCommit = function (this: any, i: number) { return this.termAt(i) !== undefined; };
  let fails = 0, first = ''; const t0 = performance.now();
  try {
    for (let seed = 1; seed <= 3000; seed++) {
      const cfg = randomSimConfig(seed);
      cfg.node_count = 3; cfg.raft.append_entries_max = 1; cfg.raft.append_inflight_entries_max = 1;
      cfg.crashes = true; cfg.partitions = seed % 2 === 0; cfg.nemesis_interval_ms_min = 20; cfg.nemesis_interval_ms_max = 150; cfg.crash_down_ms_max = 200;
      try { runSimulation(cfg); } catch (e) { fails++; if (!first) first = (e as Error).message.slice(0, 400); }
    }
  } finally { proto.canCommit = orig; }
  console.log('fails', fails, performance.now() - t0, first);
});
