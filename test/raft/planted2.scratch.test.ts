import { it } from 'vitest';
import { RaftCore } from '../../src/systems/raft/core.js';
import { randomSimConfig, runSimulation } from '../../src/systems/raft/sim.js';
const proto = RaftCore.prototype as any;
it('read no quorum, cq off', () => {
  const orig = proto.registerReads;
  proto.registerReads = function (this: any, ids: unknown[]) { for (const id of ids) this.out_read_states.push({ request_id: id, index: this.commit_index }); };
  let fails = 0, reads = 0, first = '';
  try {
    for (let seed = 1; seed <= 500; seed++) {
      const cfg = randomSimConfig(seed); cfg.raft.check_quorum = false;
      try { const r = runSimulation(cfg); reads += r.stats.reads_acked; } catch (e) { fails++; if (!first) first = (e as Error).message.slice(0, 400); }
    }
  } finally { proto.registerReads = orig; }
  console.log('fails', fails, 'reads', reads, first);
});
