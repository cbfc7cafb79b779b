// Reads a breaker cluster's record from its trace and options (the checker's input). Reading only:
// it judges nothing.
/**
 * The breaker checker's record, read from what the router saw: a cluster's trace.jsonl (every
 * message with the router's clock) and its options (cluster.json). The checker judges this record,
 * not what the services say of themselves.
 *
 * Requests are client `call`s to a service matched to the service's reply; calls are a service's
 * `work` to the dependency matched to the dependency's reply; a reply is matched to its request by
 * (requester, answerer, msg_id = in_reply_to), in whatever order replies come. The trace is read as
 * a stream, and what is kept is bounded (trace_read_entries_max, trace_read_pending_max).
 *
 * Times are a service's view of its own traffic: a message into a service (a client's call, the
 * dependency's answer) counts from when its first copy arrived (the router's time plus the copy's
 * delay, which the trace records); what a service sends (its calls, its replies, its state reports)
 * counts from when the router took it, which is when the service sent it.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readClusterInfo, type ClusterInfo } from '../../lib/cluster/paths.js';
import { firstArrivalMs, scanTraceFrom, type TraceRecord } from '../../lib/report/trace-file.js';
import { UserError } from '../../lib/util/errors.js';
import { resolveResilienceConfig, type BreakerState, type ResilienceConfig } from './core/index.js';
import type { BreakerRecord, CallRecord, FaultRecord, RequestOutcome, RequestRecord, StateRecord } from './record.js';

/** What became of a client's request, as the service's reply says (`outcome`), or timeout without one. */
export const breaker_outcomes = ['ok', 'fallback', 'failed', 'short_circuited', 'rejected', 'bad_request', 'timeout'] as const satisfies readonly RequestOutcome[];
export type BreakerOutcome = RequestOutcome;
const outcome_words: ReadonlySet<string> = new Set(breaker_outcomes);

/**
 * A reply's outcome: its `outcome` field; a reply without one (or with a word not in the spec) is ok
 * when it is a call_ok and failed when it is an error.
 */
export function replyOutcome(body: { type: string; outcome?: unknown }): BreakerOutcome {
  if (typeof body.outcome === 'string' && outcome_words.has(body.outcome) && body.outcome !== 'timeout') return body.outcome as BreakerOutcome;
  return body.type === 'call_ok' ? 'ok' : 'failed';
}

/** Dependency errors that are the request's fault, not the dependency's: a bad request (error 12). */
const bad_request_code = 12;

/** The record as read from a trace: the checker's record, and what the reader's bound left out. */
export interface TracedBreakerRecord extends BreakerRecord {
  /** Entries past trace_read_entries_max that were left out (a run too long to judge whole); absent when none were. */
  omitted?: { requests: number; calls: number; states: number };
}

/** Requests, calls and state reports kept at most each (about 100 bytes apiece): a run of minutes at 2,000 requests/s. */
export const trace_read_entries_max = 2_000_000;
/** Requests (and calls) awaiting a reply kept at most; past this the oldest is taken as never answered. */
export const trace_read_pending_max = 200_000;

/** Who is who in the cluster: its services and its dependency. */
export interface BreakerMembers {
  services: readonly string[];
  dependency: string;
}

/**
 * Builds the record from trace records fed in file order (push), then finish(); what it keeps is
 * bounded. Apart from reading files so the unit tests can feed it lines of their own.
 */
export class BreakerRecordBuilder {
  private readonly services: ReadonlySet<string>;
  private readonly requests: RequestRecord[] = [];
  private readonly calls: CallRecord[] = [];
  private readonly states: StateRecord[] = [];
  private readonly faults: FaultRecord[] = [];
  /** Unanswered requests and calls by (requester|answerer|msg_id), oldest first (a Map keeps insertion order). */
  private readonly pending_requests = new Map<string, RequestRecord>();
  private readonly pending_calls = new Map<string, CallRecord>();
  /**
   * Calls answered lately, by the same key, at most pending_max: a call the router duplicated is
   * answered once per copy, and a later answer may arrive first (a shorter delay).
   */
  private readonly answered_calls = new Map<string, CallRecord>();
  private readonly omitted = { requests: 0, calls: 0, states: 0 };
  private start_ms: number | null = null;
  private end_ms = 0;

  constructor(
    private readonly members: BreakerMembers,
    private readonly config: ResilienceConfig,
    /** The bounds (trace_read_entries_max, trace_read_pending_max; smaller in tests). */
    private readonly limits = { entries_max: trace_read_entries_max, pending_max: trace_read_pending_max },
  ) {
    this.services = new Set(members.services);
  }

