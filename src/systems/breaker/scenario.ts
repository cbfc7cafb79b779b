// The metastable-failure scenario (`dslab breaker scenario metastable`): the same short latency spike on d1,
// at near its capacity, in two runs on real clusters one after the other. Run A retries naively with no
// breaker and stays degraded after the spike ends (d1 works on requests whose callers gave up, every call
// waits longer than the timeout, every timeout is retried); run B, with a breaker and a retry budget,
// recovers. Each run is measured per second from its trace and d1's state reports, and judged in numbers.
import { mkdirSync, renameSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterEvent, ControlAction } from '../../lib/control/api.js';
import { memberIds } from '../../lib/cluster/groups.js';
import { planCluster, startForeground } from '../../lib/cluster/launch.js';
import { systemView, type SystemPlugin, type WorkloadPlugin } from '../../lib/plugin.js';
import type { Supervisor } from '../../lib/supervisor/supervisor.js';
import { errorMessage, UserError } from '../../lib/util/errors.js';
import { resolveResilienceConfig } from './core/index.js';
import { readBreakerTrace } from './trace-read.js';

/** The scenario's fixed shape: d1's capacity, the load against it, the spike and how long the run goes on after it. */
export interface MetastablePlan {
  /** d1's concurrent workers (breaker_dep_capacity). */
  dep_capacity: number;
  /** d1's time per request in a worker (breaker_dep_service_ms). */
  dep_service_ms: number;
  /** The open-loop load as a share of d1's capacity (capacity / service time). */
  load_pct: number;
  services: number;
  /** The load runs this long before the spike. */
  before_spike_ms: number;
  /** How long d1 is slowed (`dslab fail d1 --latency`), then healed. */
  spike_ms: number;
  /** The latency the spike adds to each of d1's answers. */
  spike_latency_ms: number;
  /** The load goes on this long after the heal. */
  after_spike_ms: number;
  /** A service gives up on a call to d1 after this (breaker_call_timeout_ms), in both runs. */
  call_timeout_ms: number;
  /** Retries after the first attempt, in both runs. */
  retries_max: number;
}

/** Tuned so that on a loaded 2-core machine A stays down and B comes back (docs/breaker.md, "Metastable failure"). */
export const metastable_plan: MetastablePlan = {
  dep_capacity: 4,
  dep_service_ms: 20,
  load_pct: 80,
  services: 3,
  before_spike_ms: 2000,
  spike_ms: 3000,
  spike_latency_ms: 1000,
  // Long enough for B to come back (at most about one open wait plus one call timeout after the heal) and hold it.
  after_spike_ms: 7000,
  call_timeout_ms: 500,
  retries_max: 3,
};

/** d1's capacity in requests per second: its workers each serving one request per service time. */
export function depCapacityPerS(plan: Pick<MetastablePlan, 'dep_capacity' | 'dep_service_ms'>): number {
  return (plan.dep_capacity * 1000) / plan.dep_service_ms;
}

export function loadRatePerS(plan: MetastablePlan): number {
  return Math.round((depCapacityPerS(plan) * plan.load_pct) / 100);
}

export type ArmName = 'A' | 'B';

export interface ArmSpec {
  name: ArmName;
  /** In words, for the report and the summary. */
  title: string;
  /** The cluster's options (DSLAB_OPTIONS) for this run. */
  options: Record<string, unknown>;
}

