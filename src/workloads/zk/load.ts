/**
 * `dslab zk load`: an open-loop znode workload. Each client holds a session of its own (ZkClient over
 * the supervisor's transport) and runs one call at a time; calls are offered at a fixed rate whatever
 * the latency, each to an idle client. The calls are a mix of create, set_data and delete (with and
 * without a version condition) and get_data, exists and get_children on a few znodes under a parent
 * made fresh for the run, so the checker may take each to start absent. Every call goes to the
 * history (history.ts) with its session, server, outcome (ok; fail with ZooKeeper's error name; unknown
 * when it may or may not have happened) and the stat it returned.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { LoadLegend } from '../../lib/load-stats.js';
import { answered_kinds, emptyTally, RecentLatencies, summarizeLoad, type LoadStats, type OutcomeKind } from '../../lib/load-stats.js';
import { history_header_type } from '../../lib/plugin.js';
import { errorMessage, UserError } from '../../lib/util/errors.js';
import type { Rng } from '../../lib/util/prng.js';
import { type Stat, ZkClient, ZkClientError } from '../../lib/zk/client.js';
import type { ZkHost } from './host.js';
import { type HistoryStat, zk_history_workload, type ZkFunction } from './history.js';
import { hostTransport } from './session-table.js';

/** A load's sessions ask for this timeout: long enough to ride out a leader's failover. */
export const zk_load_session_timeout_ms = 10_000;
export const zk_load_clients_max = 50;
export const zk_load_paths_max = 100;
export const zk_load_rate_per_s_max = 10_000;
export const zk_load_rate_per_s_min = 0.1;
/** How long opening the sessions and creating the parent may keep retrying through faults. */
export const zk_load_setup_ms_max = 30_000;
/** Offered calls waiting for an idle client; past this they are skipped, not queued. */
export const zk_load_queue_max = 10_000;
/** Latency samples kept for percentiles (the first ones; enough for a run of minutes). */
export const zk_latency_samples_max = 200_000;
/** How often the scheduler wakes to offer the calls that are due. */
const tick_interval_ms = 5;
/** Random bytes in a run's parent znode name: two runs never share one. */
const fresh_parent_random_bytes = 4;

/** What the summary's columns mean for znode calls. */
export const zk_load_legend: LoadLegend = {
  expected: 'NOT FOUND (NoNode) and MISMATCHED (NodeExists, BadVersion, NotEmpty) are definite answers a correct ensemble gives.',
  failures: 'Failures: FAILED got another ZooKeeper error (it did not take effect); UNKNOWN lost its server with the call in flight (a write may or may not have taken effect).',
};

export interface ZkLoadOptions {
  clients: number;
  rate_per_s: number;
  duration_ms: number;
  /** Znodes under the run's parent: p0 … p(N-1). */
  paths: number;
  /** Absolute path of the JSONL history, or null. */
  history_path: string | null;
}

/** Relative weights of the calls. */
const mix: ReadonlyArray<[ZkFunction, number]> = [
  ['create', 2],
  ['set_data', 3],
  ['delete', 1],
  ['get_data', 3],
  ['exists', 1],
  ['get_children', 1],
];
const mix_total = mix.reduce((sum, [, w]) => sum + w, 0);

interface Call {
  f: ZkFunction;
  path: string;
  data?: string;
  version?: number;
}

function historyStat(stat: Stat): HistoryStat {
  return { czxid: stat.czxid, mzxid: stat.mzxid, pzxid: stat.pzxid, version: stat.version, cversion: stat.cversion, numChildren: stat.numChildren };
}

/** What an outcome means to someone running a load (lib/load-stats.ts). */
function outcomeKind(outcome: 'ok' | 'fail' | 'unknown', error: string | undefined): OutcomeKind {
  if (outcome !== 'fail') return outcome;
  if (error === 'NoNode') return 'not_found';
  if (error === 'NodeExists' || error === 'BadVersion' || error === 'NotEmpty') return 'mismatched';
  return 'fail';
}

export class ZkLoad {
  private readonly clients: ZkClient[] = [];
  private readonly client_ids: string[] = [];
  private readonly idle: number[] = [];
  private readonly queue: Call[] = [];
  private readonly latencies: number[] = [];
  /** Latencies of the operations answered lately, for the progress figures' latency now. */
  private readonly recent = new RecentLatencies();
  /** The version each path was last seen at, for versioned set_data and delete. */
  private readonly seen_version = new Map<string, number>();
  private next_data = 1;
  /** Sessions opened again after one expired. */
  sessions_reopened = 0;
  private history: WriteStream | null = null;
  private timer: NodeJS.Timeout | null = null;
  private started_at = 0;
  private in_flight = 0;
  private stopping = false;
  private finished = false;
  private resolve_done!: (stats: LoadStats) => void;
  readonly done: Promise<LoadStats>;
  readonly stats: LoadStats = { offered: 0, completed: 0, ...emptyTally(), skipped: 0, elapsed_ms: 0, throughput_per_s: 0, latency_ms: null, by_function: {} };
  /** The run's fresh parent znode, e.g. /zl-3f9a0c12. */
  readonly parent = `/zl-${randomBytes(fresh_parent_random_bytes).toString('hex')}`;

