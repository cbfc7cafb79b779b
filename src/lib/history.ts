// Histories as checkers judge them and reports show them: operations, violations and verdicts in a
// workload-neutral shape. Plain types and constants: this module imports nothing.

/**
 * One client operation of a history as reports show it, whatever the
 * workload: the grader's failure lines and the HTML report's table and
 * message diagram read these, not the workload's own records.
 */
export interface HistoryOperation {
  /** 1-based line in the history file. */
  line?: number;
  client: string;
  /** What the operation is on (a kv key): the report matches requests in the trace whose body names it. */
  key: string;
  /** The operation in words: "cas x from 1 to 2". */
  action: string;
  /** Its result in words: "ok: 5", "failed (error 22)", "unknown (no answer)". */
  result: string;
  /** The whole operation on one line, for terminal reports. */
  text: string;
  outcome: 'ok' | 'fail' | 'unknown';
  call_ms: number;
  /** null: no answer. */
  return_ms: number | null;
  /** When the client stopped waiting: its return, or when it gave up on an operation with no answer. */
  end_ms: number;
}

/** Operations of one key (or other unit a checker judges alone) that cannot be ordered. */
export interface HistoryViolation {
  key: string;
  explanation: string;
  /** How many operations the key had in the history. */
  key_ops: number;
  ops: HistoryOperation[];
  /** Every operation on the key, for the report's context around the violation; null when the history was too large to keep them. */
  key_history: HistoryOperation[] | null;
  /** The failure in the checker's own words, when "not <check> on key …" would not say it (the lock checks judge a run, not operations). */
  failure?: string;
}

export interface HistoryVerdict {
  result: 'valid' | 'invalid' | 'unknown';
  /** Why the result is unknown. */
  reason?: string;
  violation?: HistoryViolation;
}

/**
 * A check over the histories a workload's loads write (lin-kv's
 * `linearizable`): times in the verdict are relative to time_origin_ms.
 */
export interface HistoryChecker {
  check(file: string, timeout_ms: number, time_origin_ms: number): HistoryVerdict;
  /** The failure in words for a violation found in `file` (its base name); absent: "the history is not <check> on key …". */
  describe?(violation: HistoryViolation, file: string): string;
}

/** What `dslab check FILE` prints and returns for one history file. */
export interface HistoryFileCheck {
  result: 'valid' | 'invalid' | 'unknown';
  /** The verdict in words, for the terminal. */
  text: string;
  /** The whole result, for --json. */
  details: Record<string, unknown>;
}

/**
 * The first line of a history names the workload that wrote it ({"type":"workload","workload":"zk"}),
 * so `dslab check` picks that workload's checker; a history without one is lin-kv's (its histories
 * predate the line).
 */
export const history_header_type = 'workload';
export const history_default_workload = 'lin-kv';
