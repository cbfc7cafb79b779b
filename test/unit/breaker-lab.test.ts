import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLab } from '../../src/lib/grade/spec.js';
import { lab_plugins } from '../../src/registry.js';
import { breaker_properties } from '../../src/systems/breaker/checker.js';
import { loadCounts, loadShortfall } from '../../src/systems/breaker/steps.js';
import type { LoadStats } from '../../src/lib/load-stats.js';
import { repo_root } from '../helpers/cli.js';

// The circuit-breaker lab without processes: its spec against the breaker system's steps, its planted-bug
// variants, and the arithmetic of the load expectations its tests hold a run to.

const lab_dir = path.join(repo_root, 'labs', 'circuit-breaker');

describe('the circuit-breaker lab spec', () => {
  const lab = () => loadLab('circuit-breaker', lab_plugins);

  it('grades the services against the breaker system, every test ending in the checker', () => {
    const { reference, graded_group, tests } = lab();
    expect(reference).toBe('breaker');
    expect(graded_group).toBe('services');
    for (const test of tests) {
      expect(test.steps.at(-1)!.do, test.name).toBe('breaker_check');
      expect(test.checks, test.name).toContain('no_crash');
      for (const property of (test.steps.at(-1)!.properties as string[] | undefined) ?? []) expect(breaker_properties, test.name).toContain(property);
    }
  });

  it('keeps every test short: its loads and sleeps well inside its time limit, and the lab under three minutes of them', () => {
    let total_ms = 0;
    for (const test of lab().tests) {
      // A background load overlaps the steps after it, but counting it whole keeps the bound simple and safe.
      const busy_ms = test.steps.reduce((sum, s) => sum + (s.do === 'breaker_load' ? (s.duration_ms as number) : s.do === 'sleep' ? (s.ms as number) : 0), 0);
      expect(busy_ms, test.name).toBeLessThan(test.time_limit_ms / 2);
      total_ms += busy_ms;
    }
    expect(total_ms).toBeLessThan(180_000);
  });

  it('has a variant for each planted bug, each naming its bug and loading the lab node', () => {
    const variants = readdirSync(path.join(lab_dir, 'variants')).sort();
    expect(variants).toEqual(['bulkhead-leaks-on-timeout.mjs', 'half-open-admits-all.mjs', 'never-half-opens.mjs', 'retry-without-budget.mjs', 'timeout-counts-as-success.mjs', 'window-never-forgets.mjs']);
    for (const file of variants) {
      const text = readFileSync(path.join(lab_dir, 'variants', file), 'utf8');
      expect(text, file).toContain(`process.env.DSLAB_BREAKER_PLANTED_BUG = '${file.replace('.mjs', '').replaceAll('-', '_')}';`);
      expect(text, file).toContain("await import('../../../dist/systems/breaker/main.js');");
    }
  });
});

describe('a breaker load held to its expectation', () => {
  /** A finished load's stats as far as the steps read them: its own outcome counts. */
  const stats = (counts: Record<string, number>): Pick<LoadStats, 'outcomes'> => ({ outcomes: { sent: 0, sent_per_s: 0, not_sent: {}, counts, by_target: {}, latency_ms: {} } });
  const counts = loadCounts(stats({ ok: 30, short_circuited: 60, failed: 10, rejected: 0 }));

  it('counts the settled requests by outcome, every outcome listed', () => {
    expect(counts).toEqual({ sent: 100, outcomes: { ok: 30, fallback: 0, failed: 10, short_circuited: 60, rejected: 0, bad_request: 0, timeout: 0 } });
    expect(loadCounts(stats({ ok: 2, timeout: 1 })).sent).toBe(3);
    expect(loadCounts(undefined).sent).toBe(0);
  });

  it('passes when every bound holds and names the first that does not, with the whole tally', () => {
    expect(loadShortfall(counts, { short_circuited_min: 60, failed_max: 10, ok_pct_min: 30 })).toBeNull();
    expect(loadShortfall(counts, { short_circuited_min: 61 })).toBe('60 of 100 requests were short-circuited, expected at least 61 (30 ok, 10 failed, 60 short-circuited)');
    expect(loadShortfall(counts, { ok_pct_min: 95 })).toBe('30% of 100 requests were ok, expected at least 95% (30 ok, 10 failed, 60 short-circuited)');
    expect(loadShortfall(counts, { failed_pct_max: 5 })).toMatch(/^10% of 100 requests were failed, expected at most 5%/);
    expect(loadShortfall(counts, { rejected_max: 0 })).toBeNull();
    // A share just under its bound reads as under it.
    expect(loadShortfall(loadCounts(stats({ ok: 29, failed: 1 })), { ok_pct_min: 97 })).toBe('96.7% of 30 requests were ok, expected at least 97% (29 ok, 1 failed)');
  });

  it('fails a load that recorded nothing when anything is expected of it', () => {
    expect(loadShortfall(loadCounts(stats({})), { ok_pct_min: 90 })).toBe('the load recorded no request');
    expect(loadShortfall(loadCounts(stats({})), {})).toBeNull();
  });
});
