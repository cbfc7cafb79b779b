// A trial call's answer that comes after its half-open spell ended (the breaker reopened on another
// trial and half-opened again) is not an answer to the new spell's trials: it cannot close the
// breaker, or reopen it, in their place. Possible whenever a call can outlast the open wait
// (call_timeout_ms > open_wait_ms) and half-open admits more than one trial.
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../src/systems/breaker/core/index.js';
import { testConfig } from './breaker-checker-fixtures.js';

/** Open at 1000 ms (2 calls, both failed), a 100 ms open wait, two trials, a 1 s call timeout. */
function openedBreaker(): CircuitBreaker {
  const b = new CircuitBreaker(testConfig({ breaker: { window_kind: 'count', window_calls: 10, min_calls: 2, open_wait_ms: 100, half_open_calls: 2, call_timeout_ms: 1000, slow_call_ms: 800 } }).breaker);
  b.state(0);
  for (const t of [900, 1000]) {
    expect(b.tryAcquire(t - 10)).toEqual({ admitted: true, trial: false });
    b.onResult(t, 'failure', 10, false);
  }
  expect(b.state(1000)).toBe('open');
  return b;
}

describe('trial answers from an earlier half-open spell', () => {
  it('a late success from the first spell does not count toward closing the second', () => {
    const b = openedBreaker();
    // Half-open from 1100: trials A (still out) and B, which fails and reopens it at 1120.
    expect(b.tryAcquire(1100)).toEqual({ admitted: true, trial: true });
    expect(b.tryAcquire(1105)).toEqual({ admitted: true, trial: true });
    b.onResult(1120, 'failure', 15, true);
    expect(b.state(1120)).toBe('open');
    // Half-open again from 1220: trials C and D.
    expect(b.tryAcquire(1220)).toEqual({ admitted: true, trial: true });
    expect(b.tryAcquire(1221)).toEqual({ admitted: true, trial: true });
    // A's success comes now, 130 ms after it was sent (within its timeout), then C's.
    b.onResult(1230, 'success', 130, true);
    b.onResult(1240, 'success', 20, true);
    // One of this spell's two trials succeeded: it stays half-open until D's answer.
    expect(b.state(1240)).toBe('half_open');
    b.onResult(1250, 'success', 29, true);
    expect(b.state(1250)).toBe('closed');
  });

  it('a late failure from the first spell does not reopen the second', () => {
    const b = openedBreaker();
    expect(b.tryAcquire(1100)).toEqual({ admitted: true, trial: true });
    expect(b.tryAcquire(1105)).toEqual({ admitted: true, trial: true });
    b.onResult(1120, 'failure', 15, true);
    expect(b.tryAcquire(1220)).toEqual({ admitted: true, trial: true });
    expect(b.tryAcquire(1221)).toEqual({ admitted: true, trial: true });
    // A's failure comes now, 130 ms after it was sent: an answer about the dependency before the reopening.
    b.onResult(1230, 'failure', 130, true);
    expect(b.state(1230)).toBe('half_open');
    b.onResult(1240, 'success', 20, true);
    b.onResult(1250, 'success', 29, true);
    expect(b.state(1250)).toBe('closed');
  });

  it('an answer to a call made while closed counts for nothing in half-open', () => {
    const b = openedBreaker();
    expect(b.tryAcquire(1100)).toEqual({ admitted: true, trial: true });
    expect(b.tryAcquire(1101)).toEqual({ admitted: true, trial: true });
    // Sent at 995 while closed, answered during half-open: neither a trial's success nor its failure.
    b.onResult(1110, 'failure', 115, false);
    expect(b.state(1110)).toBe('half_open');
    b.onResult(1120, 'success', 20, true);
    b.onResult(1130, 'success', 29, true);
    expect(b.state(1130)).toBe('closed');
  });
});
