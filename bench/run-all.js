// Runs every benchmark and prints its figures; bench/RESULTS.md records them,
// with what limits each one. A benchmark that fails is reported and the run
// goes on to the next; the exit code says whether any failed.
//   npm run bench                              the full run (build first)
//   npm run bench -- --etcd --zookeeper --locks --grade   adds the long ones (minutes each)
//   npm run bench -- --quick                   every benchmark at a tiny size, in seconds
//                                              (also DSLAB_BENCH_QUICK=1)
//   npm run bench -- --quick --only snowflake,locks
//   npm run bench -- --list                    the benchmarks' names, one a line; "(skippable)"
//                                              after those a quick run skips when their server is missing
// The quick run shows that every benchmark still runs to the end (test/bench/quick.test.ts
// runs it in the suite): its figures mean nothing and are not for RESULTS.md. In it, a
// benchmark whose real server (etcd, redis, ZooKeeper, tmux) is not installed is skipped,
// with the reason, rather than installed.
// Before anything that imports React: see react-production.mjs.
import './react-production.mjs';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import * as checker from './checker.mjs';
import * as dashboardCpu from './dashboard-cpu.mjs';
import * as dashboardFrame from './dashboard-frame.mjs';
import * as gradeSuite from './grade-suite.mjs';
import { missingFigure, onPath, takeDownInBackground, waitForCleanups } from './lib.mjs';
import * as locks from './locks.mjs';
import * as raftSim from './raft-sim.mjs';
import * as raftVsEtcd from './raft-vs-etcd.mjs';
import * as router from './router-throughput.mjs';
import * as snowflake from './snowflake.mjs';
import * as upTime from './up-time.mjs';
import * as zab from './zab-vs-zookeeper.mjs';

/** The lab the quick run grades: the quickest, so grade-suite's reading of a grade report is still exercised. */
const quick_grade_labs = ['echo'];

/**
 * Every benchmark. run(quick) returns its figures and a line that says them.
 * opt_in: the flag a full run needs to include it (it takes minutes); a quick run always includes it.
 * missing(): in a quick run, why it cannot run here (a server not installed), or null.
 */
