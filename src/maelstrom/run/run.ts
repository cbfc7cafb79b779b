/**
 * One run of a Maelstrom workload on a running cluster, the way Maelstrom
 * runs it: clients bound to nodes (client i to node i mod n), one operation
 * at a time each, requests staggered at 1/rate across all clients, the
 * nemesis beside them, everything stopped at the time limit; then, for the
 * workloads with final reads, every fault healed, a wait for recovery, and one
 * final read per client. A client whose operation ended indeterminate is
 * replaced by a new one (a new client id), as Jepsen replaces its process.
 *
 * The runner only talks to the cluster through RunHost (a supervisor in this
 * process: `dslab test`'s own, or a grader test's), so the same run serves the
 * command and the labs.
 */
import type { ActionResult, ClusterEvent, ClusterStatus, ControlAction, LinkStatus, NewClusterEvent } from '../../lib/control/api.js';
import { emptyTally, RecentLatencies, summarizeLoad, type LoadStats } from '../../lib/load-stats.js';
import type { ClientTransport, HistoryFileCheck } from '../../lib/plugin.js';
import { rangeClientId, test_clients_max } from '../../lib/supervisor/client-ids.js';
import { errorMessage } from '../../lib/util/errors.js';
import { createRng, type Rng } from '../../lib/util/prng.js';
import { HistoryWriter } from '../../workloads/single-send/history.js';
import { default_consistency_models, default_max_txn_length, default_max_writes_per_key, type MaelstromWorkload, type TestFault } from '../options.js';
import { choosePartition } from '../partitions.js';
import { staggerGapMs } from '../stagger.js';
import { final_recovery_wait_s, rpcTimeoutMs } from '../timing.js';
import { driverFor, type DriverSettings, type WorkloadDriver } from './drivers.js';
import type { FinalPhaseContext } from './final-phase.js';
import { failurePoints } from './failures.js';
import { netStats } from './net-stats.js';
import type { FailurePoint, FaultSpan, NetStats, OperationStats, RunHistoryEntry } from './result.js';
import { availabilityOf, operationStats, timelineOf } from './stats.js';

/** What the runner needs of the cluster. */
export interface RunHost {
  transport: ClientTransport;
  apply(action: ControlAction, source?: 'cli' | 'nemesis'): Promise<ActionResult>;
  status(): ClusterStatus;
  events: { subscribe(listener: (event: ClusterEvent) => void): () => void; emit(event: NewClusterEvent): unknown };
}

export interface RunSettings {
  workload: MaelstromWorkload;
  /** The nodes clients are bound to, in Maelstrom's order. */
  nodes: readonly string[];
  concurrency: number;
  time_limit_s: number;
  rate_per_s: number;
  /** Mean network latency: lin-kv's clients wait ten of them. */
  latency_ms: number;
  nemesis: readonly TestFault[];
  nemesis_interval_s: number;
  key_count: number | null;
  /** The transactional workloads' generator and checker (Maelstrom's defaults when absent). */
  max_txn_length?: number;
  max_writes_per_key?: number;
  consistency_models?: readonly string[];
  seed: number;
  /** The wait between healing and the final reads (Maelstrom's 10 s). */
  recovery_wait_s?: number;
  history_file: string;
  /** Told each phase as it begins, in words ("healing every fault, then waiting 10 s"). */
  phase?: (line: string) => void;
}

export interface RunOutcome {
  entries: RunHistoryEntry[];
  started_at_ms: number;
  main_phase_end_ms: number;
  end_ms: number;
  check: HistoryFileCheck;
  net: NetStats;
  operations: OperationStats[];
  availability: number | null;
  timeline: ReturnType<typeof timelineOf>;
  faults: FaultSpan[];
  failures: FailurePoint[];
  /** What went wrong with the run itself (a fault that could not be applied, a history that could not be written). */
  problems: string[];
  /** The history file could not be checked: why. */
  check_error: string | null;
  /** The history file could not be written in full (the checker judged what was written): why. */
  history_error: string | null;
}

/** Operations kept in memory for the checkers, stats and report; past this the run stops issuing new ones. */
export const run_operations_max = 2_000_000;
/** How often the runner puts its running figures on the event stream (the dashboard's load line). */
export const progress_interval_ms = 1000;
/** Budget for the checker. */
export const check_timeout_ms = 60_000;
/** Latency samples the progress figures keep (the newest). */
const progress_latency_samples_max = 10_000;

