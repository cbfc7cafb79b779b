import { describe, expect, it } from 'vitest';
import { fixed_client_ids, generate_clients_max, known_clients_max, kv_clients_max, rangeClientId, session_clients_max, test_clients_max, workload_clients_max, type ClientRange } from '../../src/lib/supervisor/client-ids.js';
import { isClientId } from '../../src/lib/protocol/messages.js';

const sizes: Record<ClientRange, number> = { workload: workload_clients_max, generator: generate_clients_max, pool: kv_clients_max, session: session_clients_max, test: test_clients_max };
const idsOf = (range: ClientRange) => Array.from({ length: sizes[range] }, (_, i) => rangeClientId(range, i));

describe("dslab test's client range", () => {
  it('runs from c3001 for test_clients_max ids, each a client id', () => {
    const ids = idsOf('test');
    expect(ids[0]).toBe('c3001');
    expect(ids.at(-1)).toBe(`c${3000 + test_clients_max}`);
    expect(new Set(ids).size).toBe(test_clients_max);
    expect(ids.every(isClientId)).toBe(true);
    expect(() => rangeClientId('test', test_clients_max)).toThrow(/outside the test range/);
  });

  it('shares no id with any other range or fixed client (a test run beside a load or a session never mixes their replies)', () => {
    const test = new Set(idsOf('test'));
    for (const range of ['workload', 'generator', 'pool', 'session'] as const) {
      const shared = idsOf(range).filter((id) => test.has(id));
      expect(shared, range).toEqual([]);
    }
    expect(Object.values(fixed_client_ids).filter((id) => test.has(id))).toEqual([]);
  });

  it('is counted in the ids the supervisor may know at once', () => {
    const all = new Set([...Object.values(fixed_client_ids), ...(['workload', 'generator', 'pool', 'session', 'test'] as const).flatMap(idsOf)]);
    expect(known_clients_max).toBeGreaterThanOrEqual(all.size);
  });
});
