// The named presets (dslab, hystrix, resilience4j): every breaker, bulkhead and retry setting, each
// library's value from its documented default. Pure data; config.ts checks each against its types.

export const preset_names = ['dslab', 'hystrix', 'resilience4j'] as const;
export type PresetName = (typeof preset_names)[number];

/**
 * Each preset gives every field (config.ts types them: BreakerConfig, BulkheadConfig,
 * RetryConfig). Where a library has no such setting the preset says what reproduces
 * its behaviour, and why. Sources: Hystrix's wiki page "Configuration" (the "Default
 * Value" of each property); resilience4j's documentation of CircuitBreakerConfig,
 * BulkheadConfig, RetryConfig and TimeLimiterConfig.
 */
export const presets = {
  /**
   * The default: small enough to watch in a lab, where a load runs tens of
   * requests per second for a minute. Hystrix's window and wait, a smaller
   * minimum so a light load can open it, a slow-call rule that only a
   * dependency answering nothing in time trips, and budgeted, jittered retries
   * (Finagle's RetryBudget idea, with a smaller floor).
   */
  dslab: {
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
      // Twice the slow-call duration, so a slow call is seen as slow before it times out.
      call_timeout_ms: 2000,
    },
    bulkhead: { kind: 'semaphore', max: 10, queue_max: 10, queue_wait_ms: 100 },
    retry: {
      retries_max: 2,
      backoff_ms_base: 50,
      backoff_ms_max: 1000,
      jitter: 'full',
      budget_pct: 10,
      budget_min_per_s: 1,
      budget_window_ms: 10_000,
    },
    fallback: false,
  },
  hystrix: {
    breaker: {
      // circuitBreaker.enabled: true
      enabled: true,
      // metrics.rollingStats.timeInMilliseconds: 10000, metrics.rollingStats.numBuckets: 10
      window_kind: 'time',
      window_ms: 10_000,
      window_buckets: 10,
      // Hystrix has no count window: this is only used if --window-kind count is asked for.
      window_calls: 100,
      // circuitBreaker.requestVolumeThreshold: 20
      min_calls: 20,
      // circuitBreaker.errorThresholdPercentage: 50
      failure_rate_pct: 50,
      // Hystrix has no slow-call rule: a slow call is one that timed out, and only 100% of them opens (they count as failures anyway).
      slow_rate_pct: 100,
      slow_call_ms: 1000,
      // circuitBreaker.sleepWindowInMilliseconds: 5000
      open_wait_ms: 5000,
      // After the sleep window Hystrix lets a single request through to test the dependency.
      half_open_calls: 1,
      // execution.isolation.thread.timeoutInMilliseconds: 1000
      call_timeout_ms: 1000,
    },
    // execution.isolation.semaphore.maxConcurrentRequests: 10 (threadpool coreSize is 10 too, and maxQueueSize -1: no queue).
    bulkhead: { kind: 'semaphore', max: 10, queue_max: 0, queue_wait_ms: 0 },
    // Hystrix does not retry.
    retry: {
      retries_max: 0,
      backoff_ms_base: 0,
      backoff_ms_max: 0,
      jitter: 'none',
      budget_pct: null,
      budget_min_per_s: 0,
      budget_window_ms: 10_000,
    },
    // fallback.enabled: true
    fallback: true,
  },
  resilience4j: {
    breaker: {
      enabled: true,
      // slidingWindowType: COUNT_BASED, slidingWindowSize: 100
      window_kind: 'count',
      window_calls: 100,
      // A TIME_BASED window of slidingWindowSize 100 would be 100 s in one-second buckets: used if --window-kind time is asked for.
      window_ms: 100_000,
      window_buckets: 100,
      // minimumNumberOfCalls: 100
      min_calls: 100,
      // failureRateThreshold: 50
      failure_rate_pct: 50,
      // slowCallRateThreshold: 100, slowCallDurationThreshold: 60 s
      slow_rate_pct: 100,
      slow_call_ms: 60_000,
      // waitDurationInOpenState: 60 s
      open_wait_ms: 60_000,
      // permittedNumberOfCallsInHalfOpenState: 10
      half_open_calls: 10,
      // TimeLimiter's timeoutDuration: 1 s
      call_timeout_ms: 1000,
    },
    // Bulkhead (semaphore): maxConcurrentCalls 25, maxWaitDuration 0.
    bulkhead: { kind: 'semaphore', max: 25, queue_max: 0, queue_wait_ms: 0 },
    retry: {
      // Retry: maxAttempts 3 (the first call and 2 retries), waitDuration 500 ms, fixed (no exponential backoff, no randomized wait).
      retries_max: 2,
      backoff_ms_base: 500,
      backoff_ms_max: 500,
      jitter: 'none',
      // resilience4j has no retry budget.
      budget_pct: null,
      budget_min_per_s: 0,
      budget_window_ms: 10_000,
    },
    // A fallback is something the caller writes around the decorated call: none by default.
    fallback: false,
  },
} as const;