  push(record: TraceRecord): void {
    const { t, fate, msg } = record;
    const arrived_ms = firstArrivalMs(record);
    this.start_ms ??= t;
    this.end_ms = Math.max(this.end_ms, arrived_ms);
    const body = msg.body;
    if (fate === 'state') {
      if (typeof body.breaker === 'string') this.keep(this.states, { node: msg.src, at_ms: t, breaker: body.breaker as BreakerState }, 'states');
      return;
    }
    // A message the router duplicated is one line with a delay per copy; a second line with the same
    // key (sent again under the same msg_id) is the same request or call, kept from its first line.
    if (body.type === 'call' && this.services.has(msg.dest)) {
      // The service's request began when the call reached it.
      this.sent(this.pending_requests, `${msg.src}|${msg.dest}|${String(body.msg_id)}`, { service: msg.dest, client: msg.src, sent_ms: arrived_ms, answered_ms: null, outcome: 'timeout' }, this.requests, 'requests');
    } else if (body.type === 'work' && this.services.has(msg.src) && msg.dest === this.members.dependency) {
      const attempt = typeof body.attempt === 'number' ? body.attempt : null;
      this.sent(this.pending_calls, `${msg.src}|${msg.dest}|${String(body.msg_id)}`, { service: msg.src, sent_ms: t, answered_ms: null, result: 'unanswered', attempt }, this.calls, 'calls');
    } else if (body.type === 'dslab_fail') {
      if (!fate.startsWith('dropped')) this.faults.push({ at_ms: arrived_ms, errors_pct: numberOr(body.errors_pct), latency_ms: numberOr(body.latency_ms), hang: body.hang === true });
    } else if (body.in_reply_to !== undefined && !fate.startsWith('dropped')) {
      // A reply the router dropped never reached its requester: the request stays unanswered.
      const key = `${msg.dest}|${msg.src}|${String(body.in_reply_to)}`;
      const request = this.services.has(msg.src) ? this.pending_requests.get(key) : undefined;
      if (request) {
        this.pending_requests.delete(key);
        request.answered_ms = t;
        request.outcome = replyOutcome(body);
        // How many calls the service made for it, when the reply says (the checker times short circuits by it).
        if (typeof body.attempts === 'number' && Number.isInteger(body.attempts) && body.attempts >= 0) request.attempts = body.attempts;
        return;
      }
      if (msg.src !== this.members.dependency) return;
      const call = this.pending_calls.get(key);
      if (call) {
        this.pending_calls.delete(key);
        if (this.answered_calls.size >= this.limits.pending_max) this.answered_calls.delete(this.answered_calls.keys().next().value!);
        this.answered_calls.set(key, call);
      }
      // The service took the first answer to reach it: a later line's copy may have come sooner.
      const answered = call ?? this.answered_calls.get(key);
      if (answered && (answered.answered_ms === null || arrived_ms < answered.answered_ms)) {
        answered.answered_ms = arrived_ms;
        answered.result = body.type === 'error' ? (body.code === bad_request_code ? 'ignored' : 'failure') : 'success';
      }
    }
  }

  finish(): TracedBreakerRecord {
    const record: TracedBreakerRecord = {
      config: this.config,
      services: [...this.members.services],
      dependency: this.members.dependency,
      requests: this.requests,
      calls: this.calls,
      states: this.states,
      faults: this.faults,
      start_ms: this.start_ms ?? 0,
      end_ms: this.end_ms,
    };
    if (this.omitted.requests + this.omitted.calls + this.omitted.states > 0) record.omitted = { ...this.omitted };
    return record;
  }

  private sent<T>(pending: Map<string, T>, key: string, entry: T, kept: T[], kind: 'requests' | 'calls'): void {
    if (pending.has(key)) return; // the same message again
    if (!this.keep(kept, entry, kind)) return;
    if (pending.size >= this.limits.pending_max) pending.delete(pending.keys().next().value!); // stays unanswered
    pending.set(key, entry);
  }

  private keep<T>(list: T[], entry: T, kind: keyof BreakerRecordBuilder['omitted']): boolean {
    if (list.length >= this.limits.entries_max) {
      this.omitted[kind]++;
      return false;
    }
    list.push(entry);
    return true;
  }
}

function numberOr(value: unknown, fallback = 0): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/** The services and the dependency of a breaker cluster's record (cluster.json); UserError for a cluster of another system. */
export function breakerMembers(info: ClusterInfo): BreakerMembers {
  if (info.system !== 'breaker') throw new UserError(`cluster ${info.name} runs ${info.system}, not breaker: start one with dslab up breaker`);
  const group = (name: string) => info.groups?.find((g) => g.name === name)?.nodes ?? [];
  const dependency = group('dependency')[0] ?? group('redis')[0];
  const services = group('services');
  if (dependency === undefined || services.length === 0) throw new UserError(`cluster ${info.name}'s record (cluster.json) lists no services and dependency`);
  return { services, dependency };
}

/** Reads a trace file (streamed; a cut last line is skipped) into the record. */
export function readBreakerTrace(trace_file: string, members: BreakerMembers, config: ResilienceConfig): TracedBreakerRecord {
  const builder = new BreakerRecordBuilder(members, config);
  scanTraceFrom(trace_file, -Infinity, (record) => {
    builder.push(record);
    return true;
  });
  return builder.finish();
}

/** The record of the cluster whose folder is `dir` (running or stopped): its cluster.json and trace.jsonl. */
export function readBreakerRecord(dir: string): TracedBreakerRecord {
  const info = readClusterInfo(path.join(dir, 'cluster.json'));
  if (!info) throw new UserError(`${dir} holds no cluster (no readable cluster.json)`);
  const members = breakerMembers(info);
  const trace = path.join(dir, 'trace.jsonl');
  if (!existsSync(trace)) throw new UserError(`${dir} holds no trace.jsonl: the cluster never routed a message`);
  return readBreakerTrace(trace, members, resolveResilienceConfig(info.options ?? {}));
}