/** The two runs: the same dependency, load and retries; B adds the breaker and the retry budget. */
export function metastableArms(plan: MetastablePlan): ArmSpec[] {
  const common = {
    breaker_dep_capacity: plan.dep_capacity,
    breaker_dep_service_ms: plan.dep_service_ms,
    breaker_call_timeout_ms: plan.call_timeout_ms,
    breaker_retries_max: plan.retries_max,
    breaker_backoff_ms_base: 0,
    breaker_backoff_ms_max: 0,
    breaker_jitter: 'none',
    breaker_bulkhead_kind: 'none',
    breaker_fallback: false,
  };
  return [
    {
      name: 'A',
      title: `naive retries (${plan.retries_max}, no backoff, no budget), no breaker`,
      options: { ...common, breaker_enabled: false, breaker_retry_budget_pct: null },
    },
    {
      name: 'B',
      title: `the same retries within a 10% retry budget, behind a breaker (opens at 50% of the last 20 calls failed, 2 s open, 1 trial)`,
      options: {
        ...common,
        breaker_enabled: true,
        // A count window: a time window full of the successes before the spike would keep the breaker closed for seconds.
        breaker_window_kind: 'count',
        breaker_window_calls: 20,
        breaker_min_calls: 10,
        breaker_failure_rate_pct: 50,
        breaker_open_wait_ms: 2000,
        breaker_half_open_calls: 1,
        breaker_retry_budget_pct: 10,
        breaker_retry_budget_min_per_s: 1,
        breaker_retry_budget_window_ms: 2000,
      },
    },
  ];
}

/** What a run's trace says of its requests and of the calls that reached d1 (a BreakerRecord has these fields). */
export interface ScenarioRecord {
  requests: readonly { sent_ms: number; answered_ms: number | null; outcome: string }[];
  calls: readonly { sent_ms: number }[];
}

/** One of d1's state reports: its queue then. */
export interface QueueSample {
  at_ms: number;
  queue: number;
}

/** One second of a run, counted from the load's start. */
export interface SecondRow {
  second: number;
  /** Requests the load sent in this second. */
  offered: number;
  /** Requests answered ok in this second (goodput). */
  ok: number;
  /** Requests answered failed, timed out or rejected in this second. */
  failed: number;
  short_circuited: number;
  /** Calls services sent to d1 in this second, retries included. */
  calls: number;
  /** d1's queue in its last report of this second, or the one before it (null: none yet). */
  queue: number | null;
}

const failed_outcomes = new Set(['failed', 'timeout', 'rejected']);

/** Bucket index of a time, clamped to nothing outside [0, seconds). */
function secondOf(at_ms: number, origin_ms: number, seconds: number): number | null {
  const second = Math.floor((at_ms - origin_ms) / 1000);
  return second >= 0 && second < seconds ? second : null;
}

/** The run per second: requests by when they left (offered) and by when they were answered (ok, failed, short-circuited), calls to d1 by when they left. */
export function perSecond(record: ScenarioRecord, queue: readonly QueueSample[], origin_ms: number, seconds: number): SecondRow[] {
  const rows: SecondRow[] = Array.from({ length: seconds }, (_, second) => ({ second, offered: 0, ok: 0, failed: 0, short_circuited: 0, calls: 0, queue: null }));
  for (const request of record.requests) {
    const sent = secondOf(request.sent_ms, origin_ms, seconds);
    if (sent !== null) rows[sent]!.offered++;
    if (request.answered_ms === null) continue;
    const answered = secondOf(request.answered_ms, origin_ms, seconds);
    if (answered === null) continue;
    if (request.outcome === 'ok') rows[answered]!.ok++;
    else if (request.outcome === 'short_circuited') rows[answered]!.short_circuited++;
    else if (failed_outcomes.has(request.outcome)) rows[answered]!.failed++;
  }
  for (const call of record.calls) {
    const sent = secondOf(call.sent_ms, origin_ms, seconds);
    if (sent !== null) rows[sent]!.calls++;
  }
  const samples = [...queue].sort((a, b) => a.at_ms - b.at_ms);
  let next = 0;
  let last: number | null = null;
  for (const row of rows) {
    const end_ms = origin_ms + (row.second + 1) * 1000;
    while (next < samples.length && samples[next]!.at_ms < end_ms) last = samples[next++]!.queue;
    row.queue = last;
  }
  return rows;
}

/** Goodput below this share of the offered load in every second after the spike: the run stayed degraded. */
export const degraded_goodput_pct = 50;
/** Goodput at or above this share of the offered load in every second from some second on: the run recovered then. */
export const recovered_goodput_pct = 80;

/** When the spike was, in seconds from the load's start. */
export interface SpikeWindow {
  from_s: number;
  to_s: number;
}

