import { closeSync, openSync, readSync } from 'node:fs';
import { history_default_workload, history_header_type } from './plugin.js';
import { UserError } from './util/errors.js';

/** How much of a history's start is read to find its header line. */
const header_bytes_max = 64 * 1024;

/** The workload a history file names on its first line ({"type":"workload","workload":NAME}); lin-kv when it names none. */
export function historyWorkload(file: string): string {
  let head: string;
  try {
    const fd = openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(header_bytes_max);
      head = buffer.subarray(0, readSync(fd, buffer, 0, header_bytes_max, 0)).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    throw new UserError(`cannot read history file ${file}: no such file`);
  }
  const first = head.split('\n').find((line) => line.trim() !== '');
  if (first === undefined) return history_default_workload;
  try {
    const record = JSON.parse(first) as Record<string, unknown>;
    if (record?.type === history_header_type) {
      if (typeof record.workload !== 'string' || record.workload === '') throw new UserError(`history line 1: a workload line needs "workload": the workload's name`);
      return record.workload;
    }
  } catch (error) {
    if (error instanceof UserError) throw error;
  }
  return history_default_workload;
}
