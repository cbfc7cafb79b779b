import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import { history_header_type } from '../../lib/plugin.js';
import { errorMessage, UserError } from '../../lib/util/errors.js';
import type { SingleSendOutcome } from './send.js';

/**
 * Histories of the set and counter workloads (broadcast, g-set, g-counter,
 * pn-counter), as their checkers (src/workloads/set, src/workloads/counter)
 * read them: a header line naming the workload, then one JSON line per
 * completed operation:
 *   {"type":"workload","workload":"broadcast"}
 *   {"client":"c3","node":"n2","f":"add","value":17,"call_ms":4.5,"return_ms":6,"outcome":"ok"}
 *   {"client":"c1","node":"n1","f":"read","result":[1,17],"call_ms":7,"return_ms":8.2,"outcome":"ok","final":true}
 * An add's element or delta is `value`; an ok read's answer is `result` (a
 * list for sets, an integer for counters). A broadcast is recorded as an add.
 * Times are milliseconds since the history began; return_ms is null for an
 * unknown operation (a read that got no answer failed when its client gave up); `error` is the Maelstrom error code of an operation that is
 * not ok.
 */

/** One completed operation of any single-send workload (`dslab test`'s history lines): `f` names it. */
export interface OperationLine {
  client: string;
  node: string;
  f: string;
  value?: unknown;
  result?: unknown;
  call_ms: number;
  return_ms: number | null;
  outcome: 'ok' | 'fail' | 'unknown';
  error?: number;
  final?: true;
}

/** An add/read workload's line. */
export interface HistoryEntry extends OperationLine {
  f: 'add' | 'read';
}

/** The first line of a history of `workload`. */
export function historyHeader(workload: string): string {
  return JSON.stringify({ type: history_header_type, workload });
}

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * One completed operation as its history line records it: times relative to
 * `origin_ms`; `value` is what was sent, when anything was; `answer` what an ok
 * operation answered, when it answers something.
 */
export function historyEntry<F extends string>(client: string, f: F, done: SingleSendOutcome, origin_ms: number, extra: { value?: unknown; answer?: unknown; final?: boolean }): OperationLine & { f: F } {
  // Fields in the order the format's examples show them.
  const entry: OperationLine & { f: F } = {
    client,
    node: done.node,
    f,
    ...('value' in extra ? { value: extra.value } : {}),
    ...('answer' in extra && done.outcome === 'ok' ? { result: extra.answer } : {}),
    call_ms: round3(done.call_ms - origin_ms),
    return_ms: done.return_ms === null || done.outcome === 'unknown' ? null : round3(done.return_ms - origin_ms),
    outcome: done.outcome,
  };
  if (done.error) entry.error = done.error.code;
  if (extra.final) entry.final = true;
  return entry;
}

/**
 * A history file being written: the header when opened (truncating the file,
 * so a bad path is refused at once), then a line per operation. A write error
 * (disk full) ends the history, kept in `error`, but not the run.
 */
export class HistoryWriter {
  private readonly stream: WriteStream;
  error: string | null = null;

  constructor(
    readonly file: string,
    workload: string,
  ) {
    let fd: number;
    try {
      fd = openSync(file, 'w');
    } catch (error) {
      throw new UserError(`cannot write the history to ${file}: ${errorMessage(error)}`);
    }
    this.stream = createWriteStream(file, { fd });
    this.stream.on('error', (error) => (this.error ??= errorMessage(error)));
    this.stream.write(historyHeader(workload) + '\n');
  }

  write(entry: OperationLine): void {
    if (!this.stream.destroyed) this.stream.write(JSON.stringify(entry) + '\n');
  }

  /** Flushes and closes the file. */
  close(): Promise<void> {
    return new Promise((resolve) => (this.stream.destroyed ? resolve() : this.stream.end(() => resolve())));
  }
}
