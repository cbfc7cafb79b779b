import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { UserError } from '../util/errors.js';
import { clusterPaths, dslabHome, type ClusterInfo } from './paths.js';

/** The most a tail reads from the end of a log, however many lines are asked for. */
export const log_tail_bytes_max = 4 * 1024 * 1024;
export const log_follow_interval_ms = 200;

/** The log file of a node ("n3") or of the supervisor ("supervisor"). */
export function logFileFor(info: ClusterInfo, node: string): string {
  const paths = clusterPaths(dslabHome(), info.name);
  if (node === 'supervisor') return paths.supervisorLog;
  if (!info.nodes.includes(node)) throw new UserError(`unknown node "${node}" (nodes: ${info.nodes.join(', ')}, supervisor)`);
  return paths.logFile(node);
}

function readRange(file: string, start: number, end: number): string {
  if (end <= start) return '';
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(end - start);
    const read = readSync(fd, buffer, 0, buffer.length, start);
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** The last `lines` lines of a log, and the offset where following should continue. */
export function readLogTail(file: string, lines: number): { text: string; offset: number } {
  if (!existsSync(file)) return { text: '', offset: 0 };
  const size = statSync(file).size;
  const start = Math.max(0, size - log_tail_bytes_max);
  const text = readRange(file, start, size);
  const all = text.split('\n');
  if (all.at(-1) === '') all.pop();
  const tail = all.slice(-lines);
  return { text: tail.length ? tail.join('\n') + '\n' : '', offset: size };
}

/** Calls onText with whatever is appended to the file, until the returned function is called. */
export function followLog(file: string, offset: number, onText: (text: string) => void): () => void {
  let position = offset;
  const timer = setInterval(() => {
    if (!existsSync(file)) return;
    const size = statSync(file).size;
    if (size < position) position = 0; // the log was replaced
    const end = Math.min(size, position + log_tail_bytes_max);
    const text = readRange(file, position, end);
    position = end;
    if (text) onText(text);
  }, log_follow_interval_ms);
  return () => clearInterval(timer);
}