export interface ArmFigures {
  /** Of the requests offered before the spike, the share answered ok (the run was healthy then). */
  before_goodput_pct: number | null;
  /** Of the requests offered after the spike (the heal to the end), the share answered ok. */
  after_goodput_pct: number | null;
  /** Every whole second after the heal had goodput below degraded_goodput_pct of the offered load. */
  stayed_degraded: boolean;
  /** Seconds from the heal to the start of the first second from which every second had goodput at or above recovered_goodput_pct (null: never). */
  recovered_after_s: number | null;
  /** d1's queue at the heal and at the end. */
  queue_at_heal: number | null;
  queue_at_end: number | null;
  /** Calls reaching d1 per request offered, from the spike's start to the end. */
  amplification: number | null;
  offered: number;
  ok: number;
  calls: number;
}

const pctOf = (part: number, whole: number): number | null => (whole > 0 ? Math.round((part / whole) * 1000) / 10 : null);
const sum = (rows: readonly SecondRow[], field: 'offered' | 'ok' | 'calls') => rows.reduce((total, row) => total + row[field], 0);

/** A second's goodput as a share of what was offered in it (a second with nothing offered is counted as good). */
const goodputPct = (row: SecondRow): number => (row.offered > 0 ? (row.ok / row.offered) * 100 : 100);

/** A run's figures: how it stood before the spike, whether it stayed degraded after it, or when it recovered. */
export function judgeArm(rows: readonly SecondRow[], spike: SpikeWindow): ArmFigures {
  const before = rows.filter((row) => row.second + 1 <= spike.from_s);
  // Whole seconds that began at or after the heal.
  const after = rows.filter((row) => row.second >= Math.ceil(spike.to_s));
  const fromSpike = rows.filter((row) => row.second >= Math.floor(spike.from_s));
  let recovered_from: number | null = null;
  for (let i = after.length - 1; i >= 0 && goodputPct(after[i]!) >= recovered_goodput_pct; i--) recovered_from = after[i]!.second;
  const queueAt = (second: number) => rows.find((row) => row.second === second)?.queue ?? null;
  return {
    before_goodput_pct: pctOf(sum(before, 'ok'), sum(before, 'offered')),
    after_goodput_pct: pctOf(sum(after, 'ok'), sum(after, 'offered')),
    stayed_degraded: after.length > 0 && after.every((row) => goodputPct(row) < degraded_goodput_pct),
    recovered_after_s: recovered_from === null ? null : Math.round((recovered_from - spike.to_s) * 10) / 10,
    queue_at_heal: queueAt(Math.max(0, Math.ceil(spike.to_s) - 1)),
    queue_at_end: rows.at(-1)?.queue ?? null,
    amplification: fromSpike.length && sum(fromSpike, 'offered') > 0 ? Math.round((sum(fromSpike, 'calls') / sum(fromSpike, 'offered')) * 100) / 100 : null,
    offered: sum(rows, 'offered'),
    ok: sum(rows, 'ok'),
    calls: sum(rows, 'calls'),
  };
}

/** One run as the scenario reports it. */
export interface ArmResult {
  name: ArmName;
  title: string;
  options: Record<string, unknown>;
  spike: SpikeWindow;
  rows: SecondRow[];
  figures: ArmFigures;
  /** Where its cluster's trace is kept. */
  trace_file: string | null;
}

export interface ScenarioResult {
  scenario: 'metastable';
  plan: MetastablePlan;
  rate_per_s: number;
  capacity_per_s: number;
  arms: ArmResult[];
  /** The scenario showed what it is for: A stayed degraded, B recovered. */
  shown: boolean;
  /** The verdict in words, one line per point. */
  summary: string[];
  dir: string;
  report_file: string | null;
}

const formatPct = (pct: number | null) => (pct === null ? '—' : `${pct}%`);

