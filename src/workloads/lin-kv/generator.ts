import { randomBytes } from 'node:crypto';
import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { workload_clients_max } from '../../lib/supervisor/client-ids.js';
import { answered_kinds, emptyTally, RecentLatencies, summarizeLoad, type LoadStats } from '../../lib/load-stats.js';
import { errorMessage, UserError } from '../../lib/util/errors.js';
import type { Rng } from '../../lib/util/prng.js';
import { classifyOutcome, type KvClient, type KvOperation, type KvOutcome } from './client.js';

/**
 * An open-loop key-value workload: operations are offered at a fixed rate
 * whatever the latency, each handed to an idle client (a client runs one
 * operation at a time). Every completed operation goes to the history file
 * in the format the linearizability checker reads.
 *
 * Keys are named <prefix>0 … <prefix>N-1. Without a prefix from the caller each
 * run makes up a new one, so its keys did not exist before (a cluster keeps its
 * data between runs) and the history says so: it begins with lines declaring the
 * keys fresh, which lets the checker assume each starts absent. Keys under a
 * prefix the caller gives may hold anything; the history declares them not fresh.
 */

export const load_clients_max = workload_clients_max;
export const load_rate_per_s_max = 100_000;
/** Offered operations waiting for an idle client; past this they are counted as skipped, not queued. */
export const load_queue_max = 10_000;
/** Latency samples kept for percentiles (reservoir beyond this). */
export const latency_samples_max = 200_000;
export const load_op_timeout_ms = 2000;
/** How often the scheduler wakes to offer the operations that are due. */
const tick_interval_ms = 5;
/** Longest key prefix accepted, in characters. */
export const key_prefix_chars_max = 64;
/** Random bytes in a generated key prefix: enough that two runs never pick the same one. */
const fresh_prefix_random_bytes = 4;
/** Keys declared per history line, so lines stay far below the checker's line limit. */
export const history_declared_keys_per_line = 200;

export interface LoadOptions {
  clients: number;
  rate_per_s: number;
  duration_ms: number;
  keys: number;
  /** Keys are named this plus 0, 1, …; null for a fresh prefix made up for this run. */
  key_prefix: string | null;
  /** Absolute path of the JSONL history, or null for none. */
  history_path: string | null;
  /** Relative weights of each operation; default read, write and cas equally. */
  mix?: OperationMix;
}

export interface OperationMix {
  read: number;
  write: number;
  cas: number;
}

export const mix_default: OperationMix = { read: 1, write: 1, cas: 1 };

/** A prefix no earlier run used, e.g. "r3f9a0c12-k". */
export function freshKeyPrefix(): string {
  return `r${randomBytes(fresh_prefix_random_bytes).toString('hex')}-k`;
}

export function validateKeyPrefix(prefix: string): void {
  if (prefix === '') throw new UserError('bad key prefix: it is empty (leave it out for fresh keys)');
  if (prefix.length > key_prefix_chars_max) throw new UserError(`bad key prefix: ${prefix.length} characters, at most ${key_prefix_chars_max}`);
}

export class Workload {
  /** Idle clients, the longest idle first: operations go round all clients (and so all the nodes they are bound to), not to whichever finished last. */
  private readonly idle: KvClient[];
  private readonly queue: KvOperation[] = [];
  private readonly latencies: number[] = [];
  /** Latencies of the operations answered lately, for the progress figures' latency now. */
  private readonly recent = new RecentLatencies();
  private latencySeen = 0;
  private nextValue = 1;
  private readonly lastSeen = new Map<string, number | null>();
  private readonly history: WriteStream | null;
  private timer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  private offeredTarget = 0;
  private inFlight = 0;
  private stopping = false;
  private finished = false;
  private resolveDone!: (stats: LoadStats) => void;
  readonly done: Promise<LoadStats>;
  readonly stats: LoadStats = { offered: 0, completed: 0, ...emptyTally(), skipped: 0, elapsed_ms: 0, throughput_per_s: 0, latency_ms: null, by_function: {} };
  /** Keys are this plus 0 … keys-1. */
  readonly key_prefix: string;
  /** Whether the keys are new: the prefix was made up for this run. */
  readonly keys_fresh: boolean;

  constructor(
    clients: KvClient[],
    readonly options: LoadOptions,
    private readonly rng: Rng,
    private readonly onResult: (op: KvOperation, outcome: KvOutcome, latency_ms: number) => void = () => undefined,
  ) {
    this.idle = [...clients];
    if (options.key_prefix !== null) validateKeyPrefix(options.key_prefix);
    this.key_prefix = options.key_prefix ?? freshKeyPrefix();
    this.keys_fresh = options.key_prefix === null;
    this.history = options.history_path ? openHistory(options.history_path) : null;
    if (this.history) {
      // A write error (disk full, say) ends the history but not the load, and must not take down the supervisor.
      this.history.on('error', (error) => (this.stats.history_error ??= errorMessage(error)));
      this.declareKeys(this.history);
    }
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  keyName(index: number): string {
    return `${this.key_prefix}${index}`;
  }

  /** The history's first lines: the run's keys and whether they are fresh, for the checker. */
  private declareKeys(history: WriteStream): void {
    for (let first = 0; first < this.options.keys; first += history_declared_keys_per_line) {
      const count = Math.min(history_declared_keys_per_line, this.options.keys - first);
      const keys = Array.from({ length: count }, (_, offset) => this.keyName(first + offset));
      history.write(JSON.stringify({ type: 'keys', keys, fresh: this.keys_fresh }) + '\n');
    }
  }

  start(): void {
    this.startedAt = performance.now();
    this.timer = setInterval(() => this.offerDue(), tick_interval_ms);
  }

  /** Stops offering; operations in flight finish (bounded by their timeout). */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    if (!this.stats.elapsed_ms) this.stats.elapsed_ms = performance.now() - this.startedAt;
    if (this.timer) clearInterval(this.timer);
    this.queue.length = 0;
    this.maybeFinish();
  }

