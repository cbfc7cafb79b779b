// Wall time of `dslab up echo --nodes 5 --detach` until every node answered
// init (the command returns only then), CLI start-up included.
import { cleanup, dslab, median, scratch } from './lib.mjs';

export const runs_default = 10;
/** Quick mode (bench/run-all.js --quick): one run shows the benchmark still works, not how fast. */
export const runs_quick = 1;

export async function measureUpTime(runs = runs_default) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const cwd = scratch();
    try {
      const start = process.hrtime.bigint();
      dslab(cwd, 'up', 'echo', '--nodes', '5', '--detach');
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    } finally {
      cleanup(cwd);
    }
  }
  return { runs, median_ms: Math.round(median(times)), min_ms: Math.round(Math.min(...times)), max_ms: Math.round(Math.max(...times)) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await measureUpTime());
}
