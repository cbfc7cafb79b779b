import { describe, expect, it } from 'vitest';
import { IdGenerator, max_backward_ms_default } from '../../src/systems/snowflake/core/generator.js';
import { composeId, decodeId, epoch_ms_default, parseEpoch, parseId } from '../../src/systems/snowflake/core/ids.js';
import { default_layout, formatLayout, parseLayout, sonyflake_layout, type Layout } from '../../src/systems/snowflake/core/layout.js';

const epoch = epoch_ms_default;
const generator = (over: Partial<{ layout: Layout; datacenter: number; worker: number; max_backward_ms: number }> = {}) =>
  new IdGenerator({ layout: default_layout, epoch_ms: epoch, datacenter: 1, worker: 2, max_backward_ms: max_backward_ms_default, ...over });

describe('layouts', () => {
  it('reads bit counts, presets and a time unit', () => {
    expect(parseLayout('41,5,5,12')).toEqual({ time_bits: 41, datacenter_bits: 5, worker_bits: 5, sequence_bits: 12, unit_ms: 1 });
    expect(parseLayout('sonyflake')).toEqual({ time_bits: 39, datacenter_bits: 0, worker_bits: 16, sequence_bits: 8, unit_ms: 10 });
    expect(parseLayout('39,0,16,8,10ms')).toEqual(sonyflake_layout);
    expect(formatLayout(sonyflake_layout)).toBe('39,0,16,8,10ms');
  });

  it('refuses layouts that do not take 63 bits or leave a field empty', () => {
    expect(() => parseLayout('41,5,5,13')).toThrow(/take 64 bits; they must take 63/);
    expect(() => parseLayout('41,5,5')).toThrow(/four bit counts/);
    expect(() => parseLayout('51,0,12,0')).toThrow(/sequence/);
    expect(() => parseLayout('20,20,11,12')).toThrow(/30 bits of time/);
    expect(() => parseLayout('41,5,5,x')).toThrow(/whole numbers/);
    expect(() => parseLayout('39,0,16,8,0ms')).toThrow(/time unit/);
  });
});

describe('ids', () => {
  it('composes and decodes each field, the epoch added back', () => {
    const id = composeId(default_layout, { units: 123_456_789, datacenter: 31, worker: 7, sequence: 4095 });
    expect(id).toBe((123_456_789n << 22n) | (31n << 17n) | (7n << 12n) | 4095n);
    const decoded = decodeId(default_layout, epoch, id);
    expect(decoded).toMatchObject({ units: 123_456_789, datacenter: 31, worker: 7, sequence: 4095, since_epoch_ms: 123_456_789, time_ms: epoch + 123_456_789 });
  });

  it('keeps ids past 2^53 exact as decimal strings', () => {
    const id = composeId(default_layout, { units: 2 ** 41 - 1, datacenter: 31, worker: 31, sequence: 4095 });
    expect(id).toBe((1n << 63n) - 1n);
    expect(parseId(id.toString())).toBe(id);
    // A JavaScript number would round it.
    expect(BigInt(Number(id.toString()))).not.toBe(id);
  });

  it('refuses a field that would spill into the next one', () => {
    expect(() => composeId(default_layout, { units: 1, datacenter: 32, worker: 0, sequence: 0 })).toThrow(/datacenter 32 does not fit 5 bits \(0 to 31\)/);
    expect(() => composeId(default_layout, { units: 1, datacenter: 0, worker: 32, sequence: 0 })).toThrow(/worker 32/);
    expect(() => composeId(default_layout, { units: 1, datacenter: 0, worker: -1, sequence: 0 })).toThrow(/worker -1/);
    expect(() => generator({ worker: 40 })).toThrow(RangeError);
  });

  it('parses only decimal ids of 63 bits', () => {
    expect(() => parseId('12a')).toThrow(/not an id/);
    expect(() => parseId('-5')).toThrow(/not an id/);
    expect(() => parseId('9223372036854775808')).toThrow(/63 bits/);
    expect(parseId(' 42 ')).toBe(42n);
  });

  it('reads epochs as UTC dates, times or ms', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(parseEpoch('2018-08-01', now)).toBe(epoch);
    expect(parseEpoch('2018-08-01T00:00:00Z', now)).toBe(epoch);
    expect(parseEpoch('2018-08-01T02:00:00', now)).toBe(epoch + 7_200_000);
    expect(parseEpoch(String(epoch), now)).toBe(epoch);
    expect(() => parseEpoch('yesterday', now)).toThrow(/not a date/);
    expect(() => parseEpoch('2030-01-01', now)).toThrow(/in the future/);
  });
});

