import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IdGenerator } from '../../src/systems/snowflake/core/generator.js';
import { composeId, decodeId, epoch_ms_default } from '../../src/systems/snowflake/core/ids.js';
import { default_layout, type Layout } from '../../src/systems/snowflake/core/layout.js';
import { planted_bug_env, readSnowflakeOptions } from '../../src/systems/snowflake/options.js';
import type { HistoryRecord } from '../../src/workloads/ids/history.js';
import { ids_history_check } from '../../src/workloads/ids/plugin.js';
import type { StepContext } from '../../src/lib/grade/steps.js';
import { createRng } from '../../src/lib/util/prng.js';
import { snowflake_steps } from '../../src/systems/snowflake/steps.js';
import { clusterStatus, nodeStatus } from '../helpers/status.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-snowlab-');
const t0 = Date.UTC(2026, 0, 1, 14, 2, 0);
const id = (time_ms: number, worker: number, sequence = 0) => composeId(default_layout, { units: time_ms - epoch_ms_default, datacenter: 0, worker, sequence }).toString();

function historyFile(records: HistoryRecord[]): string {
  const file = path.join(tempDir(), 'history-1.jsonl');
  writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}

describe("the grader's snowflake_ids check", () => {
  const header: HistoryRecord = { type: 'header', layout: default_layout, epoch_ms: epoch_ms_default, started_ms: t0, clock_offsets_ms: {} };
  const holds: HistoryRecord = { type: 'state', t: t0, node: 'w1', datacenter: 0, worker: 0, role: 'serving' };
  const op = (at: number, ids: string[]): HistoryRecord => ({ type: 'op', client: 0, node: 'w1', invoke_ms: at, complete_ms: at + 2, outcome: 'ok', ids });

  it('passes a good history, and names what is wrong in a bad one, in words of its own', () => {
    expect(ids_history_check.check(historyFile([header, holds, op(t0 + 10, [id(t0 + 10, 0)]), op(t0 + 20, [id(t0 + 20, 0)])]), 1000, t0)).toEqual({ result: 'valid' });
    const verdict = ids_history_check.check(historyFile([header, holds, op(t0 + 10, [id(t0 + 10, 0)]), op(t0 + 20, [id(t0 + 10, 0)])]), 1000, t0);
    expect(verdict.result).toBe('invalid');
    expect(verdict.violation!.explanation).toMatch(/1 ids were issued twice/);
    expect(ids_history_check.describe!(verdict.violation!, 'history-1.jsonl')).toMatch(/^the ids break the snowflake rules \(history-1\.jsonl\): 1 ids were issued twice/);
  });

  it('cannot judge a file that is no id history', () => {
    const file = path.join(tempDir(), 'history-1.jsonl');
    writeFileSync(file, '{"type":"invoke"}\n');
    expect(ids_history_check.check(file, 1000, t0)).toMatchObject({ result: 'unknown', reason: expect.stringContaining('the history cannot be read') });
  });
});

