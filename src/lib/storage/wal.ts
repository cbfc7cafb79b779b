import { closeSync, existsSync, fdatasyncSync, fsyncSync, ftruncateSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { UserError } from '../util/errors.js';

/**
 * An append-only log of JSON records, each framed as
 * [u32 payload length][u32 crc32 of payload][payload], little-endian.
 * A torn tail (a crash mid-append) is detected and truncated on open; a bad
 * record followed by good ones means corruption, and opening refuses.
 */

export const record_bytes_max = 64 * 1024 * 1024;
const header_bytes = 8;

export interface WalOpenResult<T> {
  wal: Wal;
  records: T[];
  /** Bytes cut from a torn tail on open (0 when the file ended cleanly). */
  truncated_bytes: number;
}

export class Wal {
  private constructor(
    readonly file: string,
    private fd: number,
    private size: number,
  ) {}

  /** Opens (or creates) the log and reads back every intact record. */
  static open<T>(file: string): WalOpenResult<T> {
    const { data, records, tornAt } = readRecords<T>(file);
    const fd = openSync(file, existsSync(file) ? 'r+' : 'w+');
    let size = data.length;
    if (tornAt !== null) {
      ftruncateSync(fd, tornAt);
      fsyncSync(fd);
      size = tornAt;
    }
    return { wal: new Wal(file, fd, size), records, truncated_bytes: data.length - size };
  }

  /** Every intact record of a log, leaving the file as it is (a torn tail is ignored, not cut): for reading another process's log. */
  static read<T>(file: string): T[] {
    return readRecords<T>(file).records;
  }

  /** Appends records; they are durable only after sync(). */
  append(records: readonly unknown[]): void {
    if (records.length === 0) return;
    const frames = records.map(frame);
    const buffer = Buffer.concat(frames);
    let written = 0;
    while (written < buffer.length) written += writeSync(this.fd, buffer, written, buffer.length - written, this.size + written);
    this.size += buffer.length;
  }

  sync(): void {
    fdatasyncSync(this.fd);
  }

  bytes(): number {
    return this.size;
  }

  /** Replaces the whole log with `records` atomically (write a new file, fsync, rename). */
  rewrite(records: readonly unknown[]): void {
    const temporary = `${this.file}.rewrite`;
    const fd = openSync(temporary, 'w');
    const buffer = Buffer.concat(records.map(frame));
    let written = 0;
    while (written < buffer.length) written += writeSync(fd, buffer, written, buffer.length - written, written);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temporary, this.file);
    syncDirectory(path.dirname(this.file));
    closeSync(this.fd);
    this.fd = openSync(this.file, 'r+');
    this.size = buffer.length;
  }

  close(): void {
    closeSync(this.fd);
  }
}

function frame(record: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(record), 'utf8');
  if (payload.length > record_bytes_max) throw new Error(`invariant broken: a log record of ${payload.length} bytes exceeds ${record_bytes_max}`);
  const header = Buffer.alloc(header_bytes);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt32LE(crc32(payload), 4);
  return Buffer.concat([header, payload]);
}

function recordProblem(data: Buffer, offset: number): string | null {
  if (offset + header_bytes > data.length) return 'incomplete header';
  const length = data.readUInt32LE(offset);
  if (length > record_bytes_max) return `length ${length} is impossible`;
  if (offset + header_bytes + length > data.length) return 'incomplete payload';
  const payload = data.subarray(offset + header_bytes, offset + header_bytes + length);
  if (crc32(payload) !== data.readUInt32LE(offset + 4)) return 'checksum mismatch';
  return null;
}

/** Whether an intact record starts anywhere after `from`: a torn tail has none, a corrupt middle has. */
function hasValidRecordAfter(data: Buffer, from: number): boolean {
  for (let offset = from; offset + header_bytes <= data.length; offset++) {
    const length = data.readUInt32LE(offset);
    if (length === 0 || length > data.length - offset - header_bytes) continue;
    if (recordProblem(data, offset) === null && data[offset + header_bytes] === 0x7b /* '{' */) return true;
  }
  return false;
}

/** Atomically replaces a small file: write a temporary, fsync it, rename, fsync the directory. */
export function writeFileAtomic(file: string, contents: string | Buffer): void {
  const temporary = `${file}.tmp`;
  const fd = openSync(temporary, 'w');
  const buffer = typeof contents === 'string' ? Buffer.from(contents, 'utf8') : contents;
  let written = 0;
  while (written < buffer.length) written += writeSync(fd, buffer, written, buffer.length - written, written);
  fsyncSync(fd);
  closeSync(fd);
  renameSync(temporary, file);
  syncDirectory(path.dirname(file));
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Reads a log's intact records; tornAt is where a torn last record begins (null when none). A corrupt middle throws. */
function readRecords<T>(file: string): { data: Buffer; records: T[]; tornAt: number | null } {
  const data = existsSync(file) ? readFileSync(file) : Buffer.alloc(0);
  const records: T[] = [];
  let offset = 0;
  let tornAt: number | null = null;
  while (offset < data.length) {
    const problem = recordProblem(data, offset);
    if (problem) {
      tornAt = offset;
      if (hasValidRecordAfter(data, offset + 1)) {
        throw new UserError(`${file} is corrupt in the middle (record at byte ${offset}: ${problem}); refusing to start. Move the file away to start this node empty.`);
      }
      break;
    }
    const length = data.readUInt32LE(offset);
    records.push(JSON.parse(data.subarray(offset + header_bytes, offset + header_bytes + length).toString('utf8')) as T);
    offset += header_bytes + length;
  }
  return { data, records, tornAt };
}
