// CPU used by the live dashboard (`dslab watch` in a real pseudo-terminal,
// tmux 100x30) while 5 Raft nodes serve `dslab load --rate 200`. Goal: under
// 10% of one core. The supervisor's CPU over the same window is printed for
// scale.
// Before anything that imports React: see react-production.mjs.
import './react-production.mjs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { cli, cleanup, cpuSeconds, dslab, scratch, status } from './lib.mjs';
import { findRunningCluster } from '../dist/lib/cluster/paths.js';
import { ControlClient } from '../dist/lib/control/client.js';
import { frame_interval_ms } from '../dist/lib/dashboard/use-dashboard.js';

export const load_rate_per_s = 200;
/**
 * load_duration_s: the load runs this long; CPU is measured over its middle (measure_s, after
 * warmup_s while the workload's clients find the leader), then the event streams are counted.
 * stream_sample_s: after the CPU window (so the counting costs the dashboard nothing), each stream is read this long.
 */
export const sizes_default = { load_duration_s: 30, warmup_s: 3, measure_s: 20, stream_sample_s: 3 };
/** Quick mode (bench/run-all.js --quick): every part runs, for too short a time to mean anything. */
export const sizes_quick = { load_duration_s: 3, warmup_s: 0.2, measure_s: 0.5, stream_sample_s: 0.3 };
export const dashboard_cpu_goal_share = 0.1;
const leader_wait_ms = 30_000;
/** tmux leaves its socket file behind when its server exits: it goes in the scratch folder, removed with it. */
let tmux_socket = '';

const tmux = (...args) => execFileSync('tmux', ['-S', tmux_socket, ...args], { encoding: 'utf8' });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const quote = (text) => `'${text.replaceAll("'", `'\\''`)}'`;

/** Events a second on one stream of the cluster, read with the given follow options. */
async function eventsPerSecond(client, options, stream_sample_s) {
  let count = 0;
  const follower = client.follow(() => void count++, options);
  await sleep(stream_sample_s * 1000);
  follower.stop();
  return Math.round(count / stream_sample_s);
}

export async function measureDashboardCpu(rate_per_s = load_rate_per_s, { load_duration_s, warmup_s, measure_s, stream_sample_s } = sizes_default) {
  const cwd = scratch();
  tmux_socket = path.join(cwd, 'tmux.sock');
  try {
    dslab(cwd, 'up', 'raft', '--nodes', '5', '--detach');
    const supervisorPid = status(cwd).supervisor_pid;
    const command = `cd ${quote(cwd)} && exec env -u CI TERM=xterm-256color ${quote(process.execPath)} ${quote(cli)} watch`;
    const panePid = Number(tmux('new-session', '-d', '-P', '-F', '#{pane_pid}', '-s', 'bench', '-x', '100', '-y', '30', command).trim());
    const deadline = Date.now() + leader_wait_ms;
    while (!/leader n\d+ · term \d+/.test(tmux('capture-pane', '-p', '-t', 'bench'))) {
      if (Date.now() > deadline) throw new Error('the dashboard showed no leader in time');
      await sleep(200);
    }
    dslab(cwd, 'load', '--rate', String(rate_per_s), '--duration', `${load_duration_s}s`, '--detach');
    await sleep(warmup_s * 1000);
    const dashboardBefore = cpuSeconds(panePid);
    const supervisorBefore = cpuSeconds(supervisorPid);
    await sleep(measure_s * 1000);
    const dashboard_cpu_share = (cpuSeconds(panePid) - dashboardBefore) / measure_s;
    const supervisor_cpu_share = (cpuSeconds(supervisorPid) - supervisorBefore) / measure_s;
    const screen = tmux('capture-pane', '-p', '-t', 'bench');
    const client = new ControlClient(findRunningCluster(path.join(cwd, '.dslab')));
    const [all_events_per_s, dashboard_events_per_s] = await Promise.all([
      eventsPerSecond(client, {}, stream_sample_s),
      eventsPerSecond(client, { exclude: ['client_result', 'node_apply'], coalesce_state_ms: frame_interval_ms }, stream_sample_s),
    ]);
    const throughput = /committed ops\/s \S* (\d+)/.exec(screen)?.[1] ?? '?';
    return { rate_per_s, dashboard_cpu_share, supervisor_cpu_share, shown_ok_per_s: throughput, measure_s, all_events_per_s, dashboard_events_per_s };
  } finally {
    try {
      tmux('kill-server');
    } catch {
      // already gone
    }
    cleanup(cwd);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // `node bench/dashboard-cpu.mjs --rate 800` offers a heavier load.
  const rateFlag = process.argv.indexOf('--rate');
  const result = await measureDashboardCpu(rateFlag > 0 ? Number(process.argv[rateFlag + 1]) : load_rate_per_s);
  const percent = (share) => `${(share * 100).toFixed(1)}%`;
  console.log(
    `dashboard (dslab watch, 100x30 tmux) CPU with 5 raft nodes under load --rate ${result.rate_per_s}: ${percent(result.dashboard_cpu_share)} of one core ` +
      `over ${result.measure_s}s (goal < ${percent(dashboard_cpu_goal_share)}); supervisor ${percent(result.supervisor_cpu_share)}; dashboard showed ${result.shown_ok_per_s} committed ops/s; ` +
      `events/s on the cluster's full stream ${result.all_events_per_s}, on the dashboard's stream ${result.dashboard_events_per_s}`,
  );
}