describe("the reference's planted bugs (labs/snowflake/variants)", () => {
  const generator = (bug: 'no_clock_check' | 'no_sequence_wrap' | 'worker_unchecked' | undefined, layout: Layout = default_layout, worker = 1) =>
    new IdGenerator({ layout, epoch_ms: epoch_ms_default, datacenter: 0, worker, max_backward_ms: 5, ...(bug ? { test_planted_bug: bug } : {}) });
  const idAt = (g: IdGenerator, now: number) => {
    const step = g.next(now);
    if (step.kind !== 'id') throw new Error(`expected an id, got ${step.kind}`);
    return step.id;
  };

  it('are read from the environment only by name', () => {
    expect(readSnowflakeOptions({ [planted_bug_env]: 'number_ids' }).planted_bug).toBe('number_ids');
    expect(readSnowflakeOptions({ [planted_bug_env]: 'nonsense' }).planted_bug).toBeUndefined();
    expect(readSnowflakeOptions({}).planted_bug).toBeUndefined();
  });

  it('no_clock_check issues a smaller id after a step back, where the reference refuses', () => {
    const bad = generator('no_clock_check');
    const first = idAt(bad, t0 + 1000);
    expect(idAt(bad, t0)).toBeLessThan(first);
    const good = generator(undefined);
    idAt(good, t0 + 1000);
    expect(good.next(t0).kind).toBe('refuse');
  });

  it('no_sequence_wrap repeats the first id of a millisecond whose sequence is used up', () => {
    const small: Layout = { time_bits: 41, datacenter_bits: 5, worker_bits: 9, sequence_bits: 8, unit_ms: 1 };
    const bad = generator('no_sequence_wrap', small);
    const ids = Array.from({ length: 257 }, () => idAt(bad, t0));
    expect(ids[256]).toBe(ids[0]);
    const good = generator(undefined, small);
    for (let i = 0; i < 256; i++) idAt(good, t0);
    expect(good.next(t0).kind).toBe('wait');
  });

  it('worker_unchecked shifts a number too large for its bits into the datacenter field', () => {
    const two_bits: Layout = { time_bits: 41, datacenter_bits: 5, worker_bits: 2, sequence_bits: 15, unit_ms: 1 };
    const spilled = decodeId(two_bits, epoch_ms_default, idAt(generator('worker_unchecked', two_bits, 4), t0));
    expect([spilled.datacenter, spilled.worker]).toEqual([1, 0]);
    expect(() => generator(undefined, two_bits, 4)).toThrow(RangeError);
  });
});

describe('wait_workers', () => {
  const step = snowflake_steps.find((s) => s.name === 'wait_workers')!;
  /** A context over worker states that the test changes between polls. */
  function context(states: () => Record<string, Record<string, unknown>>) {
    const saved = new Map<string, string>();
    const ctx = {
      rng: createRng(1),
      status: () => clusterStatus(Object.entries(states()).map(([id, state]) => nodeStatus(id, { group: id.startsWith('w') ? 'workers' : 'coordinator', state, state_at_ms: 1 }))),
      fail: (message: string): never => {
        throw new Error(message);
      },
      save: (name: string, node: string) => saved.set(name, node),
    };
    return { ctx: ctx as unknown as StepContext, saved };
  }
  const serving = (worker: number) => ({ role: 'serving', datacenter: 0, worker });
  const refusing = { role: 'refusing', datacenter: null, worker: null };

  it('passes once that many workers serve with distinct numbers and the rest refuse, saving one that serves', async () => {
    const { ctx, saved } = context(() => ({ z1: { role: 'leading' }, w1: serving(0), w2: serving(1), w3: refusing }));
    await step.run({ do: 'wait_workers', serving: 2, within_ms: 1000, save_serving_as: 'one' }, ctx);
    expect(['w1', 'w2']).toContain(saved.get('one'));
  });

  it('fails on more workers serving than the layout has numbers, and on two serving as one number, once it outlasts a stale report', async () => {
    await expect(step.run({ do: 'wait_workers', serving: 2, within_ms: 5000 }, context(() => ({ w1: serving(0), w2: serving(1), w3: serving(2) })).ctx)).rejects.toThrow(
      '3 workers serve (w1 as worker 0, w2 as worker 1, w3 as worker 2), but the layout has numbers for only 2',
    );
    await expect(step.run({ do: 'wait_workers', serving: 2, within_ms: 5000 }, context(() => ({ w1: serving(0), w2: serving(0) })).ctx)).rejects.toThrow('w1 and w2 both serve as datacenter 0 worker 0');
  });

  it('waits out a stale report: a paused worker that still says "serving" until it reports again', async () => {
    let t = 0;
    const { ctx } = context(() => (++t < 5 ? { w1: serving(0), w2: serving(0), w3: serving(1) } : { w1: refusing, w2: serving(0), w3: serving(1) }));
    await step.run({ do: 'wait_workers', serving: 2, within_ms: 5000 }, ctx);
    expect(t).toBeGreaterThanOrEqual(5);
  });

  it('names each worker\'s role when too few serve in time', async () => {
    await expect(step.run({ do: 'wait_workers', serving: 2, within_ms: 0 }, context(() => ({ w1: serving(0), w2: {} })).ctx)).rejects.toThrow('1 of 2 workers serve after 0 ms, expected 2: w1 serving (worker 0), w2 reports no role');
  });
});
