// What the breaker checker reads: one cluster run as the router saw it (its clock, its trace),
// built from trace.jsonl by trace-read.ts and judged by checker.ts. This file owns the type;
// trace-read.ts and the checker import it from here.

// The resolved configuration's shape, as core/config.ts defines it. Declared here only until the
// core is on main; then this becomes `import type { ResilienceConfig } from './core/index.js'`.
export type BreakerState = 'closed' | 'open' | 'half_open';

export interface ResilienceConfig {
  preset: string;
  breaker: {
    enabled: boolean;
    window_kind: 'count' | 'time';
    window_calls: number;
    window_ms: number;
    window_buckets: number;
    min_calls: number;
    failure_rate_pct: number;
    slow_rate_pct: number;
    slow_call_ms: number;
    open_wait_ms: number;
    half_open_calls: number;
    call_timeout_ms: number;
  };
  bulkhead: { kind: 'none' | 'semaphore' | 'queue'; max: number; queue_max: number; queue_wait_ms: number };
  retry: {
    retries_max: number;
    backoff_ms_base: number;
    backoff_ms_max: number;
    jitter: 'full' | 'none';
    budget_pct: number | null;
    budget_min_per_s: number;
    budget_window_ms: number;
  };
  fallback: boolean;
}

export type RequestOutcome = 'ok' | 'fallback' | 'failed' | 'short_circuited' | 'rejected' | 'bad_request' | 'timeout';
export type CallRecordResult = 'success' | 'failure' | 'ignored' | 'unanswered';

/** A client's request to a service, from the `call` and its reply. */
export interface RequestRecord {
  service: string;
  client: string;
  sent_ms: number;
  answered_ms: number | null;
  outcome: RequestOutcome;
}

/** A service's `work` call to the dependency, from the call and its reply (null: none came). */
export interface CallRecord {
  service: string;
  sent_ms: number;
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
