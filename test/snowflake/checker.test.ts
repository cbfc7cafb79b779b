import { describe, expect, it } from 'vitest';
import { composeId, epoch_ms_default } from '../../src/systems/snowflake/core/ids.js';
import { default_layout } from '../../src/systems/snowflake/core/layout.js';
import { checkIdHistory } from '../../src/workloads/ids/checker.js';
import { parseHistory, type HistoryRecord } from '../../src/workloads/ids/history.js';

const t0 = Date.UTC(2026, 0, 1, 14, 2, 0);
const header: HistoryRecord = { type: 'header', layout: default_layout, epoch_ms: epoch_ms_default, started_ms: t0, clock_offsets_ms: {} };

const id = (time_ms: number, worker: number, sequence = 0, datacenter = 0) => composeId(default_layout, { units: time_ms - epoch_ms_default, datacenter, worker, sequence }).toString();
const op = (node: string, at: number, ids: string[], length_ms = 2): HistoryRecord => ({ type: 'op', client: 0, node, invoke_ms: at, complete_ms: at + length_ms, outcome: 'ok', ids });
const holds = (node: string, t: number, worker: number | null): HistoryRecord => ({ type: 'state', t, node, datacenter: worker === null ? null : 0, worker, role: worker === null ? 'refusing' : 'serving' });

describe('the id history checker', () => {
  it('passes a history of unique, increasing, well-timed ids from the numbers their workers held', () => {
    const result = checkIdHistory([
      header,
      holds('w1', t0, 0),
      holds('w2', t0, 1),
      op('w1', t0 + 10, [id(t0 + 11, 0), id(t0 + 11, 0, 1)]),
      op('w2', t0 + 10, [id(t0 + 10, 1)]),
      op('w1', t0 + 20, [id(t0 + 21, 0)]),
      { type: 'op', client: 1, node: 'w2', invoke_ms: t0 + 30, complete_ms: t0 + 31, outcome: 'fail', error: 'refused' },
    ]);
    expect(result).toMatchObject({ valid: true, ids: 4, by_node: { w1: 3, w2: 1 }, ops: { ok: 3, fail: 1, unknown: 0 }, violations: [] });
  });

  it('names ids issued twice', () => {
    const result = checkIdHistory([header, op('w1', t0 + 10, [id(t0 + 10, 0)]), op('w2', t0 + 10, [id(t0 + 10, 0)])]);
    expect(result.valid).toBe(false);
    expect(result.violations).toEqual([expect.stringMatching(/^1 ids were issued twice \(by w1 and w2\), 14:02:00\.010–\.012: \d+ by w1 at 14:02:00\.012 and by w2/)]);
  });

  it("names a worker's ids that go down, and a batch that is not increasing", () => {
    const result = checkIdHistory([header, op('w1', t0 + 10, [id(t0 + 10, 0, 5)]), op('w1', t0 + 20, [id(t0 + 10, 0, 3)]), op('w1', t0 + 30, [id(t0 + 30, 0, 1), id(t0 + 30, 0, 0)])]);
    expect(result.violations).toContainEqual(expect.stringContaining('w1 issued smaller ids after larger ones in 1 requests'));
    expect(result.violations).toContainEqual(expect.stringContaining('w1 answered 1 batches whose ids do not increase'));
  });

  it('names a paused worker that issues with a number given to another worker meanwhile', () => {
    const records: HistoryRecord[] = [
      header,
      holds('w2', t0, 3),
      holds('w4', t0, 1),
      op('w2', t0 + 100, [id(t0 + 100, 3)]),
      { type: 'fault', t: t0 + 1000, action: 'pause', node: 'w2' },
      // w2's session expired; w4 restarted and took 3.
      holds('w4', t0 + 4500, null),
      holds('w4', t0 + 4600, 3),
      op('w4', t0 + 5000, [id(t0 + 5000, 3)]),
      { type: 'fault', t: t0 + 7100, action: 'resume', node: 'w2' },
      op('w2', t0 + 7120, [id(t0 + 7120, 3), id(t0 + 7120, 3, 1)], 360),
    ];
    const result = checkIdHistory(records);
    expect(result.violations).toEqual(['w2 issued 2 ids with worker 3 while w4 held worker 3, 14:02:07.120–.480, w2 paused for 6.1 s']);
    // A worker that gives the number up, and takes it again after the other worker left it, is fine.
    const fine = checkIdHistory([...records.slice(0, 9), holds('w2', t0 + 7101, null), holds('w4', t0 + 7102, null), holds('w2', t0 + 7110, 3), records[9]!]);
    expect(fine.violations).toEqual([]);
  });

  it('names ids whose number is not the one their worker held (a worker number spilling into the datacenter bits)', () => {
    const result = checkIdHistory([header, holds('w1', t0, 33 - 32), { type: 'state', t: t0, node: 'w2', datacenter: 0, worker: 33, role: 'serving' }, op('w2', t0 + 10, [id(t0 + 10, 1, 0, 1)])]);
    expect(result.violations).toEqual(['w2 issued 1 ids with datacenter 1 worker 1 while it held datacenter 0 worker 33, 14:02:00.010–.012']);
  });

  it("checks each id's time against its request's window, widened by the skew applied to its worker", () => {
    const early = [header, op('w1', t0 + 5000, [id(t0 + 3000, 0)])];
    expect(checkIdHistory(early).violations).toEqual([expect.stringMatching(/^w1 issued 1 ids whose time lies outside .*says 14:02:03\.000, 1997 ms before it/)]);
    const skewed = [header, { type: 'fault', t: t0 + 100, action: 'skew', node: 'w1', offset_ms: -2000 } as HistoryRecord, op('w1', t0 + 5000, [id(t0 + 3000, 0)])];
    const result = checkIdHistory(skewed);
    expect(result.violations).toEqual([]);
    // Offsets spread over 2000 ms, one 1 ms unit, and the clocks' rounding.
    expect(result.k_bound_ms).toBe(2003);
  });

  it("lets a worker whose clock stepped back go on in the latest unit it issued, for as long as the step, and no longer", () => {
    // w1 issued at 14:02:00.100, its clock stepped back 3 ms, and it waited out the step in that same millisecond.
    const stepped = (at: number, time_ms: number): HistoryRecord[] => [
      header,
      holds('w1', t0, 0),
      op('w1', t0 + 99, [id(t0 + 100, 0)], 1),
      { type: 'fault', t: t0 + 100, action: 'skew', node: 'w1', offset_ms: -3 },
      op('w1', at, [id(time_ms, 0, 1)], 0),
    ];
    expect(checkIdHistory(stepped(t0 + 100, t0 + 100)).violations).toEqual([]);
    // Well after the step, the skewed clock alone bounds the id's time: 14:02:00.150 is 1 ms later than w1's clock could read.
    expect(checkIdHistory(stepped(t0 + 150, t0 + 150)).violations).toEqual([expect.stringMatching(/whose time lies outside .*says 14:02:00\.150, 1 ms after it$/)]);
  });

  it('reads only histories that start with a header', () => {
    expect(() => parseHistory('{"type":"op"}\n')).toThrow(/no header/);
    expect(() => parseHistory('{"type":"header"}\nnot json\n')).toThrow(/line 2 is not JSON/);
    expect(parseHistory(`${JSON.stringify(header)}\n\n`)).toHaveLength(1);
  });
});
