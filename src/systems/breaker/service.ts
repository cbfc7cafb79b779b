// A breaker service's node program (s1..sN): a client's `call` goes through the circuit breaker, the
// bulkhead and the retry policy (core/) to the dependency, and its reply says what became of it.
// The decisions are the core's; this file carries them out on the node runtime and reports.

import { pathToFileURL } from 'node:url';
import { error_codes, type Envelope, type MessageBody } from '../../lib/protocol/messages.js';
import { Node } from '../../lib/runtime/node.js';
import { type Admission, Bulkhead, type BreakerState, type CallResult, CircuitBreaker, type ResilienceConfig, RetryPolicy } from './core/index.js';
import { type DependencyCall, type DependencyClient, dslabDependency } from './dependency-client.js';
import { readBreakerOptions, readBreakerPlantedBug, type ServicePlantedBug } from './options.js';
import { redisDependency } from './redis-dependency.js';

/** How often a service reports its state (and a transition is reported at once besides). */
export const state_report_interval_ms = 1000;
/** Request latencies kept per report interval for its p50 and p99; past this the rest are not sampled. */
export const latency_samples_max = 10_000;

/** What became of a client's call, as its reply's `outcome` says. */
export type CallOutcome = 'ok' | 'fallback' | 'failed' | 'short_circuited' | 'rejected' | 'bad_request';

/** The breaker's view of one attempt at the dependency: a bad request is not the dependency's fault. */
export function callResultOf(call: DependencyCall): CallResult {
  switch (call) {
    case 'success':
      return 'success';
    case 'bad_request':
      return 'ignored';
    case 'timeout':
      return 'timeout';
    case 'failure':
      return 'failure';
  }
}

/**
 * What a request that did not succeed is answered with: a fallback when the service has one (never
 * for a bad request: that is the client's own mistake); an attempt the breaker or the bulkhead refused
 * after earlier attempts failed is a failure, as the dependency failed the request before.
 */
export function failureOutcome(refusal: 'short_circuited' | 'rejected' | 'failed' | 'bad_request', attempts: number, fallback: boolean): CallOutcome {
  if (refusal === 'bad_request') return 'bad_request';
  if (fallback) return 'fallback';
  return attempts > 1 && refusal !== 'failed' ? 'failed' : refusal;
}

/** The reply to the client for an outcome. */
export function replyBody(outcome: CallOutcome, attempts: number, breaker: BreakerState, why: string): MessageBody {
  switch (outcome) {
    case 'ok':
    case 'fallback':
      return { type: 'call_ok', outcome, attempts, breaker };
    case 'short_circuited':
      return { type: 'error', code: error_codes.temporarily_unavailable, outcome, attempts, text: `the circuit breaker is ${breaker.replace('_', '-')}: ${why}` };
    case 'rejected':
      return { type: 'error', code: error_codes.temporarily_unavailable, outcome, attempts, text: `the bulkhead is full: ${why}` };
    case 'bad_request':
      return { type: 'error', code: error_codes.malformed_request, outcome, text: why };
    case 'failed':
      return { type: 'error', code: error_codes.crash, outcome, attempts, text: why };
  }
}

/** The nearest-rank quantile of sorted values; null for none. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Per report interval: what happened, for the rates in the state report. */
interface IntervalCounts {
  requests: number;
  short: number;
  rejected: number;
  fallback: number;
  dep_calls: number;
  retries: number;
  latencies_ms: number[];
}

function emptyCounts(): IntervalCounts {
  return { requests: 0, short: 0, rejected: 0, fallback: 0, dep_calls: 0, retries: 0, latencies_ms: [] };
}

/**
 * One service: its breaker, bulkhead and retry policy, and the dependency it calls. Every attempt
 * (the first and each retry) asks the breaker, then the bulkhead, then calls with the call timeout.
 */
export class BreakerService {
  readonly breaker: CircuitBreaker;
  readonly bulkhead: Bulkhead;
  readonly retry: RetryPolicy;
  private counts = emptyCounts();
  /** Calls queued at the bulkhead, by ticket: settled when admitted or when their wait runs out. */
  private readonly waiting = new Map<number, (admitted: boolean) => void>();
  private expiryTimer: (() => void) | null = null;

  constructor(
    private readonly node: Node,
    readonly config: ResilienceConfig,
    private readonly dependency: DependencyClient,
    private readonly planted_bug: ServicePlantedBug | null = null,
    rng: () => number = Math.random,
  ) {
    this.breaker = new CircuitBreaker(config.breaker, planted_bug);
    this.bulkhead = new Bulkhead(config.bulkhead);
    this.retry = new RetryPolicy(config.retry, rng, planted_bug);
  }

  start(): void {
    this.node.on('call', (message) => this.onCall(message));
    this.node.every(state_report_interval_ms, () => this.report());
    this.report();
  }

  private async onCall(message: Envelope): Promise<void> {
    const started_ms = this.node.now();
    this.counts.requests++;
    this.retry.onRequest(started_ms);
    const { outcome, attempts, why } = await this.serve(String(message.body.key ?? ''), message.body.bad === true);
    if (outcome === 'fallback') this.counts.fallback++;
    if (this.counts.latencies_ms.length < latency_samples_max) this.counts.latencies_ms.push(this.node.now() - started_ms);
    this.node.reply(message, replyBody(outcome, attempts, this.breaker.state(this.node.now()), why));
    this.transitions();
  }

