import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Wal, writeFileAtomic } from '../../src/lib/storage/wal.js';
import { UserError } from '../../src/lib/util/errors.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const scratchDir = tempDirs('dslab-wal-');

const scratch = () => path.join(scratchDir(), 'log.wal');

function writeThree(file: string): number[] {
  const { wal } = Wal.open(file);
  const sizes: number[] = [];
  for (const n of [1, 2, 3]) {
    wal.append([{ n, text: 'x'.repeat(n * 10) }]);
    sizes.push(wal.bytes());
  }
  wal.sync();
  wal.close();
  return sizes;
}

describe('write-ahead log', () => {
  it('reads back what was appended, in order', () => {
    const file = scratch();
    writeThree(file);
    const { records, truncated_bytes, wal } = Wal.open<{ n: number }>(file);
    expect(records.map((r) => r.n)).toEqual([1, 2, 3]);
    expect(truncated_bytes).toBe(0);
    wal.close();
  });

  it('truncates a torn tail and keeps appending after it', () => {
    const file = scratch();
    const sizes = writeThree(file);
    truncateSync(file, sizes[2]! - 5); // a crash in the middle of the third append
    const opened = Wal.open<{ n: number }>(file);
    expect(opened.records.map((r) => r.n)).toEqual([1, 2]);
    expect(opened.truncated_bytes).toBe(sizes[2]! - 5 - sizes[1]!);
    expect(statSync(file).size).toBe(sizes[1]);
    opened.wal.append([{ n: 4 }]);
    opened.wal.sync();
    opened.wal.close();
    expect(Wal.open<{ n: number }>(file).records.map((r) => r.n)).toEqual([1, 2, 4]);
  });

  it('treats a bad checksum on the last record as a torn tail', () => {
    const file = scratch();
    const sizes = writeThree(file);
    const data = readFileSync(file);
    data[sizes[2]! - 3] ^= 0xff;
    writeFileSync(file, data);
    expect(Wal.open<{ n: number }>(file).records.map((r) => r.n)).toEqual([1, 2]);
  });

  it('refuses to open a log corrupt in the middle', () => {
    const file = scratch();
    writeThree(file);
    const data = readFileSync(file);
    data[12] ^= 0xff; // inside the first record's payload
    writeFileSync(file, data);
    expect(() => Wal.open(file)).toThrow(UserError);
    expect(() => Wal.open(file)).toThrow(/corrupt in the middle \(record at byte 0: checksum mismatch\); refusing to start/);
  });

  it('rewrites the whole log atomically', () => {
    const file = scratch();
    writeThree(file);
    const { wal } = Wal.open(file);
    wal.rewrite([{ n: 9 }]);
    wal.append([{ n: 10 }]);
    wal.sync();
    wal.close();
    expect(Wal.open<{ n: number }>(file).records.map((r) => r.n)).toEqual([9, 10]);
  });

  it('replaces small files atomically', () => {
    const file = scratch();
    writeFileAtomic(file, 'one');
    writeFileAtomic(file, 'two');
    expect(readFileSync(file, 'utf8')).toBe('two');
  });
});