  constructor(
    private readonly host: ZkHost,
    readonly options: ZkLoadOptions,
    private readonly rng: Rng,
  ) {
    this.done = new Promise((resolve) => (this.resolve_done = resolve));
    if (options.history_path) {
      let fd: number;
      try {
        fd = openSync(options.history_path, 'w');
      } catch (error) {
        throw new UserError(`cannot write the history to ${options.history_path}: ${errorMessage(error)}`);
      }
      this.history = createWriteStream(options.history_path, { fd });
      this.history.on('error', (error) => (this.stats.history_error ??= errorMessage(error)));
      this.history.write(JSON.stringify({ type: history_header_type, workload: zk_history_workload }) + '\n');
      this.history.write(JSON.stringify({ type: 'znodes', parent: this.parent, paths: this.paths(), fresh: true }) + '\n');
    }
  }

  paths(): string[] {
    return Array.from({ length: this.options.paths }, (_, i) => `${this.parent}/p${i}`);
  }

  /** Opens the sessions and creates the parent; then offers calls until the duration is over. */
  async start(): Promise<void> {
    try {
      for (let i = 0; i < this.options.clients; i++) {
        const id = this.host.takeClientId();
        this.client_ids.push(id);
        const client = await ZkClient.connect(hostTransport(this.host, id), this.host.servers, { timeout_ms: zk_load_session_timeout_ms, first: this.host.servers[i % this.host.servers.length], random: () => this.rng.next() });
        this.clients.push(client);
        this.idle.push(i);
      }
      await this.createParent();
    } catch (error) {
      await this.close();
      this.history?.destroy();
      throw new UserError(`zk load: could not set up: ${error instanceof ZkClientError ? `${error.name_zk}: ${error.message}` : errorMessage(error)}`);
    }
    this.started_at = performance.now();
    this.timer = setInterval(() => this.offerDue(), tick_interval_ms);
  }