  /** One client request: attempts until one succeeds, the request is refused, or the retry policy says stop. */
  private async serve(key: string, bad: boolean): Promise<{ outcome: CallOutcome; attempts: number; why: string }> {
    const fallback = this.config.fallback;
    for (let attempt = 1; ; attempt++) {
      const admission: Admission = this.breaker.tryAcquire(this.node.now());
      this.transitions();
      if (!admission.admitted) {
        this.counts.short++;
        const why = admission.reason === 'open' ? 'calls to the dependency are stopped until it is tried again' : 'its trial calls are already under way';
        return { outcome: failureOutcome('short_circuited', attempt, fallback), attempts: attempt - 1, why };
      }
      if (!(await this.enterBulkhead())) {
        this.breaker.cancel(admission.trial);
        this.counts.rejected++;
        return { outcome: failureOutcome('rejected', attempt, fallback), attempts: attempt - 1, why: `${this.bulkhead.in_use} calls to the dependency are already under way` };
      }
      const sent_ms = this.node.now();
      this.counts.dep_calls++;
      const call = await this.dependency.call(key, bad, attempt, this.config.breaker.call_timeout_ms);
      const done_ms = this.node.now();
      const result = callResultOf(call);
      this.breaker.onResult(done_ms, result, done_ms - sent_ms, admission.trial);
      // The planted bug: a call that timed out never gives its permit back.
      if (!(this.planted_bug === 'bulkhead_leaks_on_timeout' && result === 'timeout')) this.leaveBulkhead(done_ms);
      this.transitions();
      if (call === 'success') return { outcome: 'ok', attempts: attempt, why: '' };
      if (call === 'bad_request') return { outcome: 'bad_request', attempts: attempt, why: 'the dependency refused the request as malformed' };
      const decision = this.retry.next(done_ms, attempt);
      if (!decision.retry) {
        const why = `attempt ${attempt} ${call === 'timeout' ? `timed out after ${this.config.breaker.call_timeout_ms} ms` : 'failed'}${decision.reason === 'budget' ? '; the retry budget is spent' : ''}`;
        return { outcome: failureOutcome('failed', attempt, fallback), attempts: attempt, why };
      }
      this.counts.retries++;
      if (decision.delay_ms > 0) await new Promise<void>((resolve) => this.node.after(decision.delay_ms, resolve));
    }
  }

  /** Enters the bulkhead, waiting in its queue if it has one; false when rejected. */
  private enterBulkhead(): Promise<boolean> {
    const entry = this.bulkhead.enter(this.node.now());
    if (entry.kind === 'entered') return Promise.resolve(true);
    if (entry.kind === 'rejected') return Promise.resolve(false);
    const admitted = new Promise<boolean>((resolve) => this.waiting.set(entry.ticket, resolve));
    this.expiryTimer ??= this.node.after(this.config.bulkhead.queue_wait_ms, () => this.expireWaits());
    return admitted;
  }

  private leaveBulkhead(now_ms: number): void {
    for (const ticket of this.bulkhead.leave(now_ms)) this.settleWait(ticket, true);
  }

  /** Rejects the waits that ran out, and looks again when the next one may have. */
  private expireWaits(): void {
    this.expiryTimer = null;
    for (const ticket of this.bulkhead.expire(this.node.now())) this.settleWait(ticket, false);
    if (this.waiting.size > 0) this.expiryTimer = this.node.after(Math.max(1, Math.ceil(this.config.bulkhead.queue_wait_ms / 4)), () => this.expireWaits());
  }

  private settleWait(ticket: number, admitted: boolean): void {
    const resolve = this.waiting.get(ticket);
    this.waiting.delete(ticket);
    resolve?.(admitted);
  }

  /** The breaker's transitions since the last look: a note each for the event log, and a state report at once. */
  private transitions(): void {
    const transitions = this.breaker.drainTransitions();
    for (const transition of transitions) this.node.note(transition.text);
    if (transitions.length > 0) this.reportState(false);
  }

  private report(): void {
    this.breaker.state(this.node.now());
    this.transitions();
    this.reportState(true);
  }

  /** The state report; `interval` ends the rates' interval (the once-a-second report). */
  private reportState(interval: boolean): void {
    const now = this.node.now();
    const state = this.breaker.state(now);
    const window = this.breaker.snapshot(now);
    const fields: Record<string, string | number | null> = { role: 'service', breaker: state, breaker_for_s: Math.floor((now - this.breaker.since_ms()) / 1000), error_pct: Math.round(window.failure_pct), in_flight: this.bulkhead.in_use };
    if (interval) {
      const c = this.counts;
      const per_s = (n: number) => Math.round((n * 1000) / state_report_interval_ms);
      const sorted = [...c.latencies_ms].sort((a, b) => a - b);
      Object.assign(fields, {
        req_per_s: per_s(c.requests),
        short_per_s: per_s(c.short),
        rejected_per_s: per_s(c.rejected),
        fallback_per_s: per_s(c.fallback),
        dep_calls_per_s: per_s(c.dep_calls),
        retries_per_s: per_s(c.retries),
        p50_ms: quantile(sorted, 0.5),
        p99_ms: quantile(sorted, 0.99),
      });
      this.counts = emptyCounts();
    }
    this.node.reportState(fields);
  }
}

/** Starts a service on this process's stdio, calling d1 or redis1 as the cluster's options say. */
export function runService(): void {
  const node = new Node();
  const options = readBreakerOptions(process.env);
  const planted_bug = readBreakerPlantedBug(process.env);
  node.onInit(() => {
    const dependency = options.dependency === 'redis' ? redisDependency(node) : dslabDependency(node);
    new BreakerService(node, options.resilience, dependency, planted_bug).start();
  });
  node.run();
}

// Run as a group's program; imported (by main.ts, the tests), it only provides the service.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) runService();
