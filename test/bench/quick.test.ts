import { execa } from 'execa';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repo_root } from '../helpers/cli.js';

/**
 * `npm run bench -- --quick`: every benchmark at a tiny size, so one that no
 * longer matches the code (an input of an old shape, a figure the code stopped
 * giving) fails here rather than in the next full run. Starts real clusters
 * (run-all takes each down, in the background, and waits for all before it exits); needs the build (dist/).
 */
const quick_run_ms_max = 400_000;
const run_all = path.join(repo_root, 'bench', 'run-all.js');

/** Every benchmark run-all runs, from its own list, and those a quick run may skip (only when a server it needs is not installed). */
async function listBenchmarks(): Promise<{ benchmarks: string[]; skippable: string[] }> {
  const { stdout } = await execa(process.execPath, [run_all, '--list'], { cwd: repo_root });
  const rows = stdout.split('\n').filter(Boolean).map((line) => /^(\S+)( \(skippable\))?$/.exec(line));
  expect(rows.every(Boolean), stdout).toBe(true);
  return { benchmarks: rows.map((m) => m![1]), skippable: rows.filter((m) => m![2]).map((m) => m![1]) };
}

describe('benchmarks, quick run', () => {
  it(
    'runs every benchmark to the end',
    async () => {
      const { benchmarks, skippable } = await listBenchmarks();
      expect(benchmarks.length).toBeGreaterThan(0);
      const run = await execa(process.execPath, [run_all, '--quick'], {
        cwd: repo_root,
        reject: false,
        env: { NO_COLOR: '1', DSLAB_HOME: '' },
        timeout: quick_run_ms_max,
        // On a timeout run-all takes the running benchmark's cluster down before it exits.
        killSignal: 'SIGTERM',
        forceKillAfterDelay: 30_000,
        all: true,
      });
      const output = String(run.all);
      const failed = output.split('\n').filter((line) => line.startsWith('FAILED '));
      expect(failed, output).toEqual([]);
      expect(run.exitCode, output).toBe(0);
      const skipped = [...output.matchAll(/^skipped (\S+): (.*)$/gm)];
      for (const [line, name, reason] of skipped) {
        expect(skippable, line).toContain(name);
        expect(reason, line).toMatch(/is not installed/);
      }
      // Every benchmark said ok or skipped: none was left out of the run.
      const ok = [...output.matchAll(/^ok (\S+) /gm)].map((m) => m[1]);
      expect([...ok, ...skipped.map((m) => m[1])].sort(), output).toEqual([...benchmarks].sort());
    },
    quick_run_ms_max + 60_000,
  );
});
