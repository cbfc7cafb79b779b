// Node processes from start to exit: data directories, spawning, Maelstrom's init, stopping, exits and
// the connections they close, clock offsets, and what a node does wrong (misbehaviour, failed starts).
import { rmSync } from 'node:fs';
import { makePrivateDir, type ClusterPaths } from '../cluster/paths.js';
import type { GroupConfig, Topology } from '../cluster/groups.js';
import type { MisbehaviourData } from '../control/api.js';
import { connection_closed_extension, fail_extension, line_bytes_max, type MessageBody, not_json_reasons, stdout_protocol_hint, supervisor_address } from '../protocol/messages.js';
import { no_app_fault } from '../faults/app-fault.js';
import { roleOf } from '../roles.js';
import { errorMessage, IndefiniteError, UserError } from '../util/errors.js';
import { explainingLine } from '../util/stderr.js';
import { fixedClientId } from './client-ids.js';
import type { Clients } from './clients.js';
import type { SupervisorConfig } from './config.js';
import type { NodeConnections } from './connections.js';
import type { EventHub } from './event-hub.js';
import { NodeLog, NodeProcess } from './node-process.js';
import { countMisbehaviour, describeExit, kill_wait_ms, type MisbehaviourKind, newNodeRecord, node_exit_grace_ms, type NodeRecord, type NodeWatchdog, waitForExit } from './node-table.js';
import type { Router } from './router.js';
import type { ServerMembers } from './servers.js';
import type { TraceWriter } from './trace.js';

/** What the node lifecycle reaches of the supervisor's parts. */
export interface NodeLifecycleHost {
  readonly config: SupervisorConfig;
  readonly paths: ClusterPaths;
  readonly topology: Topology;
  readonly nodes: Map<string, NodeRecord>;
  readonly servers: ServerMembers;
  readonly clients: Clients;
  readonly connections: NodeConnections;
  readonly router: Router;
  readonly trace: TraceWriter;
  readonly events: EventHub;
  /** The watchdog that kills the node processes if the supervisor dies; null before start and after stop. */
  watchdog(): NodeWatchdog | null;
  /** True once the cluster has begun to stop: exits are expected and go unannounced. */
  stopping(): boolean;
  /** A line a node printed on stdout. */
  onLine(node: NodeRecord, line: string): void;
  /** Whoever wants nodes' stderr lines live (`dslab test --log-stderr`); null when no one does. */
  stderrListener(): ((node: string, line: string) => void) | null;
  /** The connect string of the Zab servers' ZooKeeper client ports (127.0.0.1:P1,…), or null when the cluster has none: every node gets it as DSLAB_ZK_CONNECT. */
  zkConnect(): string | null;
  request(client: string, dest: string, body: Omit<MessageBody, 'msg_id'>, timeout_ms: number, allowStarting: boolean): Promise<MessageBody>;
}

export class NodeLifecycle {
  /** The first line a starting node printed wrong, which failed its init. */
  startLine: { node: string; line: string } | null = null;

  constructor(private readonly host: NodeLifecycleHost) {}

  private groupConfigOf(node: NodeRecord): GroupConfig {
    return this.host.config.groups.find((g) => g.name === node.group)!;
  }

  add(id: string): void {
    // A new cluster starts empty; restarts within a run (and --keep-data) keep what is there.
    if (!this.host.config.keep_data) rmSync(this.host.paths.dataDir(id), { recursive: true, force: true });
    makePrivateDir(this.host.paths.dataDir(id));
    this.host.nodes.set(id, newNodeRecord(id, this.host.topology.groupOf(id)!, new NodeLog(this.host.paths.logFile(id))));
  }

