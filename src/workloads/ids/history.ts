/**
 * What `dslab id load` records and `dslab id check` reads: one JSON object per
 * line. The header says how ids are laid out; ops are the requests with their
 * real-time windows (ms since 1970 on this machine's clock); state records
 * are the workers' reports of the number they hold; faults are the clock
 * skews, pauses and crashes that happened meanwhile.
 */
import type { Layout } from '../../systems/snowflake/core/layout.js';

export interface HistoryHeader {
  type: 'header';
  layout: Layout;
  epoch_ms: number;
  started_ms: number;
  /** Each node's clock offset when the load began. */
  clock_offsets_ms: Record<string, number>;
}

export interface HistoryOp {
  type: 'op';
  client: number;
  node: string;
  invoke_ms: number;
  complete_ms: number;
  /** ok: ids came back; fail: the worker refused (definitely none issued); unknown: no answer in time. */
  outcome: 'ok' | 'fail' | 'unknown';
  ids?: string[];
  error?: string;
}

export interface HistoryState {
  type: 'state';
  t: number;
  node: string;
  datacenter: number | null;
  worker: number | null;
  role: string | null;
}

export interface HistoryFault {
  type: 'fault';
  t: number;
  action: 'skew' | 'pause' | 'resume' | 'kill' | 'restart' | 'down';
  node: string;
  offset_ms?: number;
}

export type HistoryRecord = HistoryHeader | HistoryOp | HistoryState | HistoryFault;

/** Reads a history's text; throws an Error naming the first line that is not a record. */
export function parseHistory(text: string): HistoryRecord[] {
  const records: HistoryRecord[] = [];
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (!line.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new Error(`line ${index + 1} is not JSON`);
    }
    const type = (value as { type?: unknown } | null)?.type;
    if (type !== 'header' && type !== 'op' && type !== 'state' && type !== 'fault') throw new Error(`line ${index + 1} is not an id history record (header, op, state or fault)`);
    records.push(value as HistoryRecord);
  }
  if (records[0]?.type !== 'header') throw new Error('the history has no header line (it is not from `dslab id load`)');
  return records;
}
