import { describe, expect, it } from 'vitest';
import { systems } from '../../src/registry.js';
import { randomSimConfig, runSimulation } from '../../src/systems/raft/sim.js';
import { randomZabSimConfig, runZabSimulation } from '../../src/systems/zab/sim.js';

describe("a system plugin's simulator", () => {
  it('is declared by the systems with a pure core, and runs the same seeded simulation their own tests run', async () => {
    const simulated = systems.filter((s) => s.sim).map((s) => s.name);
    expect(simulated).toEqual(['raft', 'zab']);
    const seed = 7;
    const raft = await systems.find((s) => s.name === 'raft')!.sim!.run(seed);
    expect(raft).toEqual({ seed, stats: { ...runSimulation(randomSimConfig(seed)).stats } });
    expect(raft.stats.leaders_elected).toBeGreaterThan(0);
    const zab = await systems.find((s) => s.name === 'zab')!.sim!.run(seed);
    expect(zab).toEqual({ seed, stats: { ...runZabSimulation(randomZabSimConfig(seed)).stats } });
    // Another seed is another run.
    expect((await systems.find((s) => s.name === 'raft')!.sim!.run(seed + 1)).stats).not.toEqual(raft.stats);
  });
});