  spawn(node: NodeRecord): void {
    const group = this.groupConfigOf(node);
    node.log.note(`starting ${node.id}: ${group.command.join(' ')}`);
    node.status = 'starting';
    node.stopped_by = null;
    node.exit_code = null;
    node.exit_signal = null;
    node.wants_connection_closed = false;
    // The last report is kept (and shown) across the restart, but its role is the old process's until the new one says otherwise.
    node.role_stale = roleOf(node.state) !== null;
    const env: Record<string, string> = {
      DSLAB_NODE_ID: node.id,
      DSLAB_DATA_DIR: this.host.paths.dataDir(node.id),
      DSLAB_CLUSTER: this.host.config.name,
      DSLAB_GROUP: group.name,
      DSLAB_OPTIONS: JSON.stringify({ ...this.host.config.options, ...group.options }),
    };
    // The locks contenders hand it to their lock commands (kazoo, the user's --contender-cmd). Empty without
    // client ports: one inherited from the shell that ran dslab names another cluster's servers.
    env.DSLAB_ZK_CONNECT = this.host.zkConnect() ?? '';
    const proc = new NodeProcess(group.command, { cwd: this.host.config.cwd, env }, node.log, {
      onLine: (line) => this.host.onLine(node, line),
      onStderrLine: (line) => this.host.stderrListener()?.(node.id, line),
      onOversized: (chars) => this.misbehaved(node, 'oversized', `a line of ${chars} characters (limit 1 MiB) was discarded`, { kind: 'oversized', chars, limit_bytes: line_bytes_max }),
      onExit: (code, signal) => this.onExit(node, proc, code, signal),
    });
    node.proc = proc;
    if (proc.pid > 0) this.host.watchdog()?.watch(proc.pid);
  }

  /**
   * Maelstrom's init: node_ids are the node's own group, so a Maelstrom node
   * runs unchanged; with more than one group, dslab_groups lists every group's
   * members by group name (a single-group cluster's init is Maelstrom's alone).
   */
  private initBody(node: NodeRecord): Omit<MessageBody, 'msg_id'> {
    const body: Omit<MessageBody, 'msg_id'> = { type: 'init', node_id: node.id, node_ids: [...this.host.topology.members(node.group)!] };
    if (this.host.config.groups.length > 1) body.dslab_groups = this.host.topology.membersByName();
    const servers = this.host.servers.initEntries(node.id);
    if (servers) body.dslab_servers = servers;
    return body;
  }

  async init(node: NodeRecord): Promise<void> {
    const timeout_ms = this.host.config.init_timeout_ms;
    let reply: MessageBody;
    try {
      reply = await this.host.request(fixedClientId('supervisor'), node.id, this.initBody(node), timeout_ms, true);
    } catch (error) {
      // A start that failed on what the node printed (not on its exit) may be followed by its reason on stderr.
      await node.proc?.stderrSettled();
      const why = explainingLine(node.proc?.stderrTail ?? node.last_stderr);
      throw new UserError(`${errorMessage(error)}${why ? `; its stderr says: ${why}` : ''}`);
    }
    if (reply.type !== 'init_ok') {
      // A node that failed while handling init (and said so) has usually logged why.
      await node.proc?.stderrSettled();
      const why = explainingLine(node.proc?.stderrTail ?? node.last_stderr);
      throw new UserError(`${node.id} answered init with ${reply.type === 'error' ? `error ${String(reply.code)}: ${String(reply.text)}` : `"${reply.type}"`} instead of init_ok${why ? `; its stderr says: ${why}` : ''}`);
    }
    if (node.status === 'starting') node.status = 'up';
    // Opt-in only: a node that did not ask (any Maelstrom node) never gets a message it does not know.
    node.wants_connection_closed = reply[connection_closed_extension] === true;
    node.wants_fail = reply[fail_extension] === true;
    if (node.clock_offset_ms !== 0) this.sendClock(node);
    // A restarted node fails as the one before it did: the fault is the cluster's, not the process's.
    if (node.wants_fail && node.app_fault) this.sendFail(node);
    this.host.events.emit({ type: 'node_up', node: node.id, pid: node.proc!.pid, restarts: node.restarts });
  }

  /** Stops every running node as the cluster stops: end of input first, then SIGKILL for any still running after node_exit_grace_ms. */
  async stopAll(): Promise<void> {
    const live = [...this.host.nodes.values()].filter((n) => n.proc);
    for (const node of live) {
      node.stopped_by = 'cluster_stop';
      if (node.status === 'paused') node.proc!.signal('SIGCONT');
      node.proc!.closeStdin();
    }
    await Promise.all(live.map((n) => waitForExit(n, node_exit_grace_ms)));
    for (const node of live) node.proc?.signal('SIGKILL');
    await Promise.all(live.map((n) => waitForExit(n, kill_wait_ms)));
  }

