/**
 * `dslab breaker load`: an open-loop load on the breaker services. Requests `{type:"call", key,
 * bad?}` leave on schedule (--rate over --duration) whether or not earlier ones were answered, so an
 * overloaded or failing system shows as requests piling up, not as a client that politely slows
 * down. What may be in flight is bounded: past load_in_flight_max a request is counted as
 * dropped_by_load, never queued. Each settled request is recorded with its outcome (the reply's
 * `outcome`, or timeout) and latency, per service.
 */
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import type { ActionResult } from '../../lib/control/api.js';
import { client_timeout_ms_max, client_timeout_ms_min, run_duration_ms_max, run_duration_ms_min } from '../../lib/control/api.js';
import { emptyTally, latencyQuantiles, RecentLatencies, summarizeLoad, type LoadStats } from '../../lib/load-stats.js';
import { defineOperation, type ClientTransport, type WorkloadHost, type WorkloadRuntime } from '../../lib/plugin.js';
import type { MessageBody } from '../../lib/protocol/messages.js';
import { rangeClientId, workload_clients_max } from '../../lib/supervisor/client-ids.js';
import { IndefiniteError, UserError } from '../../lib/util/errors.js';
import { createRng, seed_max, type Rng } from '../../lib/util/prng.js';
import { formatDurationMs } from '../../lib/util/units.js';
import { breaker_outcomes, replyOutcome, type BreakerOutcome } from '../../systems/breaker/trace-read.js';

/** Requests sent and not yet settled at most; past this an offered request is dropped_by_load (the supervisor's own bound on client requests is 10,000). */
export const load_in_flight_max = 5000;
/** How long a request waits for its reply before it is recorded as timeout: longer than any service's call timeout with retries. */
export const load_request_timeout_ms_default = 10_000;
export const load_rate_per_s_min = 0.1;
export const load_rate_per_s_max = 20_000;
/** Keys named k0 … k99: the dependency does not care which, they only make requests tell apart in a trace. */
export const load_keys = 100;
/** Latency samples kept per outcome for the quantiles (the first ones; a run of minutes at 2,000/s). */
export const load_latency_samples_max = 500_000;
/** How often the scheduler wakes to send the requests that are due. */
const load_tick_ms = 5;
/** How often a running load reports its progress on the event stream. */
export const load_progress_interval_ms = 1000;

/** Why an offered request was not sent. */
export type NotSent = 'dropped_by_load' | 'refused';

export interface BreakerLoadOptions {
  rate_per_s: number;
  duration_ms: number;
  /** Percentage of requests marked bad (the dependency refuses them; they must not count against it). */
  bad_pct: number;
  /** The services, in the order requests go round them. */
  services: readonly string[];
  timeout_ms: number;
}

/** One service's figures. */
type Counts = Record<BreakerOutcome, number>;
const emptyCounts = (): Counts => Object.fromEntries(breaker_outcomes.map((o) => [o, 0])) as Counts;

/** The generic tally's kind of a breaker outcome (lib/load-stats.ts): only ok is ok; timeout is unknown; the rest failed one way or another. */
const generic_kind = (outcome: BreakerOutcome) => (outcome === 'ok' ? 'ok' : outcome === 'timeout' ? 'unknown' : 'fail');

/**
 * One run of the load. The transport is the supervisor's (requests through the router, so the
 * trace records them); the clock is performance.now().
 */
export class BreakerLoad {
  readonly done: Promise<LoadStats>;
  private resolve_done!: (stats: LoadStats) => void;
  private offered = 0;
  private sent = 0;
  private in_flight = 0;
  private readonly not_sent: Record<NotSent, number> = { dropped_by_load: 0, refused: 0 };
  private readonly counts = emptyCounts();
  private readonly by_service = new Map<string, Counts>();
  private readonly latencies = new Map<BreakerOutcome, number[]>(breaker_outcomes.map((o) => [o, []]));
  private readonly recent = new RecentLatencies();
  private readonly clients: string[];
  private timer: NodeJS.Timeout | null = null;
  private started_at = 0;
  private elapsed_ms = 0;
  private stopping = false;
  private finished = false;