/** A fault the nemesis started and has not stopped. */
interface ActiveFault {
  kind: TestFault;
  span: FaultSpan;
  /** The node killed or paused. */
  node?: string;
  /** A partition that cut no one: nothing to undo. */
  noop?: boolean;
}

/** Each link's counts since `before` (links absent then count from zero). */
export function linksSince(before: readonly LinkStatus[], after: readonly LinkStatus[]): LinkStatus[] {
  const earlier = new Map(before.map((link) => [link.link, link]));
  return after.map((link) => {
    const was = earlier.get(link.link);
    return was ? { link: link.link, delivered: link.delivered - was.delivered, dropped: link.dropped - was.dropped, duplicated: link.duplicated - was.duplicated } : link;
  });
}

export class MaelstromRun {
  private readonly driver: WorkloadDriver;
  private readonly rng: Rng;
  private readonly entries: RunHistoryEntry[] = [];
  private readonly faults: FaultSpan[] = [];
  private readonly problems: string[] = [];
  private readonly active = new Map<TestFault, ActiveFault>();
  /** The node each kill or pause from another terminal stopped: its restart or resume ends that span. */
  private readonly cli_stopped = new Map<FaultSpan, string>();
  private readonly history: HistoryWriter;
  private origin_ms = 0;
  private links_at_start: readonly LinkStatus[] = [];
  private main_phase_over = false;
  private next_client = 0;
  private progress: LoadStats = { ...emptyTally(), offered: 0, completed: 0, skipped: 0, elapsed_ms: 0, throughput_per_s: 0, latency_ms: null, by_function: {} };
  private latencies: number[] = [];
  /** Latencies of the operations answered lately, for the progress figures' latency now. */
  private readonly recent = new RecentLatencies();
  private stopped = false;
  /** Sleeps in progress (the clients' and the nemesis's), ended early by stop(). */
  private readonly wakers = new Set<() => void>();

  constructor(
    private readonly host: RunHost,
    private readonly settings: RunSettings,
  ) {
    const driver = driverFor(settings.workload);
    if (!driver) throw new Error(`dslab test does not run ${settings.workload} yet`);
    this.driver = driver;
    this.rng = createRng(settings.seed);
    this.history = new HistoryWriter(settings.history_file, settings.workload);
  }

  /** Ends the run early (Ctrl-C): the main phase stops at once, the final phase is skipped. */
  stop(): void {
    this.stopped = true;
    for (const wake of [...this.wakers]) wake();
  }

  async run(): Promise<RunOutcome> {
    const { settings } = this;
    const unsubscribe = this.host.events.subscribe((event) => this.onEvent(event));
    this.origin_ms = Date.now();
    // The run's own messages only: a lab's earlier steps (or init) are not this run's cost.
    this.links_at_start = this.host.status().links;
    const limit_ms = settings.time_limit_s * 1000;
    const timeout_ms = rpcTimeoutMs(settings.workload, settings.latency_ms);
    const ops = this.driver.operations(this.rng, this.driverSettings());
    const say = settings.phase ?? (() => {});
    say(settings.rate_per_s > 0 ? `running ${settings.concurrency} client${settings.concurrency === 1 ? '' : 's'} for ${settings.time_limit_s} s at about ${settings.rate_per_s} requests/s${settings.nemesis.length ? `, ${settings.nemesis.join(' and ')} about every ${settings.nemesis_interval_s} s` : ''}` : `running for ${settings.time_limit_s} s with no requests (--rate 0)`);
    this.emitLoad('start');
    const progressTimer = setInterval(() => this.emitLoad('progress'), progress_interval_ms);
    try {
      const nemesis = this.runNemesis(limit_ms);
      await this.runClients(ops, limit_ms, timeout_ms);
      this.main_phase_over = true;
      await nemesis;
      const main_phase_end_ms = Date.now() - this.origin_ms;
      if ((this.driver.final_operation || this.driver.final_phase) && !this.stopped) {
        const wait_s = settings.recovery_wait_s ?? final_recovery_wait_s;
        say(`time limit reached: healing every fault, waiting ${wait_s} s for recovery, then ${this.driver.final_phase ? 'the final phase' : 'one final read per client'}`);
        await this.healEverything();
        await this.sleep(wait_s * 1000);
        // kafka: the workload's own final phase (final-phase.ts); the others: one final read per client.
        if (!this.stopped && this.driver.final_phase) await this.driver.final_phase(this.finalPhaseContext(timeout_ms)).catch((error) => void this.problems.push(`the final phase: ${errorMessage(error)}`));
        else if (!this.stopped) await this.finalReads(this.driver.final_operation!, timeout_ms);
      } else {
        await this.healEverything();
      }
      const end_ms = Date.now() - this.origin_ms;
      await this.history.close();
      if (this.history.error) this.problems.push(`the history could not be written in full: ${this.history.error}`);
      const net = netStats(linksSince(this.links_at_start, this.host.status().links), this.entries.length);
      say(`checking ${this.entries.length} operations`);
      let check: HistoryFileCheck;
      let check_error: string | null = null;
      try {
        check = this.driver.check(settings.history_file, this.entries, check_timeout_ms, this.driverSettings());
      } catch (error) {
        check_error = errorMessage(error);
        check = { result: 'unknown', text: `the history could not be checked: ${check_error}`, details: {} };
      }
      return {
        entries: this.entries,
        started_at_ms: this.origin_ms,
        main_phase_end_ms,
        end_ms,
        check,
        net,
        operations: operationStats(this.entries),
        availability: availabilityOf(this.entries),
        timeline: timelineOf(this.entries, end_ms),
        faults: this.faults,
        failures: failurePoints(settings.workload, check, this.entries),
        problems: this.problems,
        check_error,
        history_error: this.history.error,
      };
    } finally {
      clearInterval(progressTimer);
      this.emitLoad('done');
      unsubscribe();
    }
  }