  private onExit(node: NodeRecord, proc: NodeProcess, code: number | null, signal: string | null): void {
    if (node.proc !== proc) return;
    if (proc.pid > 0) this.host.watchdog()?.unwatch(proc.pid);
    node.status = 'down';
    node.exit_code = code;
    node.exit_signal = signal;
    node.last_stderr = [...proc.stderrTail];
    node.proc = null;
    this.host.clients.forgetLeader(node.id, `${node.id} went down`);
    node.log.note(`${node.id} exited (${describeExit(code, signal)})${node.stopped_by ? '' : ' unexpectedly'}`);
    this.host.clients.failRequests((type) => new IndefiniteError(`${node.id} exited (${describeExit(code, signal)}) before answering ${type}`), node.id);
    const peers = this.host.connections.closeAll(node.id);
    if (!this.host.stopping()) for (const peer of peers) this.noticeConnectionClosed(node.id, peer);
    if (!this.host.stopping()) {
      this.host.events.emit({ type: 'node_down', node: node.id, exit_code: code, signal, stderr_tail: node.last_stderr, expected: node.stopped_by !== null });
    }
    for (const wake of node.exit_waiters.splice(0)) wake();
  }

  /** Tells `peer`, if it asked, that its connection to `closed` closed: closed's process exited, as a TCP peer sees the FIN. */
  private noticeConnectionClosed(closed: string, peer: string): void {
    const node = this.host.nodes.get(peer);
    if (!node?.proc || !node.wants_connection_closed) return;
    const line = JSON.stringify({ src: supervisor_address, dest: peer, body: { type: connection_closed_extension, peer: closed } });
    this.host.router.closeNotice(closed, peer, line, Date.now());
  }

  private writeTo(node: NodeRecord, src: string, body: MessageBody, fate = 'client'): boolean {
    const line = JSON.stringify({ src, dest: node.id, body });
    this.host.trace.record(Date.now(), fate, line);
    if (!node.proc?.write(line)) return false;
    node.msgs_in++;
    return true;
  }

  sendClock(node: NodeRecord): void {
    this.writeTo(node, supervisor_address, { type: 'dslab_clock', offset_ms: node.clock_offset_ms });
  }

  /** Tells a running node its application fault (none: the all-clear); traced as delivered, so a checker sees when each fault began and ended. */
  sendFail(node: NodeRecord): void {
    const fault = node.app_fault ?? no_app_fault;
    this.writeTo(node, supervisor_address, { type: fail_extension, errors_pct: fault.errors_pct, latency_ms: fault.latency_ms, hang: fault.hang }, 'delivered');
  }

  misbehaved(node: NodeRecord, kind: MisbehaviourKind, detail: string, data: MisbehaviourData): void {
    // What a starting node printed wrong is why it will not start; a full stdin is the supervisor's writing, not the node's.
    if (node.status === 'starting' && kind !== 'backpressure') this.failStart(node, startMisbehaviour(data, detail), 'line' in data ? data.line : undefined);
    if (!countMisbehaviour(node, kind, Date.now())) return;
    node.log.note(`${kind} (${node.problems[kind]} so far): ${detail}`);
    this.host.events.emit({ type: 'node_misbehaved', node: node.id, problem: kind, detail, count: node.problems[kind], data });
  }

  /** Fails a starting node's init at once with what it did wrong, instead of waiting out the init timeout. */
  failStart(node: NodeRecord, why: string, line?: string): void {
    if (line !== undefined) this.startLine ??= { node: node.id, line };
    this.host.clients.failRequests(() => new UserError(`${node.id} ${why}`), node.id);
  }
}

/** Characters of an offending line kept in a misbehaviour report. */
const misbehaviour_line_chars_max = 200;

/** An offending line as a report quotes it: its first misbehaviour_line_chars_max characters. */
export function quoted(line: string): string {
  return line.slice(0, misbehaviour_line_chars_max);
}

/** What a node did wrong before answering init, as the reason its start failed ("printed a line that is not JSON …: hello"). */
function startMisbehaviour(data: MisbehaviourData, detail: string): string {
  if (data.kind !== 'unreadable') return `broke the protocol before answering init: ${detail}`;
  if (not_json_reasons.includes(data.reason)) return `printed a line that is ${data.reason} instead of answering init: ${data.line} ${stdout_protocol_hint}`;
  return `printed an invalid message instead of answering init (${data.reason}): ${data.line}`;
}