  constructor(
    private readonly transport: Pick<ClientTransport, 'request'>,
    readonly options: BreakerLoadOptions,
    private readonly rng: Rng,
    /** The in-flight bound (load_in_flight_max; smaller in tests). */
    private readonly in_flight_max = load_in_flight_max,
  ) {
    this.done = new Promise((resolve) => (this.resolve_done = resolve));
    // One client per service, so a trace tells each service's traffic apart by its link too.
    this.clients = options.services.map((_, i) => rangeClientId('workload', i));
    for (const service of options.services) this.by_service.set(service, emptyCounts());
  }

  start(): void {
    this.started_at = performance.now();
    this.timer = setInterval(() => this.sendDue(), load_tick_ms);
    this.sendDue();
  }

  /** Stops sending; the requests in flight settle (answered or timed out) before `done`. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.elapsed_ms = Math.min(this.options.duration_ms, performance.now() - this.started_at);
    if (this.timer) clearInterval(this.timer);
    this.maybeFinish();
  }

  private sendDue(): void {
    const elapsed = performance.now() - this.started_at;
    const until = Math.min(elapsed, this.options.duration_ms);
    // The schedule: request i leaves at i / rate (i from 0, rate × duration of them), whatever became of the earlier ones.
    const total = Math.ceil((this.options.duration_ms / 1000) * this.options.rate_per_s);
    const due = Math.min(total, Math.floor((until / 1000) * this.options.rate_per_s) + 1);
    while (this.offered < due && !this.stopping) this.offer();
    if (elapsed >= this.options.duration_ms) this.stop();
  }

  private offer(): void {
    const index = this.offered++;
    if (this.in_flight >= this.in_flight_max) {
      this.not_sent.dropped_by_load++;
      return;
    }
    const which = index % this.options.services.length;
    const service = this.options.services[which]!;
    const body: MessageBody = { type: 'call', key: `k${index % load_keys}` };
    if (this.options.bad_pct > 0 && this.rng.next() * 100 < this.options.bad_pct) body.bad = true;
    const sent_ms = performance.now();
    this.in_flight++;
    this.transport.request(this.clients[which]!, service, body, this.options.timeout_ms).then(
      (reply) => this.settle(service, replyOutcome(reply), performance.now() - sent_ms, true),
      (error: unknown) => {
        if (error instanceof IndefiniteError) this.settle(service, 'timeout', performance.now() - sent_ms, true);
        // Refused before it left (the service is down, or the supervisor holds too many requests): never sent.
        else this.settle(service, null, 0, false);
      },
    );
  }

  private settle(service: string, outcome: BreakerOutcome | null, latency_ms: number, sent: boolean): void {
    this.in_flight--;
    if (!sent || outcome === null) this.not_sent.refused++;
    else {
      this.sent++;
      this.counts[outcome]++;
      this.by_service.get(service)![outcome]++;
      const samples = this.latencies.get(outcome)!;
      if (samples.length < load_latency_samples_max) samples.push(latency_ms);
      if (outcome !== 'timeout') this.recent.add(performance.now(), latency_ms);
    }
    this.maybeFinish();
  }

  private maybeFinish(): void {
    if (!this.stopping || this.in_flight > 0 || this.finished) return;
    this.finished = true;
    this.resolve_done(this.summary());
  }

  /** The figures so far (the final ones once `done`). */
  summary(): LoadStats {
    const elapsed_ms = this.stopping ? this.elapsed_ms : performance.now() - this.started_at;
    const tally = emptyTally();
    for (const outcome of breaker_outcomes) tally[generic_kind(outcome)] += this.counts[outcome];
    const latency_ms: Record<string, { p50: number; p99: number; max: number }> = {};
    const answered: number[] = [];
    for (const [outcome, samples] of this.latencies) {
      const quantiles = latencyQuantiles(samples);
      if (quantiles) latency_ms[outcome] = quantiles;
      if (outcome !== 'timeout') for (const sample of samples) answered.push(sample);
    }
    const settled = this.sent;
    const stats: LoadStats = {
      offered: this.offered,
      completed: settled,
      ...tally,
      skipped: this.not_sent.dropped_by_load,
      elapsed_ms: 0,
      throughput_per_s: 0,
      latency_ms: null,
      by_function: { call: tally },
      outcomes: {
        // Sent = settled plus those still in flight.
        sent: settled + this.in_flight,
        sent_per_s: elapsed_ms > 0 ? Math.round(((settled + this.in_flight) / elapsed_ms) * 10_000) / 10 : 0,
        not_sent: { ...this.not_sent },
        counts: { ...this.counts },
        by_target: Object.fromEntries([...this.by_service].map(([service, counts]) => [service, { ...counts }])),
        latency_ms,
      },
    };
    const summary = summarizeLoad(stats, answered, elapsed_ms);
    return this.stopping ? summary : { ...summary, recent_latency_ms: this.recent.percentiles(performance.now()) };
  }
}

