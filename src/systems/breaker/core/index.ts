// The breaker system's pure resilience core: the breaker, its window, the bulkhead and the retry
// policy, with their configuration and presets. No I/O, no clock, no global randomness.

export { type Admission, breaker_planted_bugs, type BreakerPlantedBug, type BreakerState, type CallResult, CircuitBreaker, formatDuration, type Transition, transitions_kept_max } from './breaker.js';
export { Bulkhead, type BulkheadEntry } from './bulkhead.js';
export * from './config.js';
export { type PresetName, preset_names, presets } from './presets.js';
export { type RetryDecision, RetryPolicy } from './retry.js';
export { BucketedCounts, CountWindow, createWindow, type OutcomeWindow, TimeWindow, type WindowSnapshot } from './window.js';
