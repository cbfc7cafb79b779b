import { describe, expect, it } from 'vitest';
import { Resource, type SectionFields } from '../../src/systems/locks/resource.js';
import { checkLocks } from '../../src/systems/locks/checker.js';

/** A scripted run against the real Resource: each step is one contender's read or write at a time. */
function run(fencing: boolean, steps: (r: Resource) => void, lock_backend?: 'redis' | 'zk' | 'etcd') {
  const resource = new Resource(fencing, 'resource');
  steps(resource);
  return checkLocks({ observations: resource.observations, counter: resource.counter, fencing, dropped: resource.dropped, ...(lock_backend ? { lock_backend } : {}) });
}

const grant = (round: number, token: number | null, acquired_ms: number, ttl_ms = 1000): SectionFields => ({ round, token, acquired_ms, ttl_ms });

/** One contender's whole section: read at `at`, write the value plus one at `at + hold`. */
function section(r: Resource, node: string, fields: SectionFields, at: number, hold = 10): void {
  const read = r.read(node, fields, at);
  if ('value' in read) r.write(node, fields, read.value + 1, at + hold);
}

const t0 = Date.UTC(2026, 0, 1, 12, 0, 1, 200);

describe('the lock checker', () => {
  it('passes sections that follow one another, and counts them', () => {
    const check = run(false, (r) => {
      for (let i = 0; i < 5; i++) section(r, i % 2 ? 'k2' : 'k1', grant(i, i + 1, t0 + i * 100), t0 + i * 100);
    });
    expect(check.ok).toBe(true);
    expect(check.acknowledged).toBe(5);
    expect(check.counter).toBe(5);
    expect(check.violations).toEqual([]);
  });

  it('names a holder paused past its TTL, the contender it overlapped, and the increments its stale write lost', () => {
    const check = run(false, (r) => {
      section(r, 'k1', grant(1, 1, t0), t0); // counter 1
      const stale = grant(2, 2, t0 + 100);
      const read = r.read('k3', stale, t0 + 100); // reads 1, then is paused for 2.4 s
      section(r, 'k5', grant(1, 3, t0 + 1200), t0 + 1200); // 2
      section(r, 'k5', grant(2, 4, t0 + 1300), t0 + 1300); // 3
      section(r, 'k5', grant(3, 5, t0 + 1400), t0 + 1400); // 4
      r.write('k3', stale, (read as { value: number }).value + 1, t0 + 2500); // writes 2 over 4
    });
    expect(check.ok).toBe(false);
    expect(check.counter).toBe(2);
    expect(check.acknowledged).toBe(5);
    expect(check.lost).toBe(3);
    expect(check.overlaps).toHaveLength(1);
    expect(check.overlaps[0]!.nodes).toEqual(['k3', 'k5']);
    expect(check.overlaps[0]!.description).toBe('k3 and k5 both held the lock 12:00:02.400–.610: k3 wrote 2.4 s after it was granted the lock, 1.4 s past its 1.0 s TTL (paused, or slow); 3 increments lost');
    expect(check.violations.at(-1)).toBe('the counter is 2 after 5 acknowledged increments: 3 lost');
  });

  it('words a long hold by what the backend promised: a Redis PX lapses, a session or lease lasts while renewed', () => {
    const pausedHolder = (r: Resource) => {
      const stale = grant(1, 1, t0);
      const read = r.read('k3', stale, t0);
      section(r, 'k5', grant(1, 2, t0 + 1200), t0 + 1200);
      r.write('k3', stale, (read as { value: number }).value + 1, t0 + 2500);
    };
    const redis = run(false, pausedHolder, 'redis').overlaps[0]!.description;
    expect(redis).toContain('k3 wrote 2.5 s after it was granted the lock, 1.5 s past its 1.0 s TTL (paused, or slow)');
    const zk = run(false, pausedHolder, 'zk').overlaps[0]!.description;
    expect(zk).toContain('k3 wrote 2.5 s after it was granted the lock, longer than its 1.0 s session timeout: it held the lock only while it kept renewing it');
    expect(zk).not.toContain('TTL');
    const etcd = run(false, pausedHolder, 'etcd').overlaps[0]!.description;
    expect(etcd).toContain('longer than its 1.0 s lease: it held the lock only while it kept renewing it');
  });

  it('counts only the net loss when a later write of the same overlap made up for a stale one', () => {
    const check = run(false, (r) => {
      const a = grant(1, 1, t0);
      r.read('k1', a, t0); // reads 0
      section(r, 'k2', grant(1, 2, t0 + 10), t0 + 10); // 1
      const b = grant(2, 3, t0 + 30);
      const read_b = r.read('k2', b, t0 + 30); // reads 1
      r.write('k1', a, 1, t0 + 40); // 1 over 1: k1's increment lost
      r.write('k2', b, (read_b as { value: number }).value + 1, t0 + 50); // 2
    });
    expect(check.counter).toBe(2);
    expect(check.lost).toBe(1);
    expect(check.overlaps).toHaveLength(1);
    expect(check.overlaps[0]!.lost).toBe(1);
  });

  it('with fencing, rejects the stale write, loses nothing and finds no violation', () => {
    const check = run(true, (r) => {
      const stale = grant(1, 1, t0);
      r.read('k3', stale, t0);
      section(r, 'k5', grant(1, 2, t0 + 1200), t0 + 1200);
      section(r, 'k5', grant(2, 3, t0 + 1300), t0 + 1300);
      expect(r.write('k3', stale, 1, t0 + 2500)).toMatch(/stale token 1/);
    });
    expect(check.ok).toBe(true);
    expect(check.counter).toBe(2);
    expect(check.rejected_writes).toBe(1);
    expect(check.summary).toContain('1 stale write rejected');
  });

  it('finds an accepted write whose token went backwards (a resource that does not fence though it says it does)', () => {
    const observations = [
      { kind: 'read' as const, node: 'k1', round: 1, token: 5, at_ms: t0, value: 0, acquired_ms: t0, ttl_ms: 1000 },
      { kind: 'write' as const, node: 'k1', round: 1, token: 5, at_ms: t0 + 10, value: 1, acquired_ms: t0, ttl_ms: 1000, accepted: true, before: 0 },
      { kind: 'read' as const, node: 'k2', round: 1, token: 5, at_ms: t0 + 20, value: 1, acquired_ms: t0, ttl_ms: 1000 },
      { kind: 'write' as const, node: 'k2', round: 1, token: 5, at_ms: t0 + 30, value: 2, acquired_ms: t0, ttl_ms: 1000, accepted: true, before: 1 },
    ];
    const check = checkLocks({ observations, counter: 2, fencing: true, dropped: 0 });
    expect(check.ok).toBe(false);
    expect(check.token_regressions).toEqual(["k2's write at 12:00:01.230 was accepted with token 5, not above k1's 5 before it"]);
  });
});

