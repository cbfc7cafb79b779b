import { describe, expect, it } from 'vitest';
import { RaftCore, type RaftConfig, type RaftMessage } from '../../src/systems/raft/core/core.js';

const config: Partial<RaftConfig> = { election_timeout_ms_min: 100, election_timeout_ms_max: 200, heartbeat_interval_ms: 20, lease_reads: true };

/** Three cores wired by hand, with a switch to cut one node off. */
function cluster() {
  const ids = ['n1', 'n2', 'n3'];
  let now = 0;
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const cores = new Map(ids.map((id) => [id, new RaftCore({ id, peers: ids.filter((p) => p !== id), config, random, now_ms: 0 })]));
  const isolated = new Set<string>();
  const reads = new Map<string, string[]>(ids.map((id) => [id, []]));
  const queue: { from: string; to: string; body: RaftMessage }[] = [];
  const drain = (id: string) => {
    const core = cores.get(id)!;
    while (core.hasReady()) {
      const ready = core.ready();
      for (const m of ready.messages) queue.push({ from: id, to: m.to, body: m.body });
      reads.get(id)!.push(...ready.read_states.map((r) => String(r.request_id)));
    }
  };
  const run = (ms: number) => {
    const end = now + ms;
    while (now < end) {
      now += 5;
      for (const id of ids) {
        cores.get(id)!.tick(now);
        drain(id);
      }
      while (queue.length) {
        const m = queue.shift()!;
        if (isolated.has(m.from) || isolated.has(m.to)) continue;
        const core = cores.get(m.to)!;
        core.tick(now);
        core.step(m.from, m.body);
        drain(m.to);
      }
    }
  };
  const leader = () => ids.find((id) => cores.get(id)!.state().role === 'leader')!;
  return { cores, isolated, reads, run, leader, drain };
}

describe('lease reads', () => {
  it('serve at once, without a quorum round, while the lease runs', () => {
    const c = cluster();
    c.run(600);
    const leader = c.leader();
    const core = c.cores.get(leader)!;
    expect(core.readLease('r1')).toEqual({ ok: true });
    c.drain(leader);
    // Served in the same step: no messages had to go out and come back.
    expect(c.reads.get(leader)).toEqual(['r1']);
  });

  it('fall back to a quorum round once the lease has run out, so an isolated leader serves nothing', () => {
    const c = cluster();
    c.run(600);
    const leader = c.leader();
    c.isolated.add(leader);
    // Past election_timeout_ms_min since the last acknowledged heartbeat: the lease is over.
    c.run(95);
    const core = c.cores.get(leader)!;
    // Either it still thinks it leads (the read waits for a quorum round that never comes) or it stepped down.
    const result = core.readLease('late');
    expect(result.ok || (result as { error: string }).error === 'not_leader').toBe(true);
    c.drain(leader);
    expect(c.reads.get(leader)).not.toContain('late');
    c.run(300);
    expect(c.reads.get(leader)).not.toContain('late');
    // Meanwhile the majority elected another leader, which serves reads.
    const other = c.leader();
    expect(other).not.toBe(leader);
  });

  it('end when leadership transfer starts', () => {
    const c = cluster();
    c.run(600);
    const leader = c.leader();
    const core = c.cores.get(leader)!;
    const target = ['n1', 'n2', 'n3'].find((id) => id !== leader)!;
    c.isolated.add(target); // keep the transfer pending
    expect(core.transferLeadership(target)).toEqual({ ok: true });
    expect(core.readLease('during')).toMatchObject({ ok: false, error: 'transferring' });
  });

  it('are refused by configuration unless enabled', () => {
    const core = new RaftCore({ id: 'n1', peers: ['n2'], random: () => 0.5 });
    expect(() => core.readLease('x')).toThrow(/lease reads need/);
  });
});
