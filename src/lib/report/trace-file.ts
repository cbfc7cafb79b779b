import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/**
 * Reading a run's trace.jsonl (one message the router handled a line, in time
 * order) without loading it whole: a trace of a long run is far larger than
 * what a report draws, so readers seek to the times they need.
 */

/** One line of trace.jsonl. */
export interface TraceRecord {
  /** Epoch ms. */
  t: number;
  /** delivered, dropped:partition, dropped:loss, dropped:overflow, duplicated, notice (and a system's own, such as state). */
  fate: string;
  /** Each delivered copy's delay in ms (a copy arrived at t + its delay); absent when every copy went at once. */
  delays_ms?: number[];
  msg: { src: string; dest: string; body: Record<string, unknown> & { type: string } };
}

/** When the first copy of a traced message reached its destination (epoch ms): t plus the shortest of its delays. */
export function firstArrivalMs(record: Pick<TraceRecord, 't' | 'delays_ms'>): number {
  const delays = record.delays_ms;
  if (!Array.isArray(delays) || delays.length === 0) return record.t;
  let shortest = Infinity;
  for (const delay of delays) if (typeof delay === 'number' && delay >= 0 && delay < shortest) shortest = delay;
  return shortest === Infinity ? record.t : record.t + shortest;
}

/** Bytes read from the end of the file by traceTail. */
export const trace_tail_bytes_max = 4 * 1024 * 1024;
/** Bytes read per step when scanning the trace. */
const trace_chunk_bytes = 1024 * 1024;
/** Bytes read at each step of the binary search for a time. */
const trace_probe_bytes = 4096;

/** The time a trace line starts with, read without parsing the line (the writer puts "t" first). */
const leadingTime = (line: string): number | null => {
  const match = /^\{"t":(-?\d+(?:\.\d+)?)[,}]/.exec(line);
  return match ? Number(match[1]) : null;
};

function parseTraceRecord(line: string): TraceRecord | null {
  try {
    const record = JSON.parse(line) as TraceRecord;
    return typeof record.msg?.body?.type === 'string' && typeof record.msg.src === 'string' && typeof record.msg.dest === 'string' ? record : null;
  } catch {
    return null; // a line cut by a read window, or a partly written last line
  }
}

/** Calls visit with each complete line from byte `from` on (a line cut by `from` is skipped); visit returns false to stop. */
function scanLines(fd: number, from: number, visit: (line: string) => boolean): void {
  const chunk = Buffer.alloc(trace_chunk_bytes);
  const decoder = new StringDecoder('utf8');
  let position = from;
  let rest = '';
  let skipFirst = from > 0;
  for (;;) {
    const n = readSync(fd, chunk, 0, chunk.length, position);
    if (n === 0) break;
    position += n;
    const lines = (rest + decoder.write(chunk.subarray(0, n))).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      if (skipFirst) {
        skipFirst = false;
        continue;
      }
      if (!visit(line)) return;
    }
  }
  if (rest && !skipFirst) visit(rest);
}

/** The byte offset of a line at or before the first line with time >= t_ms (the trace is in time order). */
function offsetBefore(fd: number, size: number, t_ms: number): number {
  let low = 0;
  let high = size;
  const probe = Buffer.alloc(trace_probe_bytes);
  while (high - low > trace_chunk_bytes) {
    const mid = Math.floor((low + high) / 2);
    const n = readSync(fd, probe, 0, probe.length, mid);
    const text = probe.toString('utf8', 0, n);
    const newline = text.indexOf('\n');
    const t = newline === -1 ? null : leadingTime(text.slice(newline + 1));
    if (t === null || t >= t_ms) high = mid;
    else low = mid;
  }
  return low;
}

/**
 * Calls visit with each record from time from_ms on, in file order, until it
 * returns false or the file ends; only the lines from a little before from_ms
 * are read.
 */
export function scanTraceFrom(file: string, from_ms: number, visit: (record: TraceRecord) => boolean): void {
  const fd = openSync(file, 'r');
  try {
    scanLines(fd, offsetBefore(fd, fstatSync(fd).size, from_ms), (line) => {
      const t = leadingTime(line);
      if (t === null || t < from_ms) return true;
      const record = parseTraceRecord(line);
      return record ? visit(record) : true;
    });
  } finally {
    closeSync(fd);
  }
}

/** Trace records with from_ms <= t <= to_ms. */
export function traceWindow(file: string, from_ms: number, to_ms: number): TraceRecord[] {
  const records: TraceRecord[] = [];
  scanTraceFrom(file, from_ms, (record) => {
    if (record.t > to_ms) return false;
    records.push(record);
    return true;
  });
  return records;
}

/** The last records of the trace, from at most trace_tail_bytes_max bytes at its end. */
export function traceTail(file: string): TraceRecord[] {
  const fd = openSync(file, 'r');
  const records: TraceRecord[] = [];
  try {
    const size = fstatSync(fd).size;
    scanLines(fd, Math.max(0, size - trace_tail_bytes_max), (line) => {
      const record = line.startsWith('{') ? parseTraceRecord(line) : null;
      if (record) records.push(record);
      return true;
    });
  } finally {
    closeSync(fd);
  }
  return records;
}
