import { describe, expect, it } from 'vitest';
import { lww_gossip_interval_ms, lww_kv_replicas, LwwKv } from '../../src/lib/services/lww-kv.js';
import { createRng } from '../../src/lib/util/prng.js';
import { ask } from './harness.js';

describe('lww-kv', () => {
  it('is weak: a client can miss its own acknowledged write when requests come quickly', () => {
    let missed = 0;
    for (let seed = 0; seed < 10; seed++) {
      const service = new LwwKv(createRng(seed));
      for (let i = 1; i <= 20; i++) {
        ask(service, 'n1', { type: 'write', key: 'x', value: i }, i);
        const read = ask(service, 'n1', { type: 'read', key: 'x' }, i);
        if (read.type === 'error' || read.value !== i) missed++;
      }
    }
    expect(missed).toBeGreaterThan(10);
  });

  it('converges: a gossip interval after the last write, every client and every replica agrees on one written value', () => {
    for (let seed = 0; seed < 20; seed++) {
      const rng = createRng(seed + 100);
      const service = new LwwKv(createRng(seed));
      const written = new Map<string, Set<number>>();
      let now = 0;
      for (let i = 0; i < 200; i++) {
        const key = `k${rng.int(4)}`;
        const value = rng.int(1000);
        const client = `n${1 + rng.int(3)}`;
        const reply = rng.next() < 0.3 ? ask(service, client, { type: 'cas', key, from: rng.int(1000), to: value, create_if_not_exists: true }, now) : ask(service, client, { type: 'write', key, value }, now);
        if (reply.type !== 'error') written.set(key, (written.get(key) ?? new Set()).add(value));
        now += rng.int(50);
      }
      now += lww_gossip_interval_ms;
      for (const [key, values] of written) {
        const reads = ['n1', 'n2', 'n3', 'n4'].map((client) => ask(service, client, { type: 'read', key }, now).value as number);
        expect(new Set(reads).size, `seed ${seed} key ${key}: ${reads.join(',')}`).toBe(1);
        expect(values.has(reads[0]!)).toBe(true);
        const replicas = service.replicaValues(key);
        expect(replicas).toHaveLength(lww_kv_replicas);
        expect(replicas.every((v) => v === String(reads[0]))).toBe(true);
      }
    }
  });

  it('converges through the merges requests make, even with no time passing', () => {
    for (let seed = 0; seed < 10; seed++) {
      const service = new LwwKv(createRng(seed));
      for (let i = 0; i < 50; i++) ask(service, `n${1 + (i % 3)}`, { type: 'write', key: 'x', value: i }, 0);
      for (let i = 0; i < 100; i++) ask(service, 'n1', { type: 'read', key: 'y' }, 0);
      expect(new Set(service.replicaValues('x')).size).toBe(1);
    }
  });

  it('lets the last write win when requests are a gossip interval apart', () => {
    // Every request comes after a full exchange, so each write is stamped above all before it: plain last-writer-wins.
    const service = new LwwKv(createRng(5));
    let now = 0;
    for (let i = 1; i <= 30; i++) {
      ask(service, `n${1 + (i % 2)}`, { type: 'write', key: 'x', value: i }, (now += lww_gossip_interval_ms));
      expect(ask(service, 'n3', { type: 'read', key: 'x' }, (now += lww_gossip_interval_ms)).value).toBe(i);
    }
  });

  it('still converges when more changes happen between two merges than a replica remembers', () => {
    for (let seed = 0; seed < 10; seed++) {
      // A tiny change log, so merges often have to fall back to visiting every key.
      const service = new LwwKv(createRng(seed), 'lww-kv', { change_log_max: 4 });
      for (let i = 0; i < 400; i++) ask(service, 'n1', { type: 'write', key: `k${i % 40}`, value: i }, 0);
      ask(service, 'n1', { type: 'read', key: 'k0' }, lww_gossip_interval_ms);
      for (let k = 0; k < 40; k++) expect(new Set(service.replicaValues(`k${k}`)).size, `seed ${seed} k${k}`).toBe(1);
    }
  });
});