  // ---- clients ----------------------------------------------------------

  private driverSettings(): DriverSettings {
    const { settings } = this;
    return {
      nodes: settings.nodes,
      concurrency: settings.concurrency,
      key_count: settings.key_count,
      max_txn_length: settings.max_txn_length ?? default_max_txn_length,
      max_writes_per_key: settings.max_writes_per_key ?? default_max_writes_per_key,
      consistency_models: settings.consistency_models ?? default_consistency_models,
    };
  }

  /** A fresh client id, as Jepsen opens a new client for a new process. */
  private newClient(): string {
    return rangeClientId('test', this.next_client++ % test_clients_max);
  }

  /**
   * The main phase: one schedule of request times staggered at 1/rate for all clients together; each
   * request goes to a free client (waiting for one when all are busy, as Jepsen's generator does).
   */
  private async runClients(ops: { next(): { f: string; value?: unknown } }, limit_ms: number, timeout_ms: number): Promise<void> {
    const { settings } = this;
    const workers = Array.from({ length: settings.concurrency }, (_, index) => ({ index, client: this.newClient(), node: settings.nodes[index % settings.nodes.length]!, busy: null as Promise<void> | null }));
    const free: typeof workers = [...workers];
    let freed: (() => void) | null = null;
    const deadline = this.origin_ms + limit_ms;
    if (settings.rate_per_s <= 0) {
      await this.sleep(limit_ms);
      return;
    }
    const mean_gap_ms = 1000 / settings.rate_per_s;
    let next_at = this.origin_ms;
    while (!this.stopped && this.entries.length + workers.length < run_operations_max) {
      if (next_at >= deadline) break;
      const wait = next_at - Date.now();
      if (wait > 0) await this.sleep(wait);
      // Woken when a client frees (or by stop()); the timer goes with the wait, so none outlives the run.
      while (free.length === 0 && !this.stopped && Date.now() < deadline) await this.sleep(Math.max(1, deadline - Date.now()), (wake) => (freed = wake));
      if (this.stopped || Date.now() >= deadline) break;
      const worker = free.shift()!;
      const op = ops.next();
      this.progress.offered++;
      worker.busy = this.driver
        .perform(this.host.transport, worker.client, worker.node, op, timeout_ms, this.origin_ms, false)
        .then((entry) => {
          this.record(entry);
          // An indeterminate operation crashes Jepsen's process: the next one runs as a new client.
          if (entry.outcome === 'unknown') worker.client = this.newClient();
        })
        .catch((error) => void this.problems.push(`client ${worker.client}: ${errorMessage(error)}`))
        .finally(() => {
          worker.busy = null;
          free.push(worker);
          freed?.();
          freed = null;
        });
      next_at += staggerGapMs(mean_gap_ms, this.rng.next);
    }
    // Operations in flight finish (each within its timeout).
    await Promise.all(workers.map((w) => w.busy));
  }