const benchmarks = [
  {
    name: 'up-time',
    run: async (quick) => {
      const up = await upTime.measureUpTime(quick ? upTime.runs_quick : upTime.runs_default);
      return { figures: up, line: `up echo --nodes 5 --detach: median ${up.median_ms} ms (min ${up.min_ms}, max ${up.max_ms}, ${up.runs} runs); goal < 1000 ms` };
    },
  },
  {
    name: 'router-throughput',
    run: async (quick) => {
      const r = await router.measureRouterThroughput(quick ? router.sizes_quick : router.sizes_default);
      return {
        figures: r,
        line:
          `router throughput, 5 flooding nodes: ${r.messages_per_s} messages/s delivered; supervisor CPU ${r.supervisor_cpu_share.toFixed(2)} cores; ` +
          `backpressure drops ${r.backpressure_drops}; trace ${r.trace_mb} MB${r.trace_truncated ? ' (hit its cap)' : ''}; goal >= 100000 messages/s`,
      };
    },
  },
  {
    name: 'checker',
    run: async (quick) => {
      const c = checker.measureChecker(quick ? checker.sizes_quick : {});
      const hot = checker.measureHotKey(quick ? checker.sizes_quick.hot_key_ops : checker.hot_key_ops_default);
      return {
        figures: { ...c, hot },
        line: `checker, ${c.ops} ops / ${c.clients} clients / ${c.keys} keys: median ${c.median_ms} ms (max ${c.max_ms}); goal < 1000 ms; ${hot.ops} ops on one key: ${hot.result} in ${hot.ms} ms (reference)`,
      };
    },
  },
  { name: 'set-checker', run: async (quick) => (await import('./set-checker.mjs')).benchmark(quick) },
  { name: 'txn-checker', run: async (quick) => (await import('./txn-checker.mjs')).benchmark(quick) },
  { name: 'kafka-checker', run: async (quick) => (await import('./kafka-checker.mjs')).benchmark(quick) },
  { name: 'breaker-overhead', run: async (quick) => (await import('./breaker-overhead.mjs')).benchmark(quick) },
  { name: 'maelstrom-broadcast', run: async (quick) => (await import('./maelstrom-broadcast.mjs')).benchmark(quick) },
  { name: 'breaker-supervisor', run: async (quick) => (await import('./breaker-supervisor.mjs')).benchmark(quick) },
  {
    name: 'raft-sim',
    run: async (quick) => {
      const s = await raftSim.measureRaftSim(undefined, quick ? raftSim.sizes_quick : raftSim.sizes_default);
      return { figures: s, line: `raft simulator: ${s.seeds_per_cpu_s} seeds per CPU second (median of ${s.rounds} rounds over seeds 1..${s.seeds}, ${s.events_per_seed} events per seed)` };
    },
  },
  {
    name: 'dashboard-cpu',
    missing: () => (onPath('tmux') ? null : 'tmux is not installed (it runs the dashboard in a real terminal)'),
    run: async (quick) => {
      const d = await dashboardCpu.measureDashboardCpu(dashboardCpu.load_rate_per_s, quick ? dashboardCpu.sizes_quick : dashboardCpu.sizes_default);
      return {
        figures: d,
        line:
          `dashboard CPU under load: ${(d.dashboard_cpu_share * 100).toFixed(1)}% of a core (goal < 10%); ` +
          `events/s: full stream ${d.all_events_per_s}, dashboard's stream ${d.dashboard_events_per_s}`,
      };
    },
  },
  {
    name: 'dashboard-frame',
    run: async (quick) => {
      const { recorded: _recorded, ...f } = await dashboardFrame.measureDashboardFrame(quick ? dashboardFrame.sizes_quick : dashboardFrame.sizes_default);
      return { figures: f, line: `dashboard frame, 5 nodes changing, one frame every ${dashboardFrame.frame_interval_ms} ms: ${f.cpu_ms_per_frame.toFixed(2)} ms CPU per frame` };
    },
  },
  {
    name: 'snowflake',
    run: async (quick) => {
      const s = await snowflake.measureSnowflake(quick ? snowflake.sizes_quick : snowflake.sizes_default);
      if (s.core.duplicates || s.router.duplicates) throw new Error(`ids came back twice: ${s.core.duplicates} in process, ${s.router.duplicates} through the router`);
      return {
        figures: s,
        line:
          `snowflake core in process: ${s.core.ids_per_s} ids/s (${(s.core.share_of_limit * 100).toFixed(1)}% of 4,096 per ms; goal >= 95%), duplicates ${s.core.duplicates}; ` +
          `one worker through the router, batches of 1,000: ${s.router.ids_per_s} ids/s (goal >= 2000000), duplicates ${s.router.duplicates}; ` +
          `single generate: median ${s.router.latency_ms.median.toFixed(2)} ms, p99 ${s.router.latency_ms.p99.toFixed(2)} ms`,
      };
    },
  },
  {
    name: 'raft-vs-etcd',
    opt_in: '--etcd',
    missing: () => (existsSync(raftVsEtcd.etcd_path) ? null : 'etcd is not installed (Debian package etcd-server)'),
    run: async (quick) => {
      const c = await raftVsEtcd.compareWithEtcd(quick ? raftVsEtcd.sizes_quick : raftVsEtcd.sizes_default);
      return { figures: c, line: `raft vs etcd: ${JSON.stringify(c, null, 2)}` };
    },
  },
  {
    name: 'zab-vs-zookeeper',
    opt_in: '--zookeeper',
    run: async (quick) => {
      // Without ZooKeeper, a quick run still runs dslab's side and says the other was skipped.
      const zookeeper_missing = quick ? zab.zookeeperMissing() : null;
      const c = await zab.compareWithZooKeeper({ ...(quick ? zab.settings_quick : {}), ...(zookeeper_missing ? { only: 'dslab' } : {}) });
      const note = zookeeper_missing ? ` (ZooKeeper's side skipped: ${zookeeper_missing})` : '';
      return { figures: c, line: `zab vs ZooKeeper${note}: ${JSON.stringify(c, null, 2)}`, note };
    },
  },
  {
    name: 'locks',
    opt_in: '--locks',
    run: async (quick) => {
      const results = await locks.measureLocks(quick ? locks.sizes_quick : locks.sizes_default);
      const violated = results.filter((r) => !r.check_ok).map((r) => r.backend);
      if (violated.length) throw new Error(`the lock check failed on ${violated.join(', ')}`);
      const skipped = locks.missingBackends();
      const note = skipped.length ? ` (skipped: ${skipped.map((m) => `${m.backend}, ${m.reason}`).join('; ')})` : '';
      return { figures: results, line: `lock recipes${note}:\n${locks.formatLocks(results)}`, note };
    },
  },
  {
    name: 'grade-suite',
    opt_in: '--grade',
    run: async (quick) => {
      const g = gradeSuite.runSuite(quick ? quick_grade_labs : gradeSuite.raft_labs, 1);
      if (g.failures.length) throw new Error(`the reference lost marks: ${g.failures.map((f) => `${f.test} (seed ${f.seed}): ${f.failure}`).join('; ')}`);
      return { figures: g, line: `grading ${g.labs.join(', ')} against the reference: ${g.pass_ms[0]} ms; slowest tests ${g.slowest.map((t) => `${t.test} ${t.mean_ms} ms`).join(', ')}` };
    },
  },
];

