import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Resource, recordedReport, resource_settings_file, ResourceStore, type SectionFields, writeResourceSettings } from '../../src/systems/locks/resource.js';
import { checkLocks } from '../../src/systems/locks/checker.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-live-check-');
const t0 = Date.UTC(2026, 0, 1, 12, 0, 1, 200);
const grant = (round: number, token: number | null, acquired_ms: number, ttl_ms = 1000): SectionFields => ({ round, token, acquired_ms, ttl_ms });

function section(r: Resource, node: string, fields: SectionFields, at: number, hold = 10): void {
  const read = r.read(node, fields, at);
  if ('value' in read) r.write(node, fields, read.value + 1, at + hold);
}

/** The whole-record checker's verdict on what the resource observed, to hold the live one to. */
const finalCheck = (r: Resource) => checkLocks({ observations: r.observations, counter: r.counter, fencing: r.fencing, dropped: r.dropped, lock_backend: 'redis' });

describe('the lock check as the resource sees the run', () => {
  it('holds while sections follow one another: the counter matches the acknowledged increments', () => {
    const r = new Resource(false, 'resource', null, null, undefined, 'redis');
    for (let i = 0; i < 4; i++) section(r, i % 2 ? 'k2' : 'k1', grant(i, i + 1, t0 + i * 100), t0 + i * 100);
    expect(r.stateReport()).toMatchObject({ counter: 4, accepted: 4, lost: 0, overlaps: 0, violations: 0, last_violation: null, verdict_ok: true });
    expect(r.stateReport().verdict).toBe('counter 4 after 4 acknowledged increments, 0 lost; 0 overlaps');
  });

  it('names an overlap the moment the stale write arrives, in the words the final check uses, with what it lost', () => {
    const r = new Resource(false, 'resource', null, null, undefined, 'redis');
    section(r, 'k1', grant(1, 1, t0), t0);
    const stale = grant(2, 2, t0 + 100);
    const read = r.read('k3', stale, t0 + 100);
    section(r, 'k5', grant(1, 3, t0 + 1200), t0 + 1200);
    section(r, 'k5', grant(2, 4, t0 + 1300), t0 + 1300);
    section(r, 'k5', grant(3, 5, t0 + 1400), t0 + 1400);
    expect(r.live.violations).toBe(0);
    r.write('k3', stale, (read as { value: number }).value + 1, t0 + 2500);
    const final = finalCheck(r);
    expect(r.stateReport()).toMatchObject({ counter: 2, accepted: 5, lost: 3, overlaps: 1, violations: 1, verdict_ok: false, last_violation: final.overlaps[0]!.description });
    expect(r.stateReport().verdict).toBe('counter 2 after 5 acknowledged increments, 3 lost; 1 overlap');
    expect([r.live.acknowledged, r.live.lost, r.live.overlaps]).toEqual([final.acknowledged, final.lost, final.overlaps.length]);
  });

  it('counts overlapping sections that one long section bridges as one violation, as the final check groups them', () => {
    const r = new Resource(false, 'resource', null, null, undefined, 'redis');
    const bridge = grant(1, 9, t0);
    r.read('k5', bridge, t0 + 5);
    // Two overlaps of their own, named as each is seen...
    const a = grant(1, 1, t0);
    r.read('k1', a, t0);
    section(r, 'k2', grant(1, 2, t0 + 10), t0 + 10);
    r.write('k1', a, 1, t0 + 25);
    const b = grant(2, 3, t0 + 30);
    r.read('k3', b, t0 + 30);
    section(r, 'k4', grant(1, 4, t0 + 35), t0 + 35, 5);
    r.write('k3', b, 3, t0 + 45);
    expect([r.live.overlaps, r.live.violations]).toEqual([2, 2]);
    // ...then k5, which held the lock all along, writes: the final check sees one group of five.
    r.write('k5', bridge, 4, t0 + 50);
    const final = finalCheck(r);
    expect(final.overlaps).toHaveLength(1);
    expect(final.overlaps[0]!.nodes).toEqual(['k1', 'k5', 'k2', 'k3', 'k4']);
    expect(r.live.overlaps).toBe(1);
    expect(r.live.lost).toBe(final.lost);
    expect(r.stateReport().verdict).toContain('; 1 overlap');
  });

  it('under fencing, a refused stale write is no violation; an accepted equal token (the planted bug) is named as a token regression', () => {
    const fenced = new Resource(true, 'resource');
    const stale = grant(1, 1, t0);
    fenced.read('k3', stale, t0);
    section(fenced, 'k5', grant(1, 2, t0 + 1200), t0 + 1200);
    fenced.write('k3', stale, 1, t0 + 2500);
    expect(fenced.stateReport()).toMatchObject({ violations: 0, verdict_ok: true, verdict: 'counter 1 after 1 acknowledged increment, 0 lost; 0 overlaps; 1 stale write rejected' });

    const planted = new Resource(true, 'resource', null, 'accept_equal_token');
    const fields = (node: string, at: number) => planted.write(node, grant(1, 5, t0), at - t0 + 1, at);
    expect(fields('k1', t0)).toBeNull();
    expect(fields('k2', t0 + 10)).toBeNull();
    const final = checkLocks({ observations: planted.observations, counter: planted.counter, fencing: true, dropped: 0 });
    expect(planted.live.token_regressions).toBe(1);
    expect(planted.live.last_violation).toBe(final.token_regressions[0]);
    expect(planted.stateReport().verdict_ok).toBe(false);
  });

  it('keeps only the written sections a later write could still overlap', () => {
    const r = new Resource(false, 'resource');
    for (let i = 0; i < 5000; i++) section(r, `k${(i % 3) + 1}`, grant(i, null, t0 + i * 20), t0 + i * 20);
    expect((r.live as unknown as { written: unknown[] }).written.length).toBeLessThan(5);
    expect(r.live.ok).toBe(true);
  });
});

describe("a stopped cluster's resource record", () => {
  it('is read back from its data folder, untouched, with the settings the resource ran with and the last backend counter', () => {
    const dir = tempDir();
    writeResourceSettings(dir, { fencing: false, counter_place: 'backend', lock_backend: 'etcd' });
    const r = new Resource(false, 'backend', ResourceStore.open(dir), null, undefined, 'etcd');
    r.note('k1', grant(1, 1, t0), 'read', 0, true, t0);
    r.note('k1', grant(1, 1, t0), 'write', 1, true, t0 + 10);
    r.noteBackendCounter(1);
    const report = recordedReport(dir)!;
    expect(report).toMatchObject({ counter_place: 'backend', fencing: false, counter: 1, lock_backend: 'etcd', next: null });
    expect(report.observations).toEqual(r.observations);
    expect(checkLocks(report).ok).toBe(true);
    // A later write of the backend's counter that the contenders never acknowledged: the record says what the backend said last.
    r.noteBackendCounter(0);
    expect(recordedReport(dir)!.counter).toBe(0);
    expect(checkLocks(recordedReport(dir)!).lost).toBe(1);
  });

  it('is null for a folder whose resource never ran', () => {
    const dir = tempDir();
    expect(recordedReport(dir)).toBeNull();
    writeFileSync(path.join(dir, resource_settings_file), '{}\n');
    expect(recordedReport(dir)).toBeNull();
  });
});