/** The side-by-side verdict in words. */
export function describeScenario(plan: MetastablePlan, arms: readonly ArmResult[]): { shown: boolean; summary: string[] } {
  const a = arms.find((arm) => arm.name === 'A');
  const b = arms.find((arm) => arm.name === 'B');
  const lines: string[] = [];
  for (const arm of arms) {
    const f = arm.figures;
    const state = f.stayed_degraded
      ? `stayed degraded after the spike ended: goodput ${formatPct(f.after_goodput_pct)} of offered after it (below ${degraded_goodput_pct}% in every second)`
      : f.recovered_after_s !== null
        ? `recovered ${f.recovered_after_s} s after the spike ended (goodput at or above ${recovered_goodput_pct}% of offered in every second from then on; ${formatPct(f.after_goodput_pct)} after it)`
        : `neither stayed down nor recovered: goodput ${formatPct(f.after_goodput_pct)} of offered after the spike`;
    lines.push(
      `${arm.name} (${arm.title}): goodput ${formatPct(f.before_goodput_pct)} before the spike; ${state}; ` +
        `d1's queue ${f.queue_at_heal ?? '—'} at the heal, ${f.queue_at_end ?? '—'} at the end; ${f.amplification ?? '—'} calls to d1 per request from the spike on`,
    );
  }
  const shown = Boolean(a?.figures.stayed_degraded && b && b.figures.recovered_after_s !== null);
  lines.push(
    shown
      ? `shown: the same ${plan.spike_ms / 1000} s spike left A down and B back within ${b!.figures.recovered_after_s} s; retries multiplied calls to d1 by ${a!.figures.amplification} in A and ${b!.figures.amplification} in B`
      : `not shown this time: ${!a?.figures.stayed_degraded ? 'A did not stay degraded' : 'B did not recover'} (the timeline in the report shows each second)`,
  );
  return { shown, summary: lines };
}

/** How the library reaches the system and the workload: the command hands in the registry's plugins. */
export interface ScenarioInput {
  system: SystemPlugin;
  workloads: readonly WorkloadPlugin[];
  cwd: string;
  /** Where the result, the report and each run's trace go. */
  dir: string;
  plan?: MetastablePlan;
  /** Lines of progress for a person. */
  progress?: (line: string) => void;
  /** Writes the HTML report (scenario-report.ts); returns its path. */
  writeReport?: (result: ScenarioResult) => string;
}

/** What a run needs of its cluster (a Supervisor in this process). */
interface ScenarioHost {
  apply(action: ControlAction): Promise<unknown>;
  events: { subscribe(listener: (event: ClusterEvent) => void): () => void };
}

/** The dependency node whose capacity and faults the scenario sets. */
export const dependency_node = 'd1';
/** The workload and operation that run the open-loop load. */
const load_workload = 'breaker';
const load_op = 'load';
/** How long past its duration the load may take to finish (its last requests' retries). */
const load_finish_ms_max = 30_000;
const init_timeout_ms = 20_000;
/** d1's state reports kept at most (it reports about once a second: a run has a few dozen). */
const queue_samples_max = 10_000;
/** A request unanswered this long is a timeout: well past a service's last retry. */
const load_timeout_ms = 5000;

/** The latency spike as a control action (`dslab fail d1 --latency`); the heal is `{type: 'heal'}`. */
export function latencySpikeAction(node: string, latency_ms: number): ControlAction {
  return { type: 'fail', node, errors_pct: 0, latency_ms, hang: false };
}

/** Waits for the load's `done` event, or gives up after `timeout_ms`. */
function loadDone(host: ScenarioHost, timeout_ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(finish, timeout_ms);
    const unsubscribe = host.events.subscribe((event) => {
      if (event.type === 'load' && event.phase === 'done') finish();
    });
    function finish() {
      clearTimeout(timer);
      unsubscribe();
      resolve();
    }
  });
}