describe('the generator', () => {
  it('counts the sequence within a millisecond and restarts it in the next', () => {
    const g = generator();
    const t = epoch + 1000;
    const a = g.next(t);
    const b = g.next(t);
    const c = g.next(t + 1);
    expect(a.kind === 'id' && decodeId(default_layout, epoch, a.id)).toMatchObject({ units: 1000, sequence: 0, datacenter: 1, worker: 2 });
    expect(b.kind === 'id' && decodeId(default_layout, epoch, b.id)).toMatchObject({ units: 1000, sequence: 1 });
    expect(c.kind === 'id' && decodeId(default_layout, epoch, c.id)).toMatchObject({ units: 1001, sequence: 0 });
    expect(g.latest_ms).toBe(t + 1);
  });

  it('waits for the next millisecond when the sequence wraps', () => {
    const g = generator();
    const t = epoch + 5000;
    const ids: bigint[] = [];
    const stop = g.take(t, 5000, ids);
    expect(ids).toHaveLength(4096);
    expect(stop).toEqual({ kind: 'wait', reason: 'sequence_exhausted', until_ms: t + 1, behind_ms: 0 });
    // Still full at the same instant; the next millisecond starts at 0.
    expect(g.next(t).kind).toBe('wait');
    const next = g.next(t + 1);
    expect(next.kind === 'id' && decodeId(default_layout, epoch, next.id).sequence).toBe(0);
  });

  it('waits out a step back up to max_backward and refuses a larger one with the offset', () => {
    const g = generator({ max_backward_ms: 5 });
    const t = epoch + 10_000;
    expect(g.next(t).kind).toBe('id');
    expect(g.next(t - 5)).toEqual({ kind: 'wait', reason: 'clock_back', until_ms: t, behind_ms: 5 });
    expect(g.next(t - 6)).toEqual({ kind: 'refuse', reason: 'clock_back', behind_ms: 6 });
    expect(g.next(t - 2000)).toEqual({ kind: 'refuse', reason: 'clock_back', behind_ms: 2000 });
    // Once the clock is back at the latest time, ids go on from where they were.
    const resumed = g.next(t);
    expect(resumed.kind === 'id' && decodeId(default_layout, epoch, resumed.id)).toMatchObject({ units: 10_000, sequence: 1 });
  });

  it('refuses a clock before the epoch and a time that no longer fits', () => {
    expect(generator().next(epoch - 3)).toEqual({ kind: 'refuse', reason: 'before_epoch', behind_ms: 3 });
    expect(generator().next(epoch + 2 ** 41)).toEqual({ kind: 'refuse', reason: 'time_exhausted', behind_ms: 0 });
  });

  it('issues nothing at or before a raised floor (an earlier holder of the number)', () => {
    const g = generator();
    const floor = epoch + 50_000;
    g.raiseFloor(floor);
    expect(g.next(floor)).toMatchObject({ kind: 'wait', reason: 'sequence_exhausted', until_ms: floor + 1 });
    expect(g.next(floor - 3)).toMatchObject({ kind: 'wait', reason: 'clock_back', behind_ms: 3 });
    expect(g.next(floor - 100)).toMatchObject({ kind: 'refuse', behind_ms: 100 });
    const after = g.next(floor + 1);
    expect(after.kind === 'id' && decodeId(default_layout, epoch, after.id).units).toBe(50_001);
    // A lower floor changes nothing.
    g.raiseFloor(floor - 10_000);
    expect(g.latest_ms).toBe(floor + 1);
  });

  it('waits out a clock behind a reserved floor by up to its grace, until an id is issued', () => {
    const g = generator();
    const floor = epoch + 80_000;
    g.raiseFloor(floor, 200);
    expect(g.backward_limit_ms).toBe(205);
    expect(g.next(floor - 150)).toEqual({ kind: 'wait', reason: 'clock_back', until_ms: floor, behind_ms: 150 });
    expect(g.next(floor - 300)).toMatchObject({ kind: 'refuse', behind_ms: 300 });
    expect(g.next(floor + 1).kind).toBe('id');
    // Past the floor the ids are real: the usual bound again.
    expect(g.backward_limit_ms).toBe(5);
    expect(g.next(floor - 150)).toMatchObject({ kind: 'refuse', behind_ms: 151 });
  });

  it('uses the Sonyflake layout: 10 ms units, 256 ids each, 16 bits of machine', () => {
    const g = generator({ layout: sonyflake_layout, datacenter: 0, worker: 65_535 });
    const t = epoch + 12_345;
    const ids: bigint[] = [];
    const stop = g.take(t, 300, ids);
    expect(ids).toHaveLength(256);
    expect(stop).toMatchObject({ kind: 'wait', reason: 'sequence_exhausted', until_ms: epoch + 12_350 });
    expect(decodeId(sonyflake_layout, epoch, ids[255]!)).toMatchObject({ units: 1234, worker: 65_535, datacenter: 0, sequence: 255, time_ms: epoch + 12_340 });
    expect(() => generator({ layout: sonyflake_layout, datacenter: 1, worker: 0 })).toThrow(/datacenter 1 does not fit 0 bits/);
  });
});