  summary(): LoadStats {
    const summary = summarizeLoad(this.stats, this.latencies, this.stopping ? this.stats.elapsed_ms : performance.now() - this.startedAt);
    return { ...summary, recent_latency_ms: this.recent.percentiles(performance.timeOrigin + performance.now()) };
  }

  private offerDue(): void {
    const elapsed = performance.now() - this.startedAt;
    if (elapsed >= this.options.duration_ms) {
      this.stats.elapsed_ms = elapsed;
      this.stop();
      return;
    }
    this.offeredTarget = Math.floor((elapsed / 1000) * this.options.rate_per_s);
    while (this.stats.offered < this.offeredTarget) {
      this.stats.offered++;
      if (this.queue.length >= load_queue_max) this.stats.skipped++;
      else this.queue.push(this.nextOperation());
    }
    this.dispatch();
  }

  private dispatch(): void {
    while (this.queue.length > 0 && this.idle.length > 0) {
      const client = this.idle.shift()!;
      const op = this.queue.shift()!;
      void this.run(client, op);
    }
  }

  private async run(client: KvClient, op: KvOperation): Promise<void> {
    this.inFlight++;
    const call_ms = performance.timeOrigin + performance.now();
    const outcome = await client.run(op, load_op_timeout_ms);
    const return_ms = performance.timeOrigin + performance.now();
    this.inFlight--;
    this.record(client.client, op, outcome, call_ms, return_ms);
    this.idle.push(client);
    if (!this.stopping) this.dispatch();
    this.maybeFinish();
  }

  private record(client: string, op: KvOperation, outcome: KvOutcome, call_ms: number, return_ms: number): void {
    const latency = return_ms - call_ms;
    const kind = classifyOutcome(op, outcome);
    this.stats.completed++;
    this.stats[kind]++;
    (this.stats.by_function[op.f] ??= emptyTally())[kind]++;
    if (answered_kinds.has(kind)) {
      this.recent.add(return_ms, latency);
      this.latencySeen++;
      if (this.latencies.length < latency_samples_max) this.latencies.push(latency);
      else {
        const slot = this.rng.int(this.latencySeen);
        if (slot < latency_samples_max) this.latencies[slot] = latency;
      }
    }
    if (op.f === 'read' && outcome.outcome === 'ok') this.lastSeen.set(String(op.key), (outcome.result as number | null) ?? null);
    this.onResult(op, outcome, latency);
    if (this.history && !this.history.destroyed) {
      const entry: Record<string, unknown> = { client, f: op.f, key: String(op.key), call_ms: round3(call_ms), return_ms: outcome.outcome === 'unknown' ? null : round3(return_ms), outcome: outcome.outcome };
      if (op.f === 'write') entry.value = op.value;
      if (op.f === 'cas') Object.assign(entry, { from: op.from, to: op.to });
      if (op.f === 'read' && outcome.outcome === 'ok') entry.result = outcome.result ?? null;
      if (outcome.error) entry.error = outcome.error.code;
      if (outcome.node) entry.node = outcome.node;
      this.history.write(JSON.stringify(entry) + '\n');
    }
  }

  /** Reads, writes and cas by the mix's weights; write values are unique so the checker can tell them apart. */
  private nextOperation(): KvOperation {
    const key = this.keyName(this.rng.int(this.options.keys));
    const mix = this.options.mix ?? mix_default;
    const draw = this.rng.next() * (mix.read + mix.write + mix.cas);
    if (draw < mix.read) return { f: 'read', key };
    if (draw < mix.read + mix.write) return { f: 'write', key, value: this.nextValue++ };
    // cas from the value last read (a likely hit) or a recent value.
    const from = this.lastSeen.get(key) ?? Math.max(1, this.nextValue - 1 - this.rng.int(5));
    return { f: 'cas', key, from, to: this.nextValue++ };
  }

  private maybeFinish(): void {
    if (!this.stopping || this.inFlight > 0 || this.finished) return;
    this.finished = true;
    if (this.history && !this.history.destroyed) this.history.end(() => this.resolveDone(this.summary()));
    else this.resolveDone(this.summary());
  }
}

/** Opens (truncates) the history file now, so a bad path is refused before the load starts. */
function openHistory(file: string): WriteStream {
  let fd: number;
  try {
    fd = openSync(file, 'w');
  } catch (error) {
    throw new UserError(`cannot write the history to ${file}: ${errorMessage(error)}`);
  }
  return createWriteStream(file, { fd });
}

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
