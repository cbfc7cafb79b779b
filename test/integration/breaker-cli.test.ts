import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadStats } from '../../src/lib/load-stats.js';
import { cleanup, dslab, makeWorkdir } from '../helpers/cli.js';

/** The outcome rows of `dslab breaker load`'s table: outcome → count. */
function outcomeRows(stdout: string): Record<string, number> {
  const rows: Record<string, number> = {};
  for (const match of stdout.matchAll(/^(ok|fallback|failed|short_circuited|rejected|bad_request|timeout|total)\s+(\d+)/gm)) rows[match[1]!] = Number(match[2]);
  return rows;
}

/**
 * `dslab breaker load` and `dslab breaker check` on a real breaker cluster (one for the file):
 * healthy, then with d1 failing every call, then judged.
 */
describe('dslab breaker load and check', () => {
  let cwd: string;
  const cli = (...args: string[]) => dslab(cwd, ...args);
  beforeAll(async () => {
    cwd = makeWorkdir();
    const up = await cli('up', 'breaker', '--services', '2', '--detach');
    expect(up.exitCode, up.stderr).toBe(0);
  });
  afterAll(async () => {
    await cleanup(cwd);
  });

  it('counts every request sent by outcome; with d1 failing every call the breakers short-circuit; the check gives a verdict with figures', async () => {
    // A short healthy load, so that the failures of the next one soon outweigh its successes in the
    // breakers' 10 s windows (half of them failed opens a breaker).
    const healthy = await cli('breaker', 'load', '--rate', '100', '--duration', '1s');
    expect(healthy.exitCode, healthy.stderr).toBe(0);
    const sent = Number(/^(\d+) requests sent in /m.exec(healthy.stdout)?.[1]);
    expect(sent).toBe(100);
    const rows = outcomeRows(healthy.stdout);
    const { total, ...outcomes } = rows;
    expect(Object.keys(outcomes)).toHaveLength(7);
    expect(Object.values(outcomes).reduce((a, b) => a + b, 0)).toBe(sent);
    expect(total).toBe(sent);
    expect(rows.ok).toBeGreaterThan(0);

    const fail = await cli('fail', 'd1', '--errors', '100%');
    expect(fail.exitCode, fail.stderr).toBe(0);
    const failing = await cli('breaker', 'load', '--rate', '100', '--duration', '2s', '--json');
    expect(failing.exitCode, failing.stderr).toBe(0);
    const stats = JSON.parse(failing.stdout) as LoadStats;
    const counts = stats.outcomes!.counts;
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(stats.outcomes!.sent);
    expect(stats.outcomes!.sent).toBe(200);
    expect(counts.short_circuited).toBeGreaterThan(0);
    expect(counts.ok).toBe(0);
    expect(stats.outcomes!.latency_ms.short_circuited!.p50).toBeGreaterThanOrEqual(0);

    const check = await cli('breaker', 'check');
    expect(check.stdout, check.stderr).toMatch(/^breaker check: (ok, no violation|VIOLATED, \d+ violations?)\n/);
    expect(check.stdout).toContain('300 requests and');
    expect(check.stdout).toMatch(/^ {2}s1: 150 requests \(.*short circuited \d+.*\), \d+ calls .*opened \d+ times?/m);
    expect(check.stdout).toMatch(/application faults on d1: errors 100% at \d+\.\d s/);
    // dslab's reference service keeps every rule.
    expect(check.exitCode).toBe(0);
  });

  it('refuses bad flags in one line', async () => {
    const refusals = [
      [['--bad', '200%'], 'dslab: bad --bad "200%": must be at most 100%'],
      [['--services', 's1,s9'], 'dslab: --services: s9 is not a service of this cluster (services: s1, s2)'],
      [['--rate', '0'], 'dslab: --rate must be a number from 0.1 to 20000, got 0'],
    ] as const;
    // None starts a load (a load running would refuse --services for that instead): they run at once.
    const [dir, ...results] = await Promise.all([cli('breaker', 'check', '--dir', cwd), ...refusals.map(([args]) => cli('breaker', 'load', ...args, '--duration', '1s'))]);
    refusals.forEach(([args, message], i) => {
      expect(results[i]!.exitCode, args.join(' ')).not.toBe(0);
      expect(results[i]!.stderr.trim()).toBe(message);
    });
    expect(dir.exitCode).not.toBe(0);
    expect(dir.stderr.trim()).toBe(`dslab: ${cwd} holds no cluster (no readable cluster.json)`);
  });
});
