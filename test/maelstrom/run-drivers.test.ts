import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ClientTransport } from '../../src/lib/plugin.js';
import type { MessageBody } from '../../src/lib/protocol/messages.js';
import { IndefiniteError } from '../../src/lib/util/errors.js';
import { createRng } from '../../src/lib/util/prng.js';
import { checkEchoes, checkUniqueIds, driverFor, examples_max, lin_kv_ops_per_key, lin_kv_values } from '../../src/maelstrom/run/drivers.js';
import { failure_points_max, failurePoints } from '../../src/maelstrom/run/failures.js';
import { checkLinKvEntries, linKvOperation } from '../../src/maelstrom/run/lin-kv-check.js';
import type { RunHistoryEntry } from '../../src/maelstrom/run/result.js';
import { HistoryWriter } from '../../src/workloads/single-send/history.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const scratchDir = tempDirs('dslab-run-drivers-');

let clock = 0;
function op(f: string, outcome: RunHistoryEntry['outcome'], extra: Partial<RunHistoryEntry> = {}): RunHistoryEntry {
  const call_ms = (clock += 10);
  return { client: 'c3001', node: 'n0', f, call_ms, return_ms: outcome === 'unknown' ? null : call_ms + 5, outcome, ...extra };
}

describe('checkEchoes', () => {
  it('is valid when every ok echo came back as sent (operations not ok are not judged)', () => {
    const check = checkEchoes([op('echo', 'ok', { value: 'Please echo 1', result: 'Please echo 1' }), op('echo', 'unknown', { value: 'Please echo 2' }), op('echo', 'ok', { value: 'Please echo 3', result: 'Please echo 3' })]);
    expect(check.result).toBe('valid');
    expect(check.text).toBe('all 2 echoes came back as sent');
  });

  it('is invalid when one came back different or without its echo, quoting at most examples_max', () => {
    const entries = [op('echo', 'ok', { value: 'Please echo 0', result: 'Please echo 0' })];
    for (let i = 1; i <= examples_max + 2; i++) entries.push(op('echo', 'ok', { node: `n${i}`, value: `Please echo ${i}`, result: i === 1 ? undefined : `Please echo ${i + 1}` }));
    const check = checkEchoes(entries);
    expect(check.result).toBe('invalid');
    expect(check.text.startsWith(`${examples_max + 2} of ${examples_max + 3} echoes came back different: n1 answered "Please echo 1" with no echo field; n2 answered "Please echo 2" with "Please echo 3"`)).toBe(true);
    expect(check.details.examples).toHaveLength(examples_max);
    expect(check.details).toMatchObject({ ok: examples_max + 3, wrong: examples_max + 2 });
  });

  it('is unknown when no echo came back ok', () => {
    expect(checkEchoes([op('echo', 'fail', { value: 'x' }), op('echo', 'unknown', { value: 'y' })]).result).toBe('unknown');
    expect(checkEchoes([]).result).toBe('unknown');
  });
});

describe('checkUniqueIds', () => {
  it('is valid when the ok ids are distinct as JSON values (1 and "1" differ)', () => {
    const check = checkUniqueIds([op('generate', 'ok', { result: 1 }), op('generate', 'ok', { result: '1' }), op('generate', 'ok', { result: [1, 'a'] }), op('generate', 'unknown')]);
    expect(check.result).toBe('valid');
    expect(check.details).toEqual({ attempted_count: 4, acknowledged_count: 3, duplicated_count: 0, missing_id_count: 0 });
  });

  it('is invalid when an id was handed out twice, naming both nodes', () => {
    const first = op('generate', 'ok', { node: 'n1', result: 'n1-7' });
    const again = op('generate', 'ok', { node: 'n2', result: 'n1-7' });
    const check = checkUniqueIds([first, op('generate', 'ok', { result: 'x' }), again]);
    expect(check.result).toBe('invalid');
    expect(check.text).toMatch(/^1 of 3 ids were handed out more than once: "n1-7" from n1 .* again from n2/);
    expect(check.details.duplicated_count).toBe(1);
  });

  it('is invalid when an ok reply carried no id', () => {
    const check = checkUniqueIds([op('generate', 'ok', { result: 1 }), op('generate', 'ok')]);
    expect(check.result).toBe('invalid');
    expect(check.details.missing_id_count).toBe(1);
  });

  it('is unknown when no generate came back ok', () => {
    expect(checkUniqueIds([op('generate', 'fail'), op('generate', 'unknown')]).result).toBe('unknown');
  });
});

