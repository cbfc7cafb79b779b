// What the breaker checker reads: one cluster run as the router saw it (its clock, its trace),
// built from trace.jsonl by trace-read.ts and judged by checker.ts. This file owns the type;
// trace-read.ts and the checker import it from here.

import type { BreakerState, ResilienceConfig } from './core/index.js';

export type RequestOutcome = 'ok' | 'fallback' | 'failed' | 'short_circuited' | 'rejected' | 'bad_request' | 'timeout';
export type CallRecordResult = 'success' | 'failure' | 'ignored' | 'unanswered';

/** A client's request to a service, from the `call` and its reply. */
export interface RequestRecord {
  service: string;
  client: string;
  /** When the call reached the service (its first copy: the router's time plus the copy's delay). */
  sent_ms: number;
  /** When the service sent its reply. */
  answered_ms: number | null;
  outcome: RequestOutcome;
  /**
   * Calls to the dependency the service made for it (the reply's `attempts`); absent or null when
   * not known. A request short-circuited on a retry carries its earlier attempts' time, so only
   * those short-circuited before any call (0) show how fast a short circuit is.
   */
  attempts?: number | null;
}

/** A service's `work` call to the dependency, from the call and its reply (null: none came). */
export interface CallRecord {
  service: string;
  /** When the service sent the call. */
  sent_ms: number;
  /** When the first copy of an answer reached the service. */
  answered_ms: number | null;
  result: CallRecordResult;
  attempt: number | null;
}

/** A traced dslab_state report's breaker state. */
export interface StateRecord {
  node: string;
  at_ms: number;
  breaker: BreakerState;
}

/** A traced dslab_fail (an all-clear has errors 0, latency 0, no hang). */
export interface FaultRecord {
  at_ms: number;
  errors_pct: number;
  latency_ms: number;
  hang: boolean;
}

export interface BreakerRecord {
  config: ResilienceConfig;
  services: string[];
  dependency: string;
  requests: RequestRecord[];
  calls: CallRecord[];
  states: StateRecord[];
  faults: FaultRecord[];
  start_ms: number;
  end_ms: number;
}
