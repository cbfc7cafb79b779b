import { describe, expect, it } from 'vitest';
import { LinTso } from '../../src/lib/services/lin-tso.js';
import { createRng } from '../../src/lib/util/prng.js';
import { ask } from './harness.js';

describe('lin-tso', () => {
  it('hands out timestamps from 0 that strictly increase across all clients', () => {
    const tso = new LinTso();
    const rng = createRng(4);
    const stamps: number[] = [];
    for (let i = 0; i < 500; i++) {
      const reply = ask(tso, `n${1 + rng.int(5)}`, { type: 'ts' }, i, i + 1);
      expect(reply.type).toBe('ts_ok');
      stamps.push(reply.ts as number);
    }
    expect(stamps[0]).toBe(0);
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]!).toBeGreaterThan(stamps[i - 1]!);
  });

  it('answers other types with error 10 and ignores replies, handing out no timestamp for either', () => {
    const tso = new LinTso();
    expect(ask(tso, 'n1', { type: 'read', key: 'x' }, 0)).toMatchObject({ type: 'error', code: 10, text: 'lin-tso does not support "read" requests; it answers ts' });
    expect(tso.handle('n1', { type: 'ts_ok', ts: 5, in_reply_to: 1 }, 0)).toEqual([]);
    expect(ask(tso, 'n1', { type: 'ts' }, 0).ts).toBe(0);
  });
});