describe("lin-kv's generator", () => {
  const driver = driverFor('lin-kv')!;
  const settings = (key_count: number | null) => ({ nodes: ['n0', 'n1'], concurrency: 2, key_count });

  it('moves to the next key every lin_kv_ops_per_key operations, mixing reads, writes and cas of small values', () => {
    const source = driver.operations(createRng(3), settings(null));
    const ops = Array.from({ length: 3 * lin_kv_ops_per_key + 1 }, () => source.next());
    const keys = ops.map((o) => (o.value as { key: number }).key);
    expect(keys.slice(0, lin_kv_ops_per_key)).toEqual(Array(lin_kv_ops_per_key).fill(0));
    expect(keys.slice(lin_kv_ops_per_key, 2 * lin_kv_ops_per_key)).toEqual(Array(lin_kv_ops_per_key).fill(1));
    expect(keys.at(-1)).toBe(3);
    const counts = { read: 0, write: 0, cas: 0 } as Record<string, number>;
    for (const o of ops) {
      counts[o.f]!++;
      const args = o.value as Record<string, unknown>;
      if (o.f === 'write') expect(args.value).toSatisfy((v: number) => Number.isInteger(v) && v >= 0 && v < lin_kv_values);
      if (o.f === 'cas') for (const v of [args.from, args.to] as number[]) expect(Number.isInteger(v) && v >= 0 && v < lin_kv_values).toBe(true);
    }
    for (const f of ['read', 'write', 'cas']) expect(counts[f], f).toBeGreaterThan(ops.length / 5);
  });

  it('with key_count, uses that many keys round-robin for the whole run', () => {
    const source = driver.operations(createRng(3), settings(3));
    const keys = Array.from({ length: 3 * lin_kv_ops_per_key }, () => (source.next().value as { key: number }).key);
    expect(keys).toEqual(keys.map((_, i) => i % 3));
  });

  it('is the same for the same seed', () => {
    const a = driver.operations(createRng(9), settings(null));
    const b = driver.operations(createRng(9), settings(null));
    expect(Array.from({ length: 50 }, () => a.next())).toEqual(Array.from({ length: 50 }, () => b.next()));
  });
});

describe('linKvOperation', () => {
  const base = { client: 'c3001', node: 'n0', call_ms: 1, return_ms: 2 };

  it('maps reads, writes and cas to the checker\'s operations, the key as JSON', () => {
    expect(linKvOperation({ ...base, f: 'read', value: { key: 0 }, result: 3, outcome: 'ok' })).toEqual({ client: 'c3001', key: '0', call_ms: 1, return_ms: 2, outcome: 'ok', f: 'read', result: 3 });
    expect(linKvOperation({ ...base, f: 'read', value: { key: 'k' }, outcome: 'ok' })).toMatchObject({ key: '"k"', f: 'read', result: null });
    expect(linKvOperation({ ...base, f: 'read', value: { key: 0 }, result: null, outcome: 'ok' })).toMatchObject({ result: null });
    const failed = linKvOperation({ ...base, f: 'read', value: { key: 0 }, outcome: 'fail', error: 20 })!;
    expect(failed).toMatchObject({ f: 'read', outcome: 'fail', error: 20 });
    expect('result' in failed).toBe(false);
    expect(linKvOperation({ ...base, f: 'write', value: { key: 1, value: 4 }, outcome: 'unknown', return_ms: null })).toEqual({ client: 'c3001', key: '1', call_ms: 1, return_ms: null, outcome: 'unknown', f: 'write', value: 4 });
    expect(linKvOperation({ ...base, f: 'cas', value: { key: 2, from: 1, to: 3 }, outcome: 'fail', error: 22 })).toMatchObject({ f: 'cas', from: 1, to: 3, error: 22, key: '2' });
  });

  it('has no operation for what the checker cannot judge', () => {
    expect(linKvOperation({ ...base, f: 'read', value: { key: 0 }, result: { a: 1 }, outcome: 'ok' })).toBeNull();
    expect(linKvOperation({ ...base, f: 'write', value: { key: 0, value: [1] }, outcome: 'ok' })).toBeNull();
    expect(linKvOperation({ ...base, f: 'cas', value: { key: 0, from: 1 }, outcome: 'ok' })).toBeNull();
    expect(linKvOperation({ ...base, f: 'delete', value: { key: 0 }, outcome: 'ok' })).toBeNull();
  });
});

