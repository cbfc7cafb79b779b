import { describe, expect, it } from 'vitest';
import { fixedClientId, generate_clients_max, KnownClients, known_clients_max, kv_clients_max, rangeClientId } from '../../src/lib/supervisor/client-ids.js';
import { load_clients_max } from '../../src/workloads/lin-kv/generator.js';

describe('client ids', () => {
  it('keeps the ids clients had before the registry: c0 for init, c1 for send, c2/c8/c9 for the grader', () => {
    expect([fixedClientId('supervisor'), fixedClientId('send'), fixedClientId('grader_echo'), fixedClientId('grader_doomed_writes'), fixedClientId('grader_direct_kv')]).toEqual(['c0', 'c1', 'c2', 'c8', 'c9']);
  });

  it('numbers range clients from their first id: load c1…, generators c100…, the kv pool after the named kv clients', () => {
    expect(rangeClientId('workload', 0)).toBe('c1');
    expect(rangeClientId('workload', load_clients_max - 1)).toBe(`c${load_clients_max}`);
    expect(rangeClientId('generator', 0)).toBe('c100');
    expect(rangeClientId('pool', 0)).toBe(`c${kv_clients_max + 1}`);
  });

  it('refuses an index outside its range (a bug in the caller)', () => {
    expect(() => rangeClientId('generator', generate_clients_max)).toThrow(/outside the generator range/);
    expect(() => rangeClientId('workload', -1)).toThrow(/outside the workload range/);
    expect(() => rangeClientId('pool', 0.5)).toThrow(/outside the pool range/);
  });

  it('remembers the ids requests went out as, up to a bound', () => {
    const known = new KnownClients();
    known.use('c1');
    known.use('c1');
    expect(known.has('c1')).toBe(true);
    expect(known.has('c2')).toBe(false);
    expect(known.size).toBe(1);
    for (let i = known.size; i < known_clients_max; i++) known.use(`x${i}`);
    expect(() => known.use('one-too-many')).toThrow(/too many client ids/);
    expect(known.has('c1')).toBe(true);
  });
});