describe('the resource', () => {
  it('with fencing, refuses a write with an equal token (a second write of one grant) and one below a token a read brought', () => {
    const r = new Resource(true, 'resource');
    expect(r.read('k1', grant(1, 4, t0), t0)).toEqual({ value: 0 });
    expect(r.write('k1', grant(1, 4, t0), 1, t0 + 1)).toBeNull();
    expect(r.write('k1', grant(1, 4, t0), 2, t0 + 2)).toMatch(/stale token 4: a write with token 4/);
    // k2 (token 6) read before k3 (token 5) wrote: k3's write would overwrite what k2 is about to build on.
    expect(r.read('k2', grant(1, 6, t0), t0 + 3)).toEqual({ value: 1 });
    expect(r.write('k3', grant(1, 5, t0), 2, t0 + 4)).toMatch(/stale token 5: token 6 already came/);
    expect(r.read('k3', grant(2, 5, t0), t0 + 5)).toEqual({ refused: 'stale token 5: token 6 already came' });
    expect(r.write('k2', grant(1, 6, t0), 2, t0 + 6)).toBeNull();
    expect(r.write('k4', grant(1, null, t0), 3, t0 + 7)).toBe('no fencing token');
    expect([r.counter, r.accepted, r.rejected, r.max_token]).toEqual([2, 2, 3, 6]);
  });

  it('without fencing, accepts every write, whatever its token', () => {
    const r = new Resource(false, 'resource');
    expect(r.write('k1', grant(1, 9, t0), 5, t0)).toBeNull();
    expect(r.write('k2', grant(1, 1, t0), 3, t0 + 1)).toBeNull();
    expect(r.counter).toBe(3);
  });

  it('reports its observations in pages', () => {
    const r = new Resource(false, 'resource');
    for (let i = 0; i < 2500; i++) r.read('k1', grant(i, null, t0), t0 + i);
    const first = r.report(0) as { observations: unknown[]; next: number | null; total: number };
    expect(first.observations).toHaveLength(2000);
    expect(first.next).toBe(2000);
    const second = r.report(2000) as { observations: unknown[]; next: number | null };
    expect(second.observations).toHaveLength(500);
    expect(second.next).toBeNull();
  });
});

describe('a restarted contender', () => {
  it('counts its rounds from 1 again: its sections are told apart by incarnation, so none is lost from the count', () => {
    const check = run(false, (r) => {
      section(r, 'k1', { ...grant(1, 1, t0), incarnation: 'a' }, t0);
      section(r, 'k1', { ...grant(1, 2, t0 + 100), incarnation: 'b' }, t0 + 100);
    });
    expect(check.sections).toBe(2);
    expect(check.acknowledged).toBe(2);
    expect(check.ok).toBe(true);
  });
});