describe('checkLinKvEntries', () => {
  const at = (f: string, value: Record<string, unknown>, call_ms: number, return_ms: number | null, outcome: RunHistoryEntry['outcome'], result?: unknown): RunHistoryEntry => ({ client: `c${3001 + call_ms}`, node: 'n0', f, value, call_ms, return_ms, outcome, ...(result !== undefined ? { result } : {}) });

  it('a read of a value nobody wrote, after a write of 1 finished, is invalid', () => {
    const check = checkLinKvEntries([at('write', { key: 0, value: 1 }, 0, 10, 'ok'), at('read', { key: 0 }, 20, 30, 'ok', 2)], 10_000);
    expect(check.result).toBe('invalid');
    expect(check.text).toMatch(/^invalid: key 0 is not linearizable/);
  });

  it('a stale read after a write finished is invalid; the same read overlapping the write is valid', () => {
    expect(checkLinKvEntries([at('write', { key: 0, value: 1 }, 0, 10, 'ok'), at('read', { key: 0 }, 20, 30, 'ok', null)], 10_000).result).toBe('invalid');
    expect(checkLinKvEntries([at('write', { key: 0, value: 1 }, 0, 10, 'ok'), at('read', { key: 0 }, 5, 30, 'ok', null)], 10_000).result).toBe('valid');
  });

  it('a write whose outcome is unknown may have taken effect', () => {
    const check = checkLinKvEntries([at('write', { key: 0, value: 1 }, 0, 10, 'ok'), at('write', { key: 0, value: 2 }, 12, null, 'unknown'), at('read', { key: 0 }, 20, 30, 'ok', 2)], 10_000);
    expect(check.result).toBe('valid');
  });

  it('a malformed read_ok makes the history invalid, naming the node and the value', () => {
    const check = checkLinKvEntries([at('read', { key: 0 }, 0, 1, 'ok', { x: 1 })], 10_000);
    expect(check.result).toBe('invalid');
    expect(check.text).toMatch(/n0 answered \{"x":1\}/);
  });
});