const args = process.argv.slice(2);
if (args.includes('--list')) {
  // test/bench/quick.test.ts reads this list, so a new benchmark is checked without editing the test.
  for (const bench of benchmarks) console.log(bench.missing ? `${bench.name} (skippable)` : bench.name);
  process.exit(0);
}
const quick = args.includes('--quick') || process.env.DSLAB_BENCH_QUICK === '1';
const onlyIndex = args.indexOf('--only');
const only = onlyIndex >= 0 ? (args[onlyIndex + 1] ?? '').split(',').filter(Boolean) : null;
const unknown = (only ?? []).filter((name) => !benchmarks.some((b) => b.name === name));
if (unknown.length) {
  console.error(`bench: no benchmark named ${unknown.join(', ')} (there are ${benchmarks.map((b) => b.name).join(', ')})`);
  process.exit(2);
}

const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, load average ${loadavg()[0].toFixed(2)} at start`;
console.log(`machine: ${machine}${quick ? '; quick run: tiny sizes, figures not meaningful' : ''}`);
// Its figures mean nothing, so one benchmark's cluster may stop while the next runs.
if (quick) takeDownInBackground();
const counts = { ran: 0, skipped: 0, failed: 0 };
const run_started = performance.now();
for (const bench of benchmarks) {
  if (only && !only.includes(bench.name)) continue;
  const skip = quick ? bench.missing?.() : bench.opt_in && !args.includes(bench.opt_in) ? `pass ${bench.opt_in} (it takes minutes)` : null;
  if (skip) {
    counts.skipped++;
    console.log(`skipped ${bench.name}: ${skip}`);
    continue;
  }
  const started = performance.now();
  try {
    const { figures, line, note = '' } = await bench.run(quick);
    const missing = missingFigure(figures);
    if (missing) throw new Error(`its result has no figure at ${missing} (the benchmark reads something the code no longer gives)`);
    counts.ran++;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(quick ? `ok ${bench.name} (${seconds} s)${note}` : line);
  } catch (error) {
    counts.failed++;
    console.log(`FAILED ${bench.name}: ${error?.stack ?? error}`);
  }
}
await waitForCleanups();
const total_s = ((performance.now() - run_started) / 1000).toFixed(0);
console.log(`benchmarks: ${counts.ran} ran to the end, ${counts.skipped} skipped, ${counts.failed} failed, in ${total_s} s`);
// Clients of the servers benchmarks talked to may keep timers alive: the run is over.
process.exit(counts.failed ? 1 : 0);
