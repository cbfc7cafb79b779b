import { spawn, type ChildProcess } from 'node:child_process';
import type { NodeStatus, NodeStatusKind, NodeStopper } from '../control/api.js';
import type { AppFault } from '../faults/app-fault.js';
import type { NodeLog, NodeProcess } from './node-process.js';

/** How long nodes get to exit on stdin EOF before they are killed. */
export const node_exit_grace_ms = 2000;
/** How long a kill waits to see the process exit. */
export const kill_wait_ms = 5000;
/** At most one misbehaviour event per node and kind in this window; the count covers the rest. */
export const misbehaviour_report_interval_ms = 1000;

export type MisbehaviourKind = 'garbage' | 'oversized' | 'unknown_dest' | 'backpressure';

/** One node of the cluster, across its restarts: its process (while it runs), counters and last report. */
export interface NodeRecord {
  id: string;
  /** The node group it belongs to ("nodes" in a single-group cluster). */
  group: string;
  status: NodeStatusKind;
  proc: NodeProcess | null;
  exit_code: number | null;
  exit_signal: string | null;
  restarts: number;
  msgs_in: number;
  msgs_out: number;
  /** Messages the node sent on behalf of a client (src = the client), Maelstrom-style forwarding. */
  forwarded: number;
  problems: Record<MisbehaviourKind, number>;
  problem_reported_ms: Record<MisbehaviourKind, number>;
  clock_offset_ms: number;
  state: Record<string, unknown>;
  state_at_ms: number | null;
  /** True from a restart until the new process reports a role: the role in `state` is the old process's. */
  role_stale: boolean;
  last_stderr: string[];
  /** Who is stopping or stopped the current (or last) process, when it was not the process itself; null while nothing asked it to stop. */
  stopped_by: NodeStopper | null;
  /** The current process asked in its init_ok to be told when a peer's process exits (dslab_connection_closed). */
  wants_connection_closed: boolean;
  /** The current (or last) process declared in its init_ok that it takes application faults (dslab_fail). */
  wants_fail: boolean;
  /** The application fault in force (`dslab fail`), kept across restarts; null when none. */
  app_fault: AppFault | null;
  exit_waiters: (() => void)[];
  rate_mark: { in: number; out: number };
  log: NodeLog;
}

/** A node that has not started yet. */
export function newNodeRecord(id: string, group: string, log: NodeLog): NodeRecord {
  const zero = { garbage: 0, oversized: 0, unknown_dest: 0, backpressure: 0 };
  return {
    id,
    group,
    status: 'starting',
    proc: null,
    exit_code: null,
    exit_signal: null,
    restarts: 0,
    msgs_in: 0,
    msgs_out: 0,
    forwarded: 0,
    problems: { ...zero },
    problem_reported_ms: { ...zero },
    clock_offset_ms: 0,
    state: {},
    state_at_ms: null,
    role_stale: false,
    last_stderr: [],
    stopped_by: null,
    wants_connection_closed: false,
    wants_fail: false,
    app_fault: null,
    exit_waiters: [],
    rate_mark: { in: 0, out: 0 },
    log,
  };
}

/** Counts one misbehaviour; true when it should be reported (the first of its kind in misbehaviour_report_interval_ms). */
export function countMisbehaviour(node: NodeRecord, kind: MisbehaviourKind, now_ms: number): boolean {
  node.problems[kind]++;
  if (now_ms - node.problem_reported_ms[kind] < misbehaviour_report_interval_ms) return false;
  node.problem_reported_ms[kind] = now_ms;
  return true;
}

/** Resolves once the node's process has exited, or after timeout_ms. */
export function waitForExit(node: NodeRecord, timeout_ms: number): Promise<void> {
  if (!node.proc) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeout_ms);
    node.exit_waiters.push(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The node as `status` reports it. */
export function nodeStatusOf(node: NodeRecord): NodeStatus {
  return {
    id: node.id,
    group: node.group,
    pid: node.proc?.pid ?? null,
    status: node.status,
    exit_code: node.exit_code,
    exit_signal: node.exit_signal,
    restarts: node.restarts,
    msgs_in: node.msgs_in,
    msgs_out: node.msgs_out,
    forwarded: node.forwarded,
    garbage_lines: node.problems.garbage,
    oversized_lines: node.problems.oversized,
    unknown_dest: node.problems.unknown_dest,
    backpressure_drops: node.problems.backpressure,
    clock_offset_ms: node.clock_offset_ms,
    state: { ...node.state },
    state_at_ms: node.state_at_ms,
    role_stale: node.role_stale,
    stderr_tail: node.proc ? [...node.proc.stderrTail] : [...node.last_stderr],
    stopped_by: node.proc ? null : node.stopped_by,
  };
}

export function describeExit(code: number | null, signal: string | null): string {
  if (signal) return `signal ${signal}`;
  return `exit code ${code ?? 'unknown'}`;
}

const watchdog_script = `
declare -A groups
while IFS= read -r line; do
  case "$line" in
    +*) groups[\${line:1}]=1 ;;
    -*) unset "groups[\${line:1}]" ;;
  esac
done
for g in "\${!groups[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done
`;

/**
 * Nodes exit on stdin EOF when the supervisor dies, but a paused node cannot read;
 * this sidecar outlives a SIGKILLed supervisor and kills whatever process groups are left.
 */
export class NodeWatchdog {
  private readonly child: ChildProcess;

  constructor() {
    this.child = spawn('bash', ['-c', watchdog_script], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    this.child.stdin!.on('error', () => undefined);
    this.child.unref();
  }

  /** A node process group to kill if the supervisor dies. */
  watch(pid: number): void {
    this.child.stdin?.write(`+${pid}\n`);
  }

  unwatch(pid: number): void {
    this.child.stdin?.write(`-${pid}\n`);
  }

  /** The supervisor is stopping on its own: the watchdog kills what is left and exits. */
  close(): void {
    this.child.stdin?.end();
  }
}
