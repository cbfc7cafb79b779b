/**
 * Reading JSONL histories, whatever the workload: a file a chunk at a time (a history can be larger
 * than the longest string Node holds), and each line's JSON record with its line number, the
 * workload header and blank lines skipped, a bad line refused with one UserError that names it.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { history_header_type } from './history.js';
import { UserError } from './util/errors.js';

/** Bytes read from a history file at a time. */
const file_chunk_bytes = 1024 * 1024;
/** How much of a line that is not JSON the error quotes. */
const quoted_chars_max = 80;

export interface HistoryLimits {
  /** Longest line accepted, in characters. */
  line_chars_max: number;
  /** Most records one history may hold. */
  records_max: number;
}

/**
 * Hands each record of `lines` to `visit` with its 1-based line number. `visit` throws an Error
 * saying what is wrong with a record; it becomes a UserError naming the line.
 */
export function forEachHistoryRecord(lines: Iterable<string>, limits: HistoryLimits, visit: (record: unknown, line: number) => void): void {
  let line = 0;
  let records = 0;
  for (const raw of lines) {
    line++;
    const source = raw.trim();
    if (source === '') continue;
    if (source.length > limits.line_chars_max) throw new UserError(`history line ${line}: longer than ${limits.line_chars_max} characters`);
    if (records >= limits.records_max) throw new UserError(`history line ${line}: more than ${limits.records_max} operations`);
    let record: unknown;
    try {
      record = JSON.parse(source);
    } catch {
      throw new UserError(`history line ${line}: not valid JSON: ${source.length > quoted_chars_max ? `${source.slice(0, quoted_chars_max)}…` : source}`);
    }
    // The header naming the workload records no operation.
    if (typeof record === 'object' && record !== null && (record as Record<string, unknown>).type === history_header_type) continue;
    try {
      visit(record, line);
    } catch (error) {
      throw new UserError(`history line ${line}: ${(error as Error).message}`);
    }
    records++;
  }
}

/** The lines of a text. */
export function textLines(text: string): string[] {
  return text.split('\n');
}

/**
 * The lines of a history file, read a chunk at a time so a history larger than the longest string
 * Node can hold still parses. Throws a UserError when the file cannot be read.
 */
export function* fileLines(file: string): Generator<string> {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    throw new UserError(`cannot read history file ${file}: no such file`);
  }
  try {
    const buffer = Buffer.alloc(file_chunk_bytes);
    let pending: Buffer[] = [];
    for (;;) {
      const read = readSync(fd, buffer, 0, file_chunk_bytes, null);
      if (read === 0) break;
      let start = 0;
      for (let newline = buffer.indexOf(10, start); newline !== -1 && newline < read; newline = buffer.indexOf(10, start)) {
        pending.push(buffer.subarray(start, newline));
        yield Buffer.concat(pending).toString('utf8');
        pending = [];
        start = newline + 1;
      }
      // Copied: the buffer is refilled by the next read.
      if (start < read) pending.push(Buffer.from(buffer.subarray(start, read)));
    }
    if (pending.length > 0) yield Buffer.concat(pending).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
