// Records and configurations for the breaker checker's tests.
import type { ResilienceConfig } from '../../src/systems/breaker/core/index.js';
import type { BreakerRecord } from '../../src/systems/breaker/record.js';

type ConfigChanges = { [K in keyof ResilienceConfig]?: ResilienceConfig[K] extends object ? Partial<ResilienceConfig[K]> : ResilienceConfig[K] };

/** The dslab preset's shape with small numbers: a 10 s window in 10 buckets, 10 calls, 50%, 5 s open, one trial, 1 s timeout, 2 permits, a 20% budget. */
export function testConfig(changes: ConfigChanges = {}): ResilienceConfig {
  const base: ResilienceConfig = {
    preset: 'dslab',
    breaker: {
      enabled: true,
      window_kind: 'time',
      window_calls: 100,
      window_ms: 10_000,
      window_buckets: 10,
      min_calls: 10,
      failure_rate_pct: 50,
      slow_rate_pct: 100,
      slow_call_ms: 1000,
      open_wait_ms: 5000,
      half_open_calls: 1,
      call_timeout_ms: 1000,
    },
    bulkhead: { kind: 'semaphore', max: 2, queue_max: 0, queue_wait_ms: 0 },
    retry: { retries_max: 0, backoff_ms_base: 50, backoff_ms_max: 1000, jitter: 'full', budget_pct: 20, budget_min_per_s: 0, budget_window_ms: 10_000 },
    fallback: false,
  };
  return {
    ...base,
    ...(changes.preset === undefined ? {} : { preset: changes.preset }),
    ...(changes.fallback === undefined ? {} : { fallback: changes.fallback }),
    breaker: { ...base.breaker, ...changes.breaker },
    bulkhead: { ...base.bulkhead, ...changes.bulkhead },
    retry: { ...base.retry, ...changes.retry },
  };
}

/** A record of service s1 calling d1 from 0 to 60 s, with what the test gives. */
export function recordOf(parts: Partial<BreakerRecord>): BreakerRecord {
  return {
    config: testConfig(),
    services: ['s1'],
    dependency: 'd1',
    requests: [],
    calls: [],
    states: [],
    faults: [],
    start_ms: 0,
    end_ms: 60_000,
    ...parts,
  };
}