  private async finalReads(op: { f: string; value?: unknown }, timeout_ms: number): Promise<void> {
    const { settings } = this;
    await Promise.all(
      Array.from({ length: settings.concurrency }, async (_, index) => {
        const client = this.newClient();
        try {
          this.progress.offered++;
          this.record(await this.driver.perform(this.host.transport, client, settings.nodes[index % settings.nodes.length]!, op, timeout_ms, this.origin_ms, true));
        } catch (error) {
          this.problems.push(`final read by ${client}: ${errorMessage(error)}`);
        }
      }),
    );
  }

  /** What a driver's final phase works with: fresh clients whose final operations are recorded like finalReads' (kafka). */
  private finalPhaseContext(timeout_ms: number): FinalPhaseContext {
    const { settings } = this;
    return {
      concurrency: settings.concurrency,
      nodes: settings.nodes,
      newClient: () => this.newClient(),
      perform: async (client, node, op) => {
        this.progress.offered++;
        const entry = await this.driver.perform(this.host.transport, client, node, op, timeout_ms, this.origin_ms, true);
        this.record(entry);
        return entry;
      },
      sleep: (ms) => this.sleep(ms),
      stopped: () => this.stopped,
      rng: this.rng,
    };
  }

  private record(entry: RunHistoryEntry): void {
    this.entries.push(entry);
    this.history.write(entry);
    const p = this.progress;
    p.completed++;
    const kind = entry.outcome === 'ok' ? 'ok' : entry.outcome === 'fail' ? 'fail' : 'unknown';
    p[kind]++;
    (p.by_function[entry.f] ??= emptyTally())[kind]++;
    if (entry.outcome === 'ok' && entry.return_ms !== null) {
      this.latencies.push(entry.return_ms - entry.call_ms);
      this.recent.add(entry.return_ms, entry.return_ms - entry.call_ms);
      if (this.latencies.length > progress_latency_samples_max) this.latencies.splice(0, this.latencies.length - progress_latency_samples_max);
    }
  }

  private emitLoad(phase: 'start' | 'progress' | 'done'): void {
    const elapsed = Date.now() - this.origin_ms;
    // Answer times are since the origin, as elapsed is.
    const stats = { ...summarizeLoad(this.progress, this.latencies, elapsed), recent_latency_ms: this.recent.percentiles(elapsed) };
    const { settings } = this;
    this.host.events.emit({ type: 'load', phase, stats, options: { clients: settings.concurrency, rate_per_s: settings.rate_per_s, duration_ms: settings.time_limit_s * 1000, keys: settings.key_count ?? 0, history_path: settings.history_file } });
  }

  // ---- the nemesis ------------------------------------------------------

  /**
   * Nemesis steps staggered at the interval through the main phase (the first at once, as Jepsen's
   * stagger starts): each picks one of the faults asked for and starts it, or stops it if it is on.
   */
  private async runNemesis(limit_ms: number): Promise<void> {
    const { settings } = this;
    if (settings.nemesis.length === 0) return;
    const deadline = this.origin_ms + limit_ms;
    let next_at = this.origin_ms;
    while (!this.stopped && !this.main_phase_over) {
      const wait = Math.min(next_at, deadline) - Date.now();
      if (wait > 0) await this.sleep(wait);
      if (this.stopped || this.main_phase_over || Date.now() >= deadline) return;
      const kind = this.rng.pick(settings.nemesis);
      if (this.active.has(kind)) await this.stopFault(kind);
      else await this.startFault(kind);
      next_at += staggerGapMs(settings.nemesis_interval_s * 1000, this.rng.next);
    }
  }

