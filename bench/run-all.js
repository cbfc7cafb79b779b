// Runs every benchmark and prints the figures; bench/RESULTS.md records them
// with what limits each one.
import { cpus, loadavg } from 'node:os';
import { measureRouterThroughput } from './router-throughput.mjs';
import { measureUpTime } from './up-time.mjs';
import { measureChecker, measureHotKey } from './checker.mjs';
import { compareWithEtcd } from './raft-vs-etcd.mjs';
import { measureDashboardCpu } from './dashboard-cpu.mjs';
import { measureDashboardFrame } from './dashboard-frame.mjs';
import { measureRaftSim } from './raft-sim.mjs';
import { measureSnowflake } from './snowflake.mjs';

const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, load average ${loadavg()[0].toFixed(2)} at start`;
console.log(`machine: ${machine}`);
const up = await measureUpTime();
console.log(`up echo --nodes 5 --detach: median ${up.median_ms} ms (min ${up.min_ms}, max ${up.max_ms}, ${up.runs} runs); goal < 1000 ms`);
const router = await measureRouterThroughput();
console.log(
  `router throughput, 5 flooding nodes: ${router.messages_per_s} messages/s delivered; supervisor CPU ${router.supervisor_cpu_share.toFixed(2)} cores; ` +
    `backpressure drops ${router.backpressure_drops}; trace ${router.trace_mb} MB${router.trace_truncated ? ' (hit its cap)' : ''}; goal >= 100000 messages/s`,
);
const checker = measureChecker();
console.log(`checker, ${checker.ops} ops / ${checker.clients} clients / ${checker.keys} keys: median ${checker.median_ms} ms (max ${checker.max_ms}); goal < 1000 ms`);
const hot = measureHotKey();
console.log(`checker, ${hot.ops} ops on one key: ${hot.result} in ${hot.ms} ms (reference)`);
const rsim = await measureRaftSim();
console.log(`raft simulator: ${rsim.seeds_per_cpu_s} seeds per CPU second (median of ${rsim.rounds} rounds over seeds 1..${rsim.seeds}, ${rsim.events_per_seed} events per seed)`);
const dashboard = await measureDashboardCpu();
console.log(
  `dashboard CPU under load: ${(dashboard.dashboard_cpu_share * 100).toFixed(1)}% of a core (goal < 10%); ` +
    `events/s: full stream ${dashboard.all_events_per_s}, dashboard's stream ${dashboard.dashboard_events_per_s}`,
);
const frame = await measureDashboardFrame();
console.log(`dashboard frame, 5 nodes changing, one frame every 100 ms: ${frame.cpu_ms_per_frame.toFixed(2)} ms CPU per frame`);
const snow = await measureSnowflake();
console.log(
  `snowflake core in process: ${snow.core.ids_per_s} ids/s (${(snow.core.share_of_limit * 100).toFixed(1)}% of 4,096 per ms; goal >= 95%), duplicates ${snow.core.duplicates}; ` +
    `one worker through the router, batches of 1,000: ${snow.router.ids_per_s} ids/s (goal >= 2000000), duplicates ${snow.router.duplicates}; ` +
    `single generate: median ${snow.router.latency_ms.median.toFixed(2)} ms, p99 ${snow.router.latency_ms.p99.toFixed(2)} ms`,
);
if (process.argv.includes('--etcd')) {
  console.log(JSON.stringify(await compareWithEtcd(), null, 2));
} else {
  console.log('raft vs etcd: skipped (pass --etcd; it installs etcd-server and takes about two minutes)');
}
if (process.argv.includes('--zookeeper')) {
  const { compareWithZooKeeper } = await import('./zab-vs-zookeeper.mjs');
  console.log(JSON.stringify(await compareWithZooKeeper(), null, 2));
} else {
  console.log('zab vs ZooKeeper: skipped (pass --zookeeper; it installs zookeeper and takes about two minutes)');
}
