#!/usr/bin/env node
// Grades dslab's own reference against labs, each test --repeat times, and says whether every run
// passed (the labs promise full marks 20 times in a row). Starts real clusters: on a shared
// machine run it under the cluster lock, e.g.
//   flock /tmp/dslab-cluster.lock node bench/labs-reference.mjs --repeat 20 zab-election zab-broadcast zk-sessions snowflake locks
// Build first (npm run build). Exit code 0 only if every lab got full marks on every run.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
let repeat = 20;
const labs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--repeat') repeat = Number(args[++i]);
  else labs.push(args[i]);
}
if (!Number.isInteger(repeat) || repeat < 1) {
  console.error('labs-reference: --repeat needs a whole number of runs, 1 or more');
  process.exit(1);
}
if (labs.length === 0) labs.push('zab-election', 'zab-broadcast', 'zk-sessions', 'snowflake', 'locks');

/** One grade, as its JSON report. */
function grade(lab) {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(root, 'bin', 'run.js'), 'grade', lab, '--reference', '--repeat', String(repeat), '--json'], { maxBuffer: 64 << 20, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      try {
        resolve(JSON.parse(stdout));
      } catch {
        resolve({ lab, error: (stderr || String(error)).trim().split('\n')[0] });
      }
    });
  });
}

let all = true;
for (const lab of labs) {
  const started = Date.now();
  const result = await grade(lab);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  if (result.error) {
    all = false;
    console.log(`${lab}: could not grade: ${result.error}`);
    continue;
  }
  const failed = result.results.filter((r) => !r.passed);
  const full = result.score === result.max_score;
  all &&= full;
  console.log(`${lab}: ${full ? 'full marks' : 'NOT full marks'} on ${repeat} run${repeat === 1 ? '' : 's'} of each test: ${result.score}/${result.max_score}, ${result.results.length - failed.length}/${result.results.length} test runs passed (${seconds}s)`);
  for (const f of failed) console.log(`  ${f.test} seed ${f.seed}: ${f.failure}\n    replay: ${f.replay}`);
}
process.exit(all ? 0 : 1);