  private async startFault(kind: TestFault): Promise<void> {
    const nodes = this.settings.nodes;
    try {
      let result: ActionResult;
      let node: string | undefined;
      if (kind === 'partition') {
        const partition = choosePartition(nodes, this.rng);
        if (partition.spec !== 'majorities-ring' && partition.groups.length < 2) {
          // Jepsen's shape may cut no one (fewer than a third of 3 nodes is none): a nemesis step that does nothing, as there.
          const span: FaultSpan = { kind, description: `${partition.spec}: no node cut off (${nodes.length} node${nodes.length === 1 ? '' : 's'})`, start_ms: Date.now() - this.origin_ms, end_ms: null, source: 'nemesis' };
          this.faults.push(span);
          this.active.set(kind, { kind, span, noop: true });
          return;
        }
        result = await this.host.apply(partition.spec === 'majorities-ring' ? { type: 'partition', drops: partition.drops } : { type: 'partition', groups: partition.groups }, 'nemesis');
        result = { ...result, description: `${partition.spec}: ${result.description}` };
      } else {
        const up = new Set(this.host.transport.upNodes());
        const candidates = nodes.filter((n) => up.has(n));
        if (candidates.length === 0) return;
        node = this.rng.pick(candidates);
        result = await this.host.apply({ type: kind, node }, 'nemesis');
      }
      const span: FaultSpan = { kind, description: result.description, start_ms: Date.now() - this.origin_ms, end_ms: null, source: 'nemesis' };
      this.faults.push(span);
      this.active.set(kind, { kind, span, ...(node ? { node } : {}) });
    } catch (error) {
      this.problems.push(`the nemesis could not start a ${kind}: ${errorMessage(error)}`);
    }
  }

  private async stopFault(kind: TestFault): Promise<void> {
    const fault = this.active.get(kind);
    if (!fault) return;
    this.active.delete(kind);
    try {
      if (fault.noop) {
        // nothing was applied
      } else if (kind === 'partition') await this.host.apply({ type: 'heal' }, 'nemesis');
      else if (kind === 'kill') await this.host.apply({ type: 'restart', node: fault.node! }, 'nemesis');
      else await this.host.apply({ type: 'resume', node: fault.node! }, 'nemesis');
    } catch (error) {
      this.problems.push(`the nemesis could not end ${fault.span.description}: ${errorMessage(error)}`);
    }
    fault.span.end_ms = Date.now() - this.origin_ms;
  }

  /** Maelstrom's final generator: every fault the nemesis left on ends, and the network heals (faults from other terminals too). */
  private async healEverything(): Promise<void> {
    for (const kind of [...this.active.keys()]) await this.stopFault(kind);
    const status = this.host.status();
    const down = status.nodes.filter((n) => n.status === 'down').map((n) => n.id);
    const paused = status.nodes.filter((n) => n.status === 'paused').map((n) => n.id);
    try {
      if (status.faults.length > 0 || status.active_faults.partition) await this.host.apply({ type: 'heal' }, 'nemesis');
      for (const node of paused) await this.host.apply({ type: 'resume', node }, 'nemesis');
      for (const node of down) await this.host.apply({ type: 'restart', node }, 'nemesis');
    } catch (error) {
      this.problems.push(`healing before the final reads failed: ${errorMessage(error)}`);
    }
    const now = Date.now() - this.origin_ms;
    for (const span of this.faults) if (span.end_ms === null) span.end_ms = now;
  }

  /** Faults from another terminal (`dslab partition` on this run's cluster) join the timeline. */
  private onEvent(event: ClusterEvent): void {
    if (event.type !== 'fault' || event.source !== 'cli' || this.origin_ms === 0) return;
    const at = event.t - this.origin_ms;
    const action = event.action;
    if (action === 'heal' || action === 'restart' || action === 'resume') {
      const node = 'node' in event.fault ? event.fault.node : null;
      for (const span of this.faults) {
        if (span.source !== 'cli' || span.end_ms !== null) continue;
        const ends = action === 'heal' ? span.kind === 'partition' || span.kind === 'other' : span.kind === (action === 'restart' ? 'kill' : 'pause') && this.cli_stopped.get(span) === node;
        if (ends) span.end_ms = at;
      }
      return;
    }
    const kind: FaultSpan['kind'] = action === 'partition' ? 'partition' : action === 'kill' ? 'kill' : action === 'pause' ? 'pause' : 'other';
    const span: FaultSpan = { kind, description: event.description, start_ms: at, end_ms: null, source: 'cli' };
    this.faults.push(span);
    if ((kind === 'kill' || kind === 'pause') && 'node' in event.fault) this.cli_stopped.set(span, event.fault.node);
  }

  /** Sleeps `ms`, or until stop() or the wake function handed to `onWake` is called. */
  private sleep(ms: number, onWake?: (wake: () => void) => void): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
      onWake?.(wake);
    });
  }
}
