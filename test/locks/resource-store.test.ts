import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Wal } from '../../src/lib/storage/wal.js';
import { Resource, resource_log_file, ResourceStore, type SectionFields } from '../../src/systems/locks/resource.js';
import { checkLocks } from '../../src/systems/locks/checker.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-resource-');
const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const grant = (round: number, token: number | null): SectionFields => ({ round, token, acquired_ms: t0, ttl_ms: 1000 });

/** The resource as a restarted r1 would be: a new one over the same data directory. */
function restarted(dir: string, fencing = true, counter: 'resource' | 'backend' = 'resource', kept_max?: number): Resource {
  return new Resource(fencing, counter, ResourceStore.open(dir), null, kept_max);
}

describe('the resource across a restart', () => {
  it('keeps the counter, the highest token and what it observed: a stale write is still refused', () => {
    const dir = tempDir();
    const before = restarted(dir);
    expect(before.read('k1', grant(1, 5), t0)).toEqual({ value: 0 });
    expect(before.write('k1', grant(1, 5), 1, t0 + 10)).toBeNull();
    expect(before.read('k2', grant(1, 7), t0 + 20)).toEqual({ value: 1 });
    expect(before.write('k2', grant(1, 7), 2, t0 + 30)).toBeNull();
    expect(before.write('k3', grant(1, 6), 2, t0 + 40)).toMatch(/^stale token 6/);

    const after = restarted(dir);
    expect([after.counter, after.max_token, after.max_seen, after.accepted, after.rejected]).toEqual([2, 7, 7, 2, 1]);
    expect(after.observations).toEqual(before.observations);
    // The paused holder of token 6 wakes after r1's restart: still stale.
    expect(after.write('k3', grant(2, 6), 3, t0 + 50)).toBe('stale token 6: a write with token 7 was already accepted');
    expect(after.write('k1', grant(2, 8), 3, t0 + 60)).toBeNull();
    const check = checkLocks({ observations: after.observations, counter: after.counter, fencing: true, dropped: after.dropped });
    expect(check.violations).toEqual([]);
    expect([check.acknowledged, check.counter, check.rejected_writes]).toEqual([3, 3, 2]);
  });

  it('keeps a token that only a read brought: an older holder cannot write over the read it would erase', () => {
    const dir = tempDir();
    const before = restarted(dir);
    expect(before.read('k1', grant(1, 3), t0)).toEqual({ value: 0 });
    // k2 was granted the lock after k1's expired, and has read; r1 restarts before k2 writes.
    expect(before.read('k2', grant(1, 4), t0 + 10)).toEqual({ value: 0 });
    const after = restarted(dir);
    expect(after.write('k1', grant(1, 3), 1, t0 + 20)).toBe('stale token 3: token 4 already came');
    expect(after.write('k2', grant(1, 4), 1, t0 + 30)).toBeNull();
    expect(after.counter).toBe(1);
  });

  it('keeps notes of the backend counter in backend mode, refused ones apart', () => {
    const dir = tempDir();
    const before = restarted(dir, false, 'backend');
    before.note('k1', grant(1, 2), 'read', 0, true, t0);
    before.note('k1', grant(1, 2), 'write', 1, true, t0 + 1);
    before.note('k2', grant(1, 3), 'write', 1, false, t0 + 2);
    const after = restarted(dir, false, 'backend');
    expect([after.accepted, after.rejected, after.max_token, after.observations.length]).toEqual([1, 0, 2, 3]);
  });

  it('past the observations it keeps, logs the state instead, and rewrites the log to stay bounded', () => {
    const dir = tempDir();
    const file = path.join(dir, resource_log_file);
    const store = ResourceStore.open(dir, 5);
    const r = new Resource(true, 'resource', store, null, 3);
    for (let i = 1; i <= 20; i++) expect(r.write('k1', grant(i, i), i, t0 + i)).toBeNull();
    expect([r.observations.length, r.dropped]).toEqual([3, 17]);
    const on_disk = Wal.open<object>(file);
    on_disk.wal.close();
    const after = restarted(dir, true, 'resource', 3);
    expect([after.counter, after.max_token, after.accepted, after.dropped, after.observations.length]).toEqual([20, 20, 20, 17, 3]);
    expect(after.write('k2', grant(1, 20), 21, t0 + 100)).toMatch(/^stale token 20/);
    // 17 state records past 3 observations, rewritten at every 5th: 3 observations and at most 5 states on disk, not 20 records.
    expect(on_disk.records.filter((record) => 'observation' in record)).toHaveLength(3);
    expect(on_disk.records.filter((record) => 'state' in record).length).toBeLessThanOrEqual(5);
  });
});
