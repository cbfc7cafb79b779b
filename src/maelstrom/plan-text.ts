/**
 * The resolved plan in words, one line per setting, for `dslab test --dry-run`
 * and the head of a run's output: what will run, with every default filled in.
 */
import { formatDurationMs } from '../lib/util/units.js';
import type { MaelstromWorkload, TestPlan } from './options.js';
import { final_recovery_wait_s, hasFinalReads } from './timing.js';

/** Workloads whose generator reads --key-count, --max-txn-length and --max-writes-per-key (Maelstrom's transactional and log workloads). */
const keyed_workloads: readonly MaelstromWorkload[] = ['kafka', 'txn-list-append', 'txn-rw-register'];
/** Workloads checked against --consistency-models. */
const transactional_workloads: readonly MaelstromWorkload[] = ['txn-list-append', 'txn-rw-register'];
/** Node lists longer than this are shown as first … last. */
const nodes_listed_max = 8;

export function describeTestPlan(plan: TestPlan): string[] {
  const lines: [string, string][] = [
    ['workload', plan.workload],
    ['binary', [plan.bin, ...plan.bin_args].map(shellWord).join(' ')],
    ['nodes', `${plan.nodes.length}: ${listNodes(plan.nodes)}`],
    ['clients', String(plan.concurrency)],
    ['time limit', `${formatDurationMs(plan.time_limit_s * 1000)}${hasFinalReads(plan.workload) ? `, then heal, wait ${final_recovery_wait_s}s and ${plan.workload === 'kafka' ? 'poll until every offset known to be sent is read' : 'read once per client'}` : ''}`],
    ['rate', plan.rate_per_s === 0 ? '0 (no requests: the nodes run for the time limit)' : `${plan.rate_per_s} requests/s`],
    ['latency', plan.latency_ms === 0 ? 'none' : `${plan.latency_ms}ms ${plan.latency_dist} between nodes and to services (none to clients)`],
    ['nemesis', plan.nemesis.length === 0 ? 'none' : `${plan.nemesis.join(', ')}, about every ${formatDurationMs(plan.nemesis_interval_s * 1000)}`],
  ];
  if (plan.workload === 'broadcast') lines.push(['topology', plan.topology]);
  lines.push(['availability', plan.availability === null ? 'not checked' : plan.availability === 'total' ? 'total (every request must succeed)' : `at least ${plan.availability} of requests succeed`]);
  if (transactional_workloads.includes(plan.workload)) lines.push(['consistency', plan.consistency_models.join(', ')]);
  if (plan.workload === 'kafka') lines.push(['keys', `${plan.key_count ?? "the workload's default"} at once, ${plan.max_writes_per_key} sends per key`]);
  else if (keyed_workloads.includes(plan.workload)) {
    lines.push(['keys', `${plan.key_count ?? "the workload's default"} at once, ${plan.max_writes_per_key} writes per key, transactions of up to ${plan.max_txn_length} operations`]);
  }
  if (plan.test_count > 1) lines.push(['runs', `${plan.test_count}, stopping at the first that is not valid`]);
  const logged = [plan.log_stderr && "nodes' stderr", plan.log_net_send && 'messages sent', plan.log_net_recv && 'messages received'].filter(Boolean);
  if (logged.length > 0) lines.push(['log', logged.join(', ')]);
  const width = Math.max(...lines.map(([label]) => label.length));
  return lines.map(([label, text]) => `${label.padEnd(width)}  ${text}`);
}

function listNodes(nodes: readonly string[]): string {
  if (nodes.length <= nodes_listed_max) return nodes.join(' ');
  return `${nodes[0]} ${nodes[1]} … ${nodes[nodes.length - 1]}`;
}

/** A word as a shell would need it typed: quoted when it holds anything but plain characters. */
function shellWord(word: string): string {
  if (/^[\w./:=@%+,~-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
