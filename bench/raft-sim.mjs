// Speed of the Raft simulator: seeded schedules per second of CPU, over the same seeds
// test/raft/sim.test.ts runs. Run `npm run build` first; then `node bench/raft-sim.mjs [dist]`
// (another build's dist/ directory compares two versions on the same machine and load).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** warmup_seeds run first and are not counted, so the JIT has warmed up. */
export const sizes_default = { seeds: 2000, warmup_seeds: 200, rounds: 3 };
/** Quick mode (bench/run-all.js --quick): a few seeds, one round. */
export const sizes_quick = { seeds: 20, warmup_seeds: 5, rounds: 1 };

export async function measureRaftSim(dist = new URL('../dist', import.meta.url).pathname, { seeds: bench_seeds, warmup_seeds, rounds: bench_rounds } = sizes_default) {
  const sim = await import(pathToFileURL(resolve(dist, 'systems/raft/sim.js')).href);
  for (let seed = 1; seed <= warmup_seeds; seed++) sim.runSimulation(sim.randomSimConfig(seed));
  const rates = [];
  let events = 0;
  for (let round = 0; round < bench_rounds; round++) {
    const cpu = process.cpuUsage();
    events = 0;
    for (let seed = 1; seed <= bench_seeds; seed++) events += sim.runSimulation(sim.randomSimConfig(seed)).stats.events;
    const used = process.cpuUsage(cpu);
    rates.push(bench_seeds / ((used.user + used.system) / 1e6));
  }
  rates.sort((a, b) => a - b);
  return { seeds: bench_seeds, rounds: bench_rounds, seeds_per_cpu_s: Math.round(rates[Math.floor(rates.length / 2)]), events_per_seed: Math.round(events / bench_seeds) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await measureRaftSim(process.argv[2])));
}
