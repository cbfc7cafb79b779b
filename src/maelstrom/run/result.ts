/**
 * What one `dslab test` run leaves behind, as data: results.json in the run's
 * folder, `--json` on stdout, and what the HTML report draws. Plain types:
 * this module imports only types.
 *
 * A run's folder (.dslab/test/<workload>/<time>/, `latest` linking the newest):
 *   results.json   this TestRunResult
 *   history.jsonl  the header line, then one completed client operation a line (RunHistoryEntry)
 *   trace.jsonl    every message the router handled: {"t": epoch ms, "fate", "delays_ms"?, "msg": {src, dest, body}}
 *   nodes/<id>.log each node's stderr and what dslab said of it
 *   report.html    the self-contained report
 */
import type { TestPlan } from '../options.js';
import type { Verdict } from '../exit-codes.js';
import type { OperationLine } from '../../workloads/single-send/history.js';

/** The run's folder layout, relative to the folder. */
export const run_files = {
  results: 'results.json',
  history: 'history.jsonl',
  trace: 'trace.jsonl',
  report: 'report.html',
  node_logs: 'nodes',
} as const;

export const test_run_format = 'dslab-test-run/1';

/**
 * One completed operation in history.jsonl (the single-send workloads' line): every workload's
 * lines have its fields; `value` is what was sent (an element, a delta, a kv operation's
 * arguments, a transaction), `result` what an ok operation answered; times are ms since the run
 * began (TestRunResult.started_at_ms), return_ms null when no answer came.
 */
export type RunHistoryEntry = OperationLine;

/** Latency quantiles in ms: 0, 0.5, 0.95, 0.99 and 1. */
export interface Quantiles {
  '0': number;
  '0.5': number;
  '0.95': number;
  '0.99': number;
  '1': number;
}

/** Counts of one kind of operation, and its latencies (ok ones only; null when none was ok). */
export interface OperationStats {
  f: string;
  count: number;
  ok: number;
  fail: number;
  unknown: number;
  latency_ms: Quantiles | null;
}

/** Maelstrom's network statistics for one class of messages. */
export interface NetCounts {
  /** Messages sent (each send, delivered or not). */
  send_count: number;
  /** Messages received (each delivery, duplicates included). */
  recv_count: number;
  /** Distinct messages. */
  msg_count: number;
  /** msg_count over client operations invoked; null when none were (Maelstrom gives it for all and servers only). */
  msgs_per_op: number | null;
}

export interface NetStats {
  all: NetCounts;
  /** Messages with a client at either end. */
  clients: NetCounts;
  /** Messages between nodes and between nodes and services. */
  servers: NetCounts;
}

/** One check's judgement: the workload's checker, availability, the run itself. */
export interface CheckOutcome {
  /** "set", "counter", "linearizable", "unique-ids", "echo", "availability", "run". */
  name: string;
  result: Verdict;
  /** The judgement in words, a few lines at most. */
  text: string;
  /** The checker's whole result. */
  details: Record<string, unknown>;
}

/** A fault while it lasted, for the timeline: ms since the run began. */
export interface FaultSpan {
  kind: 'partition' | 'kill' | 'pause' | 'latency' | 'other';
  /** "partition majority {n1,n2} | {n3,n4,n5}", "killed n3". */
  description: string;
  start_ms: number;
  /** null: still in force when the run ended. */
  end_ms: number | null;
  /** Who did it: the test's nemesis, or a command from another terminal. */
  source: 'nemesis' | 'cli';
}

/** A moment the report draws a message diagram around: a lost element, a wrong read, a failed operation. */
export interface FailurePoint {
  /** ms since the run began. */
  at_ms: number;
  /** What went wrong, in words. */
  description: string;
  /** The nodes and clients involved, drawn first in the diagram. */
  endpoints: string[];
}

export interface TestRunResult {
  format: typeof test_run_format;
  /** The plan as run, every default filled in. */
  plan: TestPlan;
  seed: number;
  /** 1-based, with --test-count above 1. */
  run_index: number;
  /** Epoch ms when the clients began: the origin of every *_ms time in this run. */
  started_at_ms: number;
  /** When the time limit ended the main phase, and when the run ended (final reads done), ms since started_at_ms. */
  main_phase_end_ms: number;
  end_ms: number;
  nodes: string[];
  verdict: Verdict;
  /** The verdict in one sentence, the first thing a person reads. */
  headline: string;
  /** Why, in words: one line a reason, most important first (empty when valid and nothing stands out). */
  reasons: string[];
  /** Where dslab reads the arguments differently from Maelstrom (a Unicode dash, a models list), as the plan's warnings said. */
  warnings: string[];
  checks: CheckOutcome[];
  operations: OperationStats[];
  /** Ok fraction of client operations invoked (final reads included); null when none were. */
  availability: number | null;
  net: NetStats;
  faults: FaultSpan[];
  failures: FailurePoint[];
  /** Throughput and latency per second of the run, for the charts: second s covers [s·1000, (s+1)·1000). */
  timeline: { second: number; ok: number; fail: number; unknown: number; latency_ms_median: number | null; latency_ms_max: number | null }[];
  /**
   * CPU of the process that ran the test (the supervisor, the clients and the checker; not the nodes)
   * from the cluster's start to its shutdown: share is CPU time over wall time (1 = one core busy).
   */
  process_cpu?: { user_ms: number; system_ms: number; wall_ms: number; share: number };
  /** The run's folder and files (absolute paths). */
  dir: string;
  files: { results: string; history: string; trace: string; report: string; node_logs: string };
}
