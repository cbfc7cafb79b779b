import { it } from 'vitest';
import { RaftCore } from '../../src/systems/raft/core.js';
import { KvStateMachine } from '../../src/systems/raft/kv.js';
import { randomSimConfig, runSimulation } from '../../src/systems/raft/sim.js';

const proto = RaftCore.prototype as unknown as Record<string, unknown>;
function planted(name: string, obj: Record<string, unknown>, method: string, impl: (orig: Function) => Function) {
  it(name, () => {
    const orig = obj[method] as Function;
    obj[method] = impl(orig);
    const kinds = new Map<string, number>(); let first = '';
    let fails = 0;
    try {
      for (let seed = 1; seed <= 500; seed++) {
        try { runSimulation(randomSimConfig(seed)); } catch (e) { fails++; const k = (e as any).kind ?? 'other'; kinds.set(k, (kinds.get(k) ?? 0) + 1); if (!first) first = (e as Error).message.slice(0, 300); }
      }
    } finally { obj[method] = orig; }
    console.log(name, fails, [...kinds], first);
  });
}
planted('vote for stale logs', proto, 'isUpToDate', () => function () { return true; });
planted('commit old-term entries by counting', proto, 'canCommit', () => function (this: any, i: number) { return this.termAt(i) !== undefined; });
planted('read without quorum', proto, 'registerReads', () => function (this: any, ids: unknown[]) { for (const id of ids) this.out_read_states.push({ request_id: id, index: this.commit_index }); });
planted('no dedupe', KvStateMachine.prototype as any, 'apply', (orig) => function (this: any, cmd: any) { const r = orig.call(this, { ...cmd, seq: this.touch_counter + 1_000_000 }); return r; });
planted('vote twice per term', proto, 'handleRequestVote', (orig) => function (this: any, from: string, m: any) { this.voted_for = null; this.leader = null; if (this.role === 'candidate') this.role = 'follower'; return orig.call(this, from, m); });
planted('no check quorum lease (pre-vote without lease)', proto, 'inLease', () => function () { return false; });
