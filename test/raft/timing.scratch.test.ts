import { it } from 'vitest';
import { randomSimConfig, runSimulation } from '../../src/systems/raft/sim.js';
it('t', () => {
  for (const ser of [false, true]) {
    const t0 = performance.now();
    for (let seed = 1; seed <= 500; seed++) { const c = randomSimConfig(seed); c.serialize = ser; runSimulation(c); }
    console.log('serialize', ser, performance.now() - t0);
  }
});