describe('failurePoints', () => {
  async function writeHistory(workload: string, entries: RunHistoryEntry[]): Promise<string> {
    const file = path.join(scratchDir(), 'history.jsonl');
    const writer = new HistoryWriter(file, workload);
    for (const e of entries) writer.write(e as Parameters<HistoryWriter['write']>[0]);
    await writer.close();
    return file;
  }

  it('is empty for a valid check', () => {
    expect(failurePoints('unique-ids', { result: 'valid', text: '', details: {} }, [op('generate', 'ok', { result: 1 }), op('generate', 'ok', { result: 1 })])).toEqual([]);
  });

  it("points at a lost broadcast's add, as the set checker reports it", async () => {
    const entries: RunHistoryEntry[] = [
      { client: 'c3001', node: 'n0', f: 'add', value: 0, call_ms: 10, return_ms: 12, outcome: 'ok' },
      { client: 'c3002', node: 'n1', f: 'add', value: 1, call_ms: 20, return_ms: 22, outcome: 'ok' },
      { client: 'c3001', node: 'n0', f: 'read', result: [0, 1], call_ms: 30, return_ms: 32, outcome: 'ok' },
      { client: 'c3003', node: 'n0', f: 'read', result: [0], call_ms: 100, return_ms: 102, outcome: 'ok', final: true },
      { client: 'c3004', node: 'n1', f: 'read', result: [0], call_ms: 100, return_ms: 103, outcome: 'ok', final: true },
    ];
    const file = await writeHistory('broadcast', entries);
    const check = driverFor('broadcast')!.check(file, entries, 10_000);
    expect(check.result).toBe('invalid');
    const points = failurePoints('broadcast', check, entries);
    expect(points).toEqual([{ at_ms: 20, description: expect.stringMatching(/^1 was lost: c3002 added it through n1 \(ok\)/), endpoints: ['n1', 'c3002'] }]);
  });

  it('is bounded by failure_points_max for lost elements', () => {
    const entries = Array.from({ length: 12 }, (_, i): RunHistoryEntry => ({ client: 'c3001', node: `n${i % 3}`, f: 'add', value: i, call_ms: i * 10, return_ms: i * 10 + 1, outcome: 'ok' }));
    const points = failurePoints('g-set', { result: 'invalid', text: '', details: { lost: entries.map((e) => e.value) } }, entries);
    expect(points).toHaveLength(failure_points_max);
    expect(points.map((p) => p.at_ms)).toEqual([0, 10, 20, 30, 40]);
  });

  it('points at each repeated unique id where it was handed out again, bounded by failure_points_max', () => {
    const entries = [op('generate', 'ok', { node: 'n0', result: 7 }), op('generate', 'ok', { node: 'n1', result: 7 })];
    const points = failurePoints('unique-ids', checkUniqueIds(entries), entries);
    expect(points).toEqual([{ at_ms: entries[1]!.call_ms, description: 'n1 handed out 7, which n0 had handed out before', endpoints: ['n1', 'n0', 'c3001'] }]);
    const many = Array.from({ length: 20 }, (_, i) => op('generate', 'ok', { result: i % 2 }));
    expect(failurePoints('unique-ids', checkUniqueIds(many), many)).toHaveLength(failure_points_max);
  });

  it("points at each kafka anomaly's first example where its operation began: a lost send, a poll that skipped", () => {
    const entries: RunHistoryEntry[] = [
      { client: 'c3001', node: 'n0', f: 'send', value: { key: 'a', msg: 1 }, result: 0, call_ms: 10, return_ms: 12, outcome: 'ok' },
      { client: 'c3001', node: 'n0', f: 'send', value: { key: 'a', msg: 2 }, result: 1, call_ms: 20, return_ms: 22, outcome: 'ok' },
      { client: 'c3002', node: 'n1', f: 'poll', value: { offsets: { a: 0 } }, result: { a: [[1, 2]] }, call_ms: 30, return_ms: 32, outcome: 'ok' },
    ];
    const check = driverFor('kafka')!.check('', entries, 10_000);
    expect(check.result).toBe('invalid');
    expect(failurePoints('kafka', check, entries)).toEqual([
      { at_ms: 10, description: expect.stringMatching(/^lost-write: key "a": msg 1 at offset 0 \(c3001's send at 0\.0 s, acknowledged\) was never polled/), endpoints: ['n0', 'c3001'] },
      { at_ms: 10, description: expect.stringMatching(/^unseen: key "a": msg 1 at offset 0/), endpoints: ['n0', 'c3001'] },
    ]);
  });

  it('points at an echo that came back different', () => {
    const entries = [op('echo', 'ok', { value: 'a', result: 'a' }), op('echo', 'ok', { node: 'n2', value: 'b', result: 'c' })];
    expect(failurePoints('echo', checkEchoes(entries), entries)).toEqual([{ at_ms: entries[1]!.call_ms, description: 'n2 answered echo "b" with "c"', endpoints: ['n2', 'c3001'] }]);
  });

  it("points at a counter's wrong final read by its history line", async () => {
    const entries: RunHistoryEntry[] = [
      { client: 'c3001', node: 'n0', f: 'add', value: 2, call_ms: 10, return_ms: 12, outcome: 'ok' },
      { client: 'c3002', node: 'n1', f: 'add', value: 3, call_ms: 20, return_ms: 22, outcome: 'ok' },
      { client: 'c3003', node: 'n0', f: 'read', result: 5, call_ms: 100, return_ms: 102, outcome: 'ok', final: true },
      { client: 'c3004', node: 'n1', f: 'read', result: 3, call_ms: 100, return_ms: 103, outcome: 'ok', final: true },
    ];
    const file = await writeHistory('g-counter', entries);
    const check = driverFor('g-counter')!.check(file, entries, 10_000);
    expect(check.result).toBe('invalid');
    expect(failurePoints('g-counter', check, entries)).toEqual([{ at_ms: 100, description: 'n1 answered a final read with 3, a value no combination of the adds allows', endpoints: ['n1', 'c3004'] }]);
  });
});

describe('add/read drivers: a read that timed out', () => {
  /** A node that holds the set it was sent, and never answers a read that is not final (a slow node). */
  function slowReads(): ClientTransport {
    const held: unknown[] = [];
    let reads = 0;
    return {
      request: async (_client: string, _dest: string, body: MessageBody) => {
        if (body.type === 'broadcast') return (held.push(body.message), { type: 'broadcast_ok' });
        if (reads++ === 0) throw new IndefiniteError('no answer within 5 s');
        return { type: 'read_ok', messages: [...held] };
      },
      leader: () => null,
      upNodes: () => ['n0'],
      now: () => Date.now(),
      sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    };
  }

  it('is a failed read the set checker can read back from the history the runner writes', async () => {
    const driver = driverFor('broadcast')!;
    const transport = slowReads();
    const origin = Date.now();
    const entries = [
      await driver.perform(transport, 'c3001', 'n0', { f: 'add', value: 0 }, 5000, origin, false),
      await driver.perform(transport, 'c3001', 'n0', { f: 'read' }, 5000, origin, false),
      await driver.perform(transport, 'c3002', 'n0', { f: 'read' }, 5000, origin, false),
      await driver.perform(transport, 'c3003', 'n0', { f: 'read' }, 5000, origin, true),
    ];
    expect(entries.map((e) => e.outcome)).toEqual(['ok', 'fail', 'ok', 'ok']);
    const file = path.join(scratchDir(), 'history.jsonl');
    const writer = new HistoryWriter(file, 'broadcast');
    for (const e of entries) writer.write(e as Parameters<HistoryWriter['write']>[0]);
    await writer.close();
    const check = driver.check(file, entries, 10_000);
    expect(check.text).not.toMatch(/could not|must be/);
    expect(check.result).toBe('valid');
  });

  it("is a failed lin-kv read the linearizability checker accepts", async () => {
    const driver = driverFor('lin-kv')!;
    let reads = 0;
    const transport: ClientTransport = {
      request: async (_client: string, _dest: string, body: MessageBody) => {
        if (body.type === 'write') return { type: 'write_ok' };
        if (reads++ === 0) throw new IndefiniteError('no answer within 1 s');
        return { type: 'read_ok', value: 1 };
      },
      leader: () => null,
      upNodes: () => ['n0'],
      now: () => Date.now(),
      sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    };
    const origin = Date.now();
    const entries = [
      await driver.perform(transport, 'c3001', 'n0', { f: 'write', value: { key: 0, value: 1 } }, 1000, origin, false),
      await driver.perform(transport, 'c3001', 'n0', { f: 'read', value: { key: 0 } }, 1000, origin, false),
      await driver.perform(transport, 'c3001', 'n0', { f: 'read', value: { key: 0 } }, 1000, origin, false),
    ];
    expect(entries.map((e) => e.outcome)).toEqual(['ok', 'fail', 'ok']);
    const check = driver.check('', entries, 10_000);
    expect(check.result).toBe('valid');
  });
});
