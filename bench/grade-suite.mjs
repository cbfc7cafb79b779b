// Grader speed and validity: the Raft labs (election, replication, persistence,
// snapshots) against the reference, timed; with --runs N every lab N times in a
// row, counting any run short of full marks (a flaky test is a bug).
//   node bench/grade-suite.mjs            # one timed pass over the four Raft labs
//   node bench/grade-suite.mjs --runs 20 --all
import { execFileSync } from 'node:child_process';
import { cleanup, cli, scratch } from './lib.mjs';

export const raft_labs = ['raft-election', 'raft-replication', 'raft-persistence', 'raft-snapshots'];
const all_labs = ['echo', 'unique-ids', ...raft_labs, 'kv-linearizable'];

function grade(cwd, lab) {
  let stdout;
  try {
    stdout = execFileSync(process.execPath, [cli, 'grade', lab, '--reference', '--json'], { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    stdout = error.stdout; // exit code 1: not full marks
  }
  return JSON.parse(stdout);
}

export function runSuite(labs, runs) {
  const cwd = scratch();
  const passes = [];
  const failures = [];
  const testTimes = new Map();
  try {
    for (let run = 1; run <= runs; run++) {
      const started = performance.now();
      for (const lab of labs) {
        const result = grade(cwd, lab);
        for (const r of result.results) {
          const key = `${lab}/${r.test}`;
          testTimes.set(key, (testTimes.get(key) ?? 0) + r.elapsed_ms);
          if (!r.passed) failures.push({ run, test: key, seed: r.seed, failure: r.failure });
        }
      }
      passes.push(Math.round(performance.now() - started));
      console.error(`run ${run}/${runs}: ${passes.at(-1)} ms, failures so far ${failures.length}`);
    }
  } finally {
    cleanup(cwd);
  }
  const slowest = [...testTimes.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([test, ms]) => ({ test, mean_ms: Math.round(ms / runs) }));
  return { labs, runs, pass_ms: passes, failures, slowest };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const runsFlag = process.argv.indexOf('--runs');
  const runs = runsFlag === -1 ? 1 : Number(process.argv[runsFlag + 1]);
  const labs = process.argv.includes('--all') ? all_labs : raft_labs;
  console.log(JSON.stringify(runSuite(labs, runs), null, 2));
}