  /** The parent, through faults: a create whose answer was lost is tried again, and NodeExists then means it was applied (the name is this run's own). */
  private async createParent(): Promise<void> {
    const deadline = performance.now() + zk_load_setup_ms_max;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.clients[attempt % this.clients.length]!.create(this.parent, '');
        return;
      } catch (error) {
        if (error instanceof ZkClientError && error.name_zk === 'NodeExists' && attempt > 0) return;
        const retry = error instanceof ZkClientError && (error.name_zk === 'ConnectionLoss' || error.name_zk === 'SessionExpired');
        if (!retry || performance.now() > deadline) throw error;
        if (error.name_zk === 'SessionExpired') await this.session(attempt % this.clients.length);
      }
    }
  }

  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    if (!this.stats.elapsed_ms) this.stats.elapsed_ms = this.started_at ? performance.now() - this.started_at : 0;
    if (this.timer) clearInterval(this.timer);
    this.queue.length = 0;
    this.maybeFinish();
  }

  summary(): LoadStats {
    const summary = summarizeLoad(this.stats, this.latencies, this.stopping ? this.stats.elapsed_ms : performance.now() - this.started_at);
    return { ...summary, recent_latency_ms: this.recent.percentiles(performance.timeOrigin + performance.now()) };
  }

  private offerDue(): void {
    const elapsed = performance.now() - this.started_at;
    if (elapsed >= this.options.duration_ms) {
      this.stats.elapsed_ms = elapsed;
      this.stop();
      return;
    }
    const target = Math.floor((elapsed / 1000) * this.options.rate_per_s);
    while (this.stats.offered < target) {
      this.stats.offered++;
      if (this.queue.length >= zk_load_queue_max) this.stats.skipped++;
      else this.queue.push(this.nextCall());
    }
    this.dispatch();
  }

  private dispatch(): void {
    // The longest idle client goes next, so every session takes part even when calls are quick.
    while (this.queue.length > 0 && this.idle.length > 0) void this.run(this.idle.shift()!, this.queue.shift()!);
  }

  private nextCall(): Call {
    const path = `${this.parent}/p${this.rng.int(this.options.paths)}`;
    let draw = this.rng.next() * mix_total;
    let f: ZkFunction = 'get_data';
    for (const [name, weight] of mix) {
      if (draw < weight) {
        f = name;
        break;
      }
      draw -= weight;
    }
    // Half the conditional writes name the version last seen (likely current), half any version.
    const version = () => (this.rng.next() < 0.5 ? (this.seen_version.get(path) ?? 0) : -1);
    switch (f) {
      case 'create':
        return { f, path, data: `d${this.next_data++}` };
      case 'set_data':
        return { f, path, data: `d${this.next_data++}`, version: version() };
      case 'delete':
        return { f, path, version: version() };
      case 'get_children':
        return { f, path: this.parent };
      default:
        return { f, path };
    }
  }

  /** A client whose session expired (the nemesis cut it off too long) opens a new one. */
  private async session(index: number): Promise<ZkClient> {
    const client = this.clients[index]!;
    if (client.state !== 'expired' && client.state !== 'closed') return client;
    await client.close().catch(() => undefined);
    const fresh = await ZkClient.connect(hostTransport(this.host, this.client_ids[index]!), this.host.servers, { timeout_ms: zk_load_session_timeout_ms, random: () => this.rng.next() });
    this.clients[index] = fresh;
    this.sessions_reopened++;
    return fresh;
  }

  private async run(index: number, call: Call): Promise<void> {
    this.in_flight++;
    let client: ZkClient;
    try {
      client = await this.session(index);
    } catch {
      // No session to run it on: it never started.
      this.in_flight--;
      this.record(call.f, 'fail', { client: this.client_ids[index], session: this.clients[index]!.session, f: call.f, path: call.path, error: 'SessionExpired' }, 0, 0, false);
      this.idle.push(index);
      if (!this.stopping) this.dispatch();
      this.maybeFinish();
      return;
    }
    const server = client.server;
    const call_ms = performance.timeOrigin + performance.now();
    const entry: Record<string, unknown> = { client: this.client_ids[index], session: client.session, server, f: call.f, path: call.path };
    if (call.data !== undefined) entry.data = call.data;
    if (call.version !== undefined) entry.version = call.version;
    let outcome: 'ok' | 'fail' | 'unknown' = 'ok';
    try {
      switch (call.f) {
        case 'create':
          entry.stat = historyStat((await client.create(call.path, call.data)).stat);
          break;
        case 'set_data':
          entry.stat = historyStat(await client.setData(call.path, call.data!, call.version));
          break;
        case 'delete':
          await client.delete(call.path, call.version);
          break;
        case 'get_data': {
          const read = await client.getData(call.path);
          entry.data = read.data;
          entry.stat = historyStat(read.stat);
          break;
        }
        case 'exists': {
          const stat = await client.exists(call.path);
          entry.stat = stat === null ? null : historyStat(stat);
          break;
        }
        case 'get_children': {
          const read = await client.getChildrenAndStat(call.path);
          entry.children = read.children;
          entry.stat = historyStat(read.stat);
          break;
        }
      }
    } catch (error) {
      if (error instanceof ZkClientError && error.definite) {
        outcome = 'fail';
        entry.error = error.name_zk;
      } else {
        outcome = 'unknown';
        if (error instanceof ZkClientError) entry.error = error.name_zk;
      }
    }
    const return_ms = performance.timeOrigin + performance.now();
    this.in_flight--;
    const stat = entry.stat as HistoryStat | null | undefined;
    if (stat) this.seen_version.set(call.path, stat.version);
    else if (outcome === 'fail' && entry.error === 'NoNode') this.seen_version.delete(call.path);
    this.record(call.f, outcome, entry, call_ms, return_ms);
    this.idle.push(index);
    if (!this.stopping) this.dispatch();
    this.maybeFinish();
  }

  private record(f: ZkFunction, outcome: 'ok' | 'fail' | 'unknown', entry: Record<string, unknown>, call_ms: number, return_ms: number, started = true): void {
    const kind = outcomeKind(outcome, entry.error as string | undefined);
    this.stats.completed++;
    this.stats[kind]++;
    (this.stats.by_function[f] ??= emptyTally())[kind]++;
    if (answered_kinds.has(kind) && this.latencies.length < zk_latency_samples_max) this.latencies.push(return_ms - call_ms);
    if (answered_kinds.has(kind)) this.recent.add(return_ms, return_ms - call_ms);
    if (started && this.history && !this.history.destroyed) {
      const round3 = (ms: number) => Math.round(ms * 1000) / 1000;
      this.history.write(JSON.stringify({ ...entry, call_ms: round3(call_ms), return_ms: outcome === 'unknown' ? null : round3(return_ms), outcome }) + '\n');
    }
  }

  private async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close().catch(() => undefined)));
    for (const id of this.client_ids) this.host.releaseClientId(id);
    this.client_ids.length = 0;
  }

  private maybeFinish(): void {
    if (!this.stopping || this.in_flight > 0 || this.finished) return;
    this.finished = true;
    void this.close().then(() => {
      if (this.history && !this.history.destroyed) this.history.end(() => this.resolve_done(this.summary()));
      else this.resolve_done(this.summary());
    });
  }
}
