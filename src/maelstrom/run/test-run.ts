/**
 * `dslab test`: each run starts a cluster of the binary under test in this
 * process (node ids, init and latency as Maelstrom has them), runs the
 * workload on it (run.ts), takes it down, judges the history, and keeps the
 * run's folder under .dslab/store/<workload>/<time>/ with `latest` links
 * (Maelstrom's store/ layout): results.json, history.jsonl, trace.jsonl,
 * each node's log, report.html.
 *
 * The cluster is a real one while the test runs, named test-<workload>:
 * `dslab watch`, `dslab status` and the fault commands work on it from
 * another terminal.
 */
import { accessSync, constants, existsSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { clusterPaths, dslabHome, isRunning, makePrivateDir, readClusterInfo } from '../../lib/cluster/paths.js';
import type { GroupConfig } from '../../lib/cluster/groups.js';
import type { SystemView, WorkloadPlugin } from '../../lib/plugin.js';
import { Supervisor, type SupervisorConfig } from '../../lib/supervisor/supervisor.js';
import { errorMessage, UserError } from '../../lib/util/errors.js';
import { randomSeed } from '../../lib/util/prng.js';
import { splitShellWords } from '../../lib/util/shell-words.js';
import type { TestPlan } from '../options.js';
import { init_reply_timeout_ms } from '../timing.js';
import { MaelstromRun, type RunOutcome } from './run.js';
import { run_files, test_run_format, type TestRunResult } from './result.js';
import { judgeRun, type RunBudgets } from './verdict.js';

/** Where runs are kept under dslab's home (Maelstrom's `store`). */
export const store_dir_name = 'store';
export const latest_link_name = 'latest';

export interface TestRunOptions {
  plan: TestPlan;
  /** Where dslab read the arguments differently from Maelstrom: kept in each run's results. */
  warnings: readonly string[];
  /** The workloads' plugins (the registry's): broadcast's topology is sent by its afterInit. */
  workloads: readonly WorkloadPlugin[];
  /** The roles and columns the dashboard shows for these nodes. */
  view: SystemView;
  cwd: string;
  /** The first run's seed (each next run's is one more); random when absent. */
  seed?: number;
  /** Lines of progress for a person ("starting 5 nodes", "healing, waiting 10 s"). */
  progress?: (line: string) => void;
  /** Writes the HTML report into a finished run's folder (src/maelstrom/report); returns its path. */
  writeReport?: (dir: string) => string;
  budgets?: RunBudgets;
  /** A shorter wait before the final reads than Maelstrom's 10 s (tests). */
  recovery_wait_s?: number;
  /** With --log-stderr: each line a node writes on stderr, as it comes. */
  stderr?: (node: string, line: string) => void;
  /** Set by the caller to end the current run early (Ctrl-C). */
  signal?: AbortSignal;
}

/** The command that runs one node: Maelstrom's --bin is a file (its arguments follow); dslab also takes "python3 node.py" as a command line. */
export function nodeCommand(plan: TestPlan, cwd: string): string[] {
  const file = path.resolve(cwd, plan.bin);
  if (existsSync(file) && statSync(file).isFile()) {
    try {
      accessSync(file, constants.X_OK);
    } catch {
      throw new UserError(`--bin ${plan.bin} is not executable (chmod +x ${plan.bin}, or give the command that runs it, like --bin "python3 ${plan.bin}")`);
    }
    return [file, ...plan.bin_args];
  }
  const words = splitShellWords(plan.bin, '--bin');
  if (words.length > 1) return [...words, ...plan.bin_args];
  if (plan.bin.includes('/')) throw new UserError(`--bin ${plan.bin}: no such file`);
  // A bare name: a program on PATH, as a shell would run it.
  return [plan.bin, ...plan.bin_args];
}

/** A folder name for a run that sorts by time and reads as one: 20261207T153000.123Z. */
export function runStamp(at_ms: number): string {
  return new Date(at_ms).toISOString().replace(/[-:]/g, '');
}

/** Points `link` at `target` (relative), replacing what was there. */
function pointLink(link: string, target: string): void {
  rmSync(link, { force: true, recursive: false });
  try {
    symlinkSync(path.relative(path.dirname(link), target), link);
  } catch {
    // A filesystem without symlinks keeps the runs; only the shortcut is missing.
  }
}

export function testClusterName(plan: TestPlan): string {
  return `test-${plan.workload}`;
}

/** Runs the plan test_count times, stopping at the first run that is not valid; returns every run's result. */
export async function runTests(options: TestRunOptions): Promise<TestRunResult[]> {
  const { plan } = options;
  const home = dslabHome(options.cwd);
  const name = testClusterName(plan);
  const existing = readClusterInfo(clusterPaths(home, name).info);
  if (existing && isRunning(existing)) throw new UserError(`a dslab test of ${plan.workload} is already running here (cluster ${name}, pid ${existing.supervisor_pid}); wait for it, or stop it with: dslab down --cluster ${name}`);
  const command = nodeCommand(plan, options.cwd);
  const first_seed = options.seed ?? randomSeed();
  const results: TestRunResult[] = [];
  for (let index = 1; index <= plan.test_count; index++) {
    const result = await runOnce(options, { home, name, command, seed: (first_seed + index - 1) >>> 0, index });
    results.push(result);
    if (result.verdict !== 'valid' || options.signal?.aborted) break;
  }
  return results;
}

async function runOnce(options: TestRunOptions, run: { home: string; name: string; command: string[]; seed: number; index: number }): Promise<TestRunResult> {
  const { plan } = options;
  const say = options.progress ?? (() => {});
  const workload_dir = path.join(run.home, store_dir_name, plan.workload);
  const dir = path.join(workload_dir, runStamp(Date.now()));
  makePrivateDir(path.join(dir, run_files.node_logs));
  const group: GroupConfig = { name: 'nodes', prefix: 'n', count: plan.nodes.length, ids: [...plan.nodes], command: run.command };
  const config: SupervisorConfig = {
    name: run.name,
    system: plan.workload,
    groups: [group],
    seed: run.seed,
    home: run.home,
    cwd: options.cwd,
    init_timeout_ms: init_reply_timeout_ms,
    options: plan.workload === 'broadcast' ? { topology: plan.topology } : {},
    view: options.view,
    workloads: [plan.workload],
    ...(plan.latency_ms > 0 ? { latency: { mean_ms: plan.latency_ms, dist: plan.latency_dist } } : {}),
  };
  say(`starting ${plan.nodes.length} node${plan.nodes.length === 1 ? '' : 's'} (${plan.nodes.length > 8 ? `${plan.nodes[0]}…${plan.nodes.at(-1)}` : plan.nodes.join(' ')}) as cluster ${run.name}, seed ${run.seed}`);
  const cpu_start = process.cpuUsage();
  const wall_start_ms = Date.now();
  const supervisor = await Supervisor.start(config, { workloads: options.workloads, ...(plan.log_stderr && options.stderr ? { stderr: options.stderr } : {}) });
  let outcome: RunOutcome;
  const history = path.join(dir, run_files.history);
  const maelstromRun = new MaelstromRun(
    { transport: supervisor.transport, apply: (action, source) => supervisor.apply(action, source), status: () => supervisor.status(), events: supervisor.events },
    {
      workload: plan.workload,
      nodes: plan.nodes,
      concurrency: plan.concurrency,
      time_limit_s: plan.time_limit_s,
      rate_per_s: plan.rate_per_s,
      latency_ms: plan.latency_ms,
      nemesis: plan.nemesis,
      nemesis_interval_s: plan.nemesis_interval_s,
      key_count: plan.key_count,
      max_writes_per_key: plan.max_writes_per_key,
      seed: run.seed,
      history_file: history,
      ...(options.recovery_wait_s !== undefined ? { recovery_wait_s: options.recovery_wait_s } : {}),
      phase: say,
    },
  );
  const abort = () => maelstromRun.stop();
  options.signal?.addEventListener('abort', abort);
  try {
    outcome = await maelstromRun.run();
  } finally {
    options.signal?.removeEventListener('abort', abort);
    await supervisor.shutdown();
  }
  const cpu = process.cpuUsage(cpu_start);
  const wall_ms = Date.now() - wall_start_ms;
  // The cluster's trace and node logs become the run's.
  const paths = supervisor.paths;
  moveIfThere(paths.trace, path.join(dir, run_files.trace));
  for (const node of plan.nodes) moveIfThere(paths.logFile(node), path.join(dir, run_files.node_logs, `${node}.log`));
  moveIfThere(paths.supervisorLog, path.join(dir, 'supervisor.log'));
  const judgement = judgeRun(plan, outcome, options.budgets);
  const result: TestRunResult = {
    format: test_run_format,
    plan,
    seed: run.seed,
    run_index: run.index,
    started_at_ms: outcome.started_at_ms,
    main_phase_end_ms: outcome.main_phase_end_ms,
    end_ms: outcome.end_ms,
    nodes: [...plan.nodes],
    verdict: judgement.verdict,
    headline: judgement.headline,
    reasons: judgement.reasons,
    warnings: [...options.warnings],
    checks: judgement.checks,
    operations: outcome.operations,
    availability: outcome.availability,
    net: outcome.net,
    faults: outcome.faults,
    failures: outcome.failures,
    timeline: outcome.timeline,
    process_cpu: { user_ms: Math.round(cpu.user / 1000), system_ms: Math.round(cpu.system / 1000), wall_ms, share: Math.round(((cpu.user + cpu.system) / 1000 / Math.max(1, wall_ms)) * 1000) / 1000 },
    dir,
    files: {
      results: path.join(dir, run_files.results),
      history,
      trace: path.join(dir, run_files.trace),
      report: path.join(dir, run_files.report),
      node_logs: path.join(dir, run_files.node_logs),
    },
  };
  writeFileSync(result.files.results, JSON.stringify(result, null, 2) + '\n');
  if (options.writeReport) {
    try {
      options.writeReport(dir);
    } catch (error) {
      say(`the HTML report could not be written: ${errorMessage(error)}`);
    }
  }
  pointLink(path.join(workload_dir, latest_link_name), dir);
  pointLink(path.join(run.home, store_dir_name, latest_link_name), dir);
  return result;
}

function moveIfThere(from: string, to: string): void {
  if (!existsSync(from)) return;
  try {
    renameSync(from, to);
  } catch {
    // Another filesystem: leave it where the cluster keeps it.
  }
}
