/**
 * `dslab breaker scenario metastable` for real: two breaker clusters, one after the other, each
 * loaded at 80% of d1's capacity through a latency spike. What must happen is asserted as events,
 * with generous margins, never timings: A (naive retries, no breaker) stayed degraded after the
 * spike ended with d1's queue not drained, B (breaker and retry budget) came back, retries
 * multiplied the calls to d1 in A more than in B, the report was written, and no process is left.
 * Run under the cluster lock: flock /tmp/dslab-cluster.lock npx vitest run test/integration/breaker-scenario.test.ts
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ScenarioResult } from '../../src/systems/breaker/scenario.js';
import { cleanup, dslab, makeWorkdir } from '../helpers/cli.js';

/** Processes whose working directory is `dir`, from /proc. */
function processesIn(dir: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/cwd`) === realpathSync(dir);
      } catch {
        return false; // gone, or not ours to read
      }
    })
    .map(Number);
}

/** Two runs of about 12 s each, their clusters' starts and stops, on a loaded machine. */
const scenario_ms_max = 150_000;

const cwd = makeWorkdir();
afterAll(() => cleanup(cwd));

describe('dslab breaker scenario metastable', () => {
  it(
    'shows A stay degraded after the spike and B recover, side by side, with its report',
    async () => {
      const out = path.join(cwd, 'metastable');
      const run = await dslab(cwd, 'breaker', 'scenario', 'metastable', '--out', out, '--json');
      const result = JSON.parse(run.stdout) as ScenarioResult;
      const context = `${run.stderr}\n${result.summary?.join('\n')}`;
      const [a, b] = result.arms;
      expect(a!.name).toBe('A');
      expect(b!.name).toBe('B');
      // Both healthy before the spike: what follows is the spike's doing.
      expect(a!.figures.before_goodput_pct!, context).toBeGreaterThan(80);
      expect(b!.figures.before_goodput_pct!, context).toBeGreaterThan(80);
      // A: below half the offered load in every second after the heal, d1's queue not drained.
      expect(a!.figures.stayed_degraded, context).toBe(true);
      expect(a!.figures.queue_at_end!, context).toBeGreaterThan(a!.figures.queue_at_heal! / 2);
      // B: back to at least 80% in every second from some point after the heal on.
      expect(b!.figures.recovered_after_s, context).not.toBeNull();
      expect(b!.figures.after_goodput_pct!, context).toBeGreaterThan(50);
      // Naive retries multiply the calls to d1; the budget and the open breaker hold them down.
      expect(a!.figures.amplification!, context).toBeGreaterThan(1.5);
      expect(a!.figures.amplification!, context).toBeGreaterThan(b!.figures.amplification!);
      expect(result.shown, context).toBe(true);
      expect(run.exitCode, context).toBe(0);
      // The report and the record are kept in the folder asked for.
      expect(result.report_file).toBe(path.join(out, 'report.html'));
      expect(readFileSync(result.report_file!, 'utf8')).toContain('id="timeline-a"');
      expect(JSON.parse(readFileSync(path.join(out, 'result.json'), 'utf8')).shown).toBe(true);
      for (const arm of result.arms) expect(existsSync(arm.trace_file!)).toBe(true);
      // Both clusters were taken down: no process is left working in the test's folder (the nodes ran there).
      expect(processesIn(cwd)).toEqual([]);
    },
    scenario_ms_max,
  );
});
