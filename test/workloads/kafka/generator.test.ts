import { describe, expect, it } from 'vitest';
import { createRng } from '../../../src/lib/util/prng.js';
import { exponentialKeyIndex, kafka_crash_interval_s, KafkaGenerator, type KafkaOperation } from '../../../src/workloads/kafka/generator.js';

function draw(generator: KafkaGenerator, count: number): KafkaOperation[] {
  return Array.from({ length: count }, () => generator.next());
}

describe('the kafka generator', () => {
  it('draws sends and polls about half each, with an assign about one time in 64, on --key-count keys', () => {
    const ops = draw(new KafkaGenerator(createRng(1), { key_count: 3, max_writes_per_key: 1_000_000, concurrency: 1 }, () => 0), 20_000);
    const by = (f: string) => ops.filter((o) => o.f === f).length;
    expect(by('send') / ops.length).toBeGreaterThan(0.45);
    expect(by('poll') / ops.length).toBeGreaterThan(0.45);
    expect(by('assign') / ops.length).toBeGreaterThan(1 / 64 / 2);
    expect(by('assign') / ops.length).toBeLessThan((1 / 64) * 2);
    const keys = new Set(ops.flatMap((o) => (o.f === 'send' ? [o.value.key] : o.f === 'assign' ? o.value.keys : [])));
    expect([...keys].sort()).toEqual(['0', '1', '2']);
  });

  it("sends each key's values 1, 2, 3 … up to --max-writes-per-key, then moves to a fresh key", () => {
    const ops = draw(new KafkaGenerator(createRng(2), { key_count: 2, max_writes_per_key: 4, concurrency: 1 }, () => 0), 2_000);
    const sends = ops.filter((o): o is Extract<KafkaOperation, { f: 'send' }> => o.f === 'send');
    const perKey = new Map<string, number[]>();
    for (const s of sends) perKey.set(s.value.key, [...(perKey.get(s.value.key) ?? []), s.value.msg]);
    expect(perKey.size).toBeGreaterThan(20);
    for (const [key, msgs] of perKey) {
      // Every key but the two still active took exactly its four values, in order.
      if (msgs.length < 4) continue;
      expect(msgs, key).toEqual([1, 2, 3, 4]);
    }
    const full = [...perKey.values()].filter((m) => m.length === 4).length;
    expect(full).toBeGreaterThanOrEqual(perKey.size - 2);
  });

  it('prefers later keys of the pool, each twice as likely as the one before, and stays in range for big pools', () => {
    const rng = createRng(3);
    const counts = [0, 0, 0];
    for (let i = 0; i < 70_000; i++) counts[exponentialKeyIndex(rng, 3)]!++;
    expect(counts[1]! / counts[0]!).toBeGreaterThan(1.8);
    expect(counts[1]! / counts[0]!).toBeLessThan(2.2);
    expect(counts[2]! / counts[1]!).toBeGreaterThan(1.8);
    expect(counts[2]! / counts[1]!).toBeLessThan(2.2);
    for (let i = 0; i < 1000; i++) {
      const index = exponentialKeyIndex(rng, 5000);
      expect(index).toBeGreaterThanOrEqual(0);
      expect(index).toBeLessThan(5000);
    }
  });

  it('puts in a crash about every 30 s per client', () => {
    let now = 0;
    const generator = new KafkaGenerator(createRng(4), { key_count: 3, concurrency: 2 }, () => now);
    let crashes = 0;
    // 10 operations a second for 20 minutes.
    for (let i = 0; i < 12_000; i++) {
      now = i * 100;
      if (generator.next().f === 'crash') crashes++;
    }
    const expected = (20 * 60 * 2) / kafka_crash_interval_s;
    expect(crashes).toBeGreaterThan(expected * 0.7);
    expect(crashes).toBeLessThan(expected * 1.3);
  });

  it('adds keys with unread acknowledged offsets to some assigns, and tracks the final targets', () => {
    const generator = new KafkaGenerator(createRng(5), { key_count: 2, max_writes_per_key: 1_000_000, concurrency: 1 }, () => 0);
    generator.observeSend('77', 3);
    generator.observeSend('78', 1);
    generator.observePoll({ '78': [[0, 1], [1, 2]] });
    const assigns = draw(generator, 20_000).filter((o): o is Extract<KafkaOperation, { f: 'assign' }> => o.f === 'assign');
    const withUnseen = assigns.filter((a) => a.value.keys.includes('77'));
    expect(withUnseen.length).toBeGreaterThan(assigns.length / 6);
    expect(withUnseen.length).toBeLessThan(assigns.length / 2);
    // Key 78 was caught up: no assign reaches for it.
    expect(assigns.some((a) => a.value.keys.includes('78'))).toBe(false);
    expect(Object.fromEntries(generator.max_offsets)).toEqual({ '77': 3, '78': 1 });
  });
});