/** One run on its own cluster: load, spike, heal, the rest of the load; then its figures from the trace. */
async function runArm(input: ScenarioInput, plan: MetastablePlan, arm: ArmSpec): Promise<ArmResult> {
  const say = input.progress ?? (() => {});
  const options = { ...arm.options };
  const config = await planCluster({
    system: input.system.name,
    plugin: input.system,
    known_systems: [input.system.name],
    view: systemView(input.system, options),
    nodes: plan.services,
    group_counts: { services: plan.services },
    name: `scenario-metastable-${arm.name.toLowerCase()}`,
    init_timeout_ms,
    cwd: input.cwd,
    options,
  });
  say(`run ${arm.name}: ${arm.title}`);
  const supervisor: Supervisor = await startForeground(config, { workloads: input.workloads });
  const queue: QueueSample[] = [];
  const unsubscribe = supervisor.events.subscribe((event) => {
    if (event.type === 'node_state' && event.node === dependency_node && typeof event.state.queue === 'number' && queue.length < queue_samples_max) queue.push({ at_ms: event.t, queue: event.state.queue });
  });
  const rate_per_s = loadRatePerS(plan);
  const duration_ms = plan.before_spike_ms + plan.spike_ms + plan.after_spike_ms;
  let origin_ms = 0;
  let spike: SpikeWindow = { from_s: 0, to_s: 0 };
  let trace_file: string | null = null;
  try {
    const done = loadDone(supervisor, duration_ms + load_finish_ms_max);
    origin_ms = Date.now();
    const load = supervisor.apply({ type: 'workload', workload: load_workload, op: load_op, args: { rate_per_s, duration_ms, timeout_ms: load_timeout_ms } });
    load.catch(() => undefined);
    say(`  load ${rate_per_s}/s for ${duration_ms / 1000} s against d1's ${depCapacityPerS(plan)}/s`);
    await sleep(Math.max(0, origin_ms + plan.before_spike_ms - Date.now()));
    const spike_from_ms = Date.now();
    await supervisor.apply(latencySpikeAction(dependency_node, plan.spike_latency_ms));
    say(`  spike: d1 answers ${plan.spike_latency_ms} ms later for ${plan.spike_ms / 1000} s`);
    await sleep(Math.max(0, spike_from_ms + plan.spike_ms - Date.now()));
    await supervisor.apply({ type: 'heal' });
    const spike_to_ms = Date.now();
    spike = { from_s: (spike_from_ms - origin_ms) / 1000, to_s: (spike_to_ms - origin_ms) / 1000 };
    say('  healed; the load goes on');
    await load;
    await done;
  } finally {
    unsubscribe();
    await supervisor.shutdown();
  }
  const kept = path.join(input.dir, `trace-${arm.name.toLowerCase()}.jsonl`);
  if (existsSync(supervisor.paths.trace)) {
    try {
      renameSync(supervisor.paths.trace, kept);
      trace_file = kept;
    } catch {
      trace_file = supervisor.paths.trace;
    }
  }
  const services = config.groups.filter((g) => g.name === 'services').flatMap((g) => memberIds(g));
  const record: ScenarioRecord = trace_file ? readBreakerTrace(trace_file, { services, dependency: dependency_node }, resolveResilienceConfig(options)) : { requests: [], calls: [] };
  const rows = perSecond(record, queue, origin_ms, Math.ceil(duration_ms / 1000));
  return { name: arm.name, title: arm.title, options, spike, rows, figures: judgeArm(rows, spike), trace_file };
}

/** Runs A then B, judges them side by side, keeps result.json (and the report) in input.dir. */
export async function runMetastableScenario(input: ScenarioInput): Promise<ScenarioResult> {
  const plan = input.plan ?? metastable_plan;
  try {
    mkdirSync(input.dir, { recursive: true });
  } catch (error) {
    throw new UserError(`cannot make the scenario's folder ${input.dir}: ${errorMessage(error)}`);
  }
  const arms: ArmResult[] = [];
  for (const arm of metastableArms(plan)) arms.push(await runArm(input, plan, arm));
  const verdict = describeScenario(plan, arms);
  const result: ScenarioResult = { scenario: 'metastable', plan, rate_per_s: loadRatePerS(plan), capacity_per_s: depCapacityPerS(plan), arms, ...verdict, dir: input.dir, report_file: null };
  if (input.writeReport) {
    try {
      result.report_file = input.writeReport(result);
    } catch (error) {
      input.progress?.(`the HTML report could not be written: ${errorMessage(error)}`);
    }
  }
  writeFileSync(path.join(input.dir, 'result.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}