export const breaker_operation_args = {
  load: {
    rate_per_s: z.number().min(load_rate_per_s_min).max(load_rate_per_s_max),
    duration_ms: z.number().int().min(run_duration_ms_min).max(run_duration_ms_max),
    bad_pct: z.number().min(0).max(100).default(0),
    /** The services to load, in turn; absent: every service. */
    services: z.array(z.string()).min(1).max(workload_clients_max).optional(),
    timeout_ms: z.number().int().min(client_timeout_ms_min).max(client_timeout_ms_max).default(load_request_timeout_ms_default),
    seed: z.number().int().min(0).max(seed_max).optional(),
  },
  load_stop: {},
} as const;

/** The services a load goes to: those asked for (each must be one of the cluster's), or all of them. */
export function loadServices(asked: readonly string[] | undefined, servers: readonly string[]): string[] {
  if (servers.length === 0) throw new UserError('this cluster has no services to load');
  if (asked === undefined) return [...servers];
  const unknown = asked.find((s) => !servers.includes(s));
  if (unknown !== undefined) throw new UserError(`--services: ${unknown} is not a service of this cluster (services: ${servers.join(', ')})`);
  return [...new Set(asked)];
}

/** The breaker workload inside one supervisor: at most one running load. */
export function breakerRuntime(host: WorkloadHost): WorkloadRuntime {
  let load: BreakerLoad | null = null;

  const start = (args: z.infer<z.ZodObject<typeof breaker_operation_args.load>>): ActionResult => {
    if (load) throw new UserError('a breaker load is already running (stop it with Ctrl-C in its terminal)');
    const services = loadServices(args.services, host.servers);
    const started = new BreakerLoad(host.transport, { rate_per_s: args.rate_per_s, duration_ms: args.duration_ms, bad_pct: args.bad_pct, services, timeout_ms: args.timeout_ms }, createRng(args.seed ?? host.rng.int(2 ** 31)));
    const options = { clients: services.length, rate_per_s: args.rate_per_s, duration_ms: args.duration_ms, keys: load_keys, history_path: null };
    load = started;
    const progress = setInterval(() => host.emit({ type: 'load', phase: 'progress', stats: started.summary(), options }), load_progress_interval_ms);
    void started.done.then((stats) => {
      clearInterval(progress);
      load = null;
      host.emit({ type: 'load', phase: 'done', stats, options });
    });
    started.start();
    host.emit({ type: 'load', phase: 'start', stats: started.summary(), options });
    const bad = args.bad_pct > 0 ? `, ${args.bad_pct}% bad` : '';
    return { description: `breaker load started: ${args.rate_per_s} requests/s for ${formatDurationMs(args.duration_ms)} to ${services.join(', ')}${bad}` };
  };

  return {
    operations: {
      load: defineOperation({ args: breaker_operation_args.load, run: start }),
      load_stop: defineOperation({
        args: breaker_operation_args.load_stop,
        run() {
          if (!load) throw new UserError('no breaker load is running');
          load.stop();
          return { description: 'breaker load stopping; requests in flight settle first' };
        },
      }),
    },
    stop() {
      load?.stop();
    },
  };
}
