import { rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { clusterPaths, type ClusterGroupInfo, type ClusterInfo, type ClusterPaths, makeClusterDir, makePrivateDir, writeClusterInfo } from '../cluster/paths.js';
import type { ActionResult, ClusterEvent, ClusterStatus, ControlAction, MisbehaviourData, NodeStatus } from '../control/api.js';
import { connection_closed_extension, type Envelope, isClientId, line_bytes_max, type MessageBody, nodes_max, not_json_reasons, parseEnvelope, type ParseResult, stdout_protocol_hint, supervisor_address } from '../protocol/messages.js';
import { type GroupConfig, Topology } from '../cluster/groups.js';
import { findLeader, type LeaderFinding, roleOf } from '../roles.js';
import { errorMessage, IndefiniteError, UserError } from '../util/errors.js';
import { createRng, type Rng } from '../util/prng.js';
import { formatDurationMs } from '../util/units.js';
import { explainingLine } from '../util/stderr.js';
import type { ClientTransport, ClosingCheck, WorkloadHost, WorkloadPlugin, WorkloadRuntime } from '../plugin.js';
import { ServiceHub } from '../services/hub.js';
import { type ControlTarget, serveControl } from '../control/server.js';
import { fixedClientId, kv_clients_max, SessionClientIds } from './client-ids.js';
import { client_inboxes_max, Clients, pending_requests_max, request_timeout_ms_default } from './clients.js';
import { FaultActions, type FaultAction, isFaultAction } from './fault-actions.js';
import { EventHub } from './event-hub.js';
import { NodeConnections } from './connections.js';
import { NemesisRunner } from './nemesis-runner.js';
import { NodeLog, NodeProcess } from './node-process.js';
import { countMisbehaviour, describeExit, kill_wait_ms, type MisbehaviourKind, newNodeRecord, node_exit_grace_ms, type NodeRecord, nodeStatusOf, NodeWatchdog, waitForExit } from './node-table.js';
import { Router } from './router.js';
import type { SupervisorConfig } from './config.js';

export type { SupervisorConfig } from './config.js';
import { ServerMembers } from './servers.js';
import { SupervisorLog } from './supervisor-log.js';
import { TraceWriter } from './trace.js';

export { kv_clients_max, nodes_max };
export const rates_interval_ms = 1000;
export { pending_requests_max, request_timeout_ms_default };
/** Mixed into the cluster seed for the services' own PRNG, so their draws leave the fault PRNG's sequence as it was. */
const services_seed_salt = 0x5e41ce;
/** How long `down` waits for the workloads to close what they keep open (sessions) before it stops the nodes anyway. */
export const workload_shutdown_ms_max = 3000;
/** How long `down` waits for the workloads' closing checks (the lock checker reading r1's record) before it stops the cluster without them. */
export const closing_check_timeout_ms = 20_000;

/** The code a supervisor runs besides its config (which is plain data): the workloads its clients speak, from src/registry.ts. */
export interface SupervisorPlugins {
  workloads: readonly WorkloadPlugin[];
}

/** A cluster that did not start, with what its nodes had done by then (graders explain the failure from it). */
export class ClusterStartError extends UserError {
  override name = 'ClusterStartError';
  constructor(
    message: string,
    readonly status: ClusterStatus,
    readonly events: readonly ClusterEvent[],
    /** The line a starting node printed wrong, when that is what failed the start (the message quotes it). */
    readonly line_told: { node: string; line: string } | null = null,
  ) {
    super(message);
  }
}

/**
 * The supervisor of one cluster: it owns the node processes, routes every
 * message through the router, applies faults, and serves the control API.
 */
export class Supervisor implements ControlTarget {
  readonly events = new EventHub();
  readonly nodeIds: string[];
  readonly topology: Topology;
  readonly paths: ClusterPaths;
  readonly done: Promise<void>;
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly router: Router;
  /** Maelstrom's built-in services (lin-kv, …): router endpoints answered inside the supervisor. */
  private readonly services: ServiceHub;
  /** Real servers (server groups' members), reached by the nodes through per-link proxies. */
  private readonly servers: ServerMembers;
  private readonly trace: TraceWriter;
  /** Faults injected and undone on the control API's and the nemesis's behalf. */
  private readonly faultActions: FaultActions;
  /** Which node processes exchanged messages: whom to tell when one exits. */
  private readonly connections = new NodeConnections();
  private readonly rng: Rng;
  private get vocabulary() {
    return this.config.view.roles;
  }
  private server: Server | null = null;
  private watchdog: NodeWatchdog | null = null;
  private ratesTimer: NodeJS.Timeout | null = null;
  /** Router drops counted at the last rates event. */
  private droppedMark = 0;
  private readonly nemesis = new NemesisRunner({ apply: (action, source) => this.apply(action, source), emit: (event) => void this.events.emit(event) });
  private stopping: Promise<void> | null = null;
  /** The workloads whose operations the control API may run, and their parts made so far (each on first use). */
  private readonly workloads: readonly WorkloadPlugin[];
  private readonly workloadRuntimes = new Map<string, WorkloadRuntime>();
  private readonly clientTransport: ClientTransport = {
    request: (client, dest, body, timeout_ms) => this.request(client, dest, body, timeout_ms),
    leader: () => this.leader(),
    upNodes: () => [...this.nodes.values()].filter((n) => n.status === 'up').map((n) => n.id),
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
  private resolveDone!: () => void;
  private readonly started_at_ms = Date.now();
  /** Requests in flight, their replies, client inboxes and the inferred leader. */
  private readonly clients: Clients;
  /** The supervisor's own log (`dslab logs supervisor`). */
  readonly log: SupervisorLog;
  /** Why start() failed, kept in the cluster's record. */
  private startError: string | null = null;
  /** The first line a starting node printed wrong, which failed its init. */
  private startLine: { node: string; line: string } | null = null;
  /** Client ids that workloads' long-lived clients (sessions) hold. */
  private readonly workloadClientIds = new SessionClientIds();

  private constructor(
    readonly config: SupervisorConfig,
    plugins: SupervisorPlugins,
  ) {
    this.workloads = plugins.workloads;
    this.topology = new Topology(config.groups);
    this.nodeIds = [...this.topology.nodeIds];
    this.paths = clusterPaths(config.home, config.name);
    this.rng = createRng(config.seed);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    makeClusterDir(config.home, this.paths);
    this.log = new SupervisorLog(this.paths.supervisorLog);
    this.log.note(describeStart(config, this.nodeIds, this.paths.dir));
    this.log.follow(this.events);
    // Recorded before any node starts, so a start that fails leaves a stopped cluster that logs, status and down can name.
    writeClusterInfo(this.paths.info, this.info(false));
    this.trace = new TraceWriter(this.paths.trace);
    this.clients = new Clients({
      vocabulary: config.view.roles,
      emit: (event) => void this.events.emit(event),
      send: (client, dest, line) => this.sendFromClient(client, dest, line),
      now: () => Date.now(),
    });
    this.services = new ServiceHub(createRng((config.seed ^ services_seed_salt) >>> 0));
    this.router = new Router(this.nodeIds, this.rng, this.trace, (dest, line, src, envelope) => this.deliver(dest, line, src, envelope), this.services.names, [fixedClientId('supervisor')]);
    this.servers = new ServerMembers({
      topology: this.topology,
      faults: this.router.faults,
      random: () => this.rng.next(),
      paths: this.paths,
      keep_data: config.keep_data ?? false,
      watch: (pid) => this.watchdog?.watch(pid),
      unwatch: (pid) => this.watchdog?.unwatch(pid),
      emit: (event) => void this.events.emit(event),
      stopping: () => this.stopping !== null,
    });
    this.faultActions = new FaultActions({
      nodes: this.nodes,
      nodeIds: this.nodeIds,
      topology: this.topology,
      grouped: config.groups.length > 1,
      system: config.system,
      vocabulary: config.view.roles,
      faults: this.router.faults,
      services: this.services,
      servers: this.servers,
      clients: this.clients,
      events: this.events,
      rng: this.rng,
      stopping: () => this.stopping !== null,
      leaderFinding: () => this.leaderFinding(),
      restartNode: async (node) => {
        node.restarts++;
        this.spawnNode(node);
        await this.initNode(node);
      },
      sendClock: (node) => this.sendClock(node),
      request: (client, dest, body, timeout_ms) => this.request(client, dest, body, timeout_ms),
    });
  }

  /** Starts the nodes, initialises them and serves the control API. Cleans up and throws UserError on failure. */
  static async start(config: SupervisorConfig, plugins: SupervisorPlugins): Promise<Supervisor> {
    const single = config.groups.length === 1 ? config.groups[0]! : null;
    if (single && (!Number.isInteger(single.count) || single.count < 1 || single.count > nodes_max)) {
      throw new UserError(`--nodes must be between 1 and ${nodes_max}, got ${single.count}`);
    }
    const supervisor = new Supervisor(config, plugins);
    try {
      supervisor.watchdog = new NodeWatchdog();
      // Servers first: each node's init carries the addresses of its proxies to them.
      await supervisor.servers.start();
      const programIds = supervisor.topology.programIds;
      for (const id of programIds) supervisor.addNode(id);
      for (const id of programIds) supervisor.spawnNode(supervisor.nodes.get(id)!);
      await Promise.all(programIds.map((id) => supervisor.initNode(supervisor.nodes.get(id)!)));
      rmSync(supervisor.paths.socket, { force: true });
      supervisor.server = await serveControl(supervisor, supervisor.paths.socket);
    } catch (error) {
      const failure = error instanceof UserError ? error : new UserError(errorMessage(error));
      supervisor.startError = failure.message;
      supervisor.log.note(`failed to start: ${failure.message}`);
      await supervisor.shutdown();
      throw new ClusterStartError(failure.message, supervisor.status(), [...supervisor.events.history()], supervisor.startLine);
    }
    supervisor.ratesTimer = setInterval(() => supervisor.emitRates(), rates_interval_ms);
    writeClusterInfo(supervisor.paths.info, supervisor.info(true));
    supervisor.events.emit({
      type: 'cluster_up',
      name: config.name,
      system: config.system,
      nodes: supervisor.nodeIds,
      seed: config.seed,
      view: config.view,
      groups: supervisor.groupsInfo().map((g) => {
        const server = config.groups.find((c) => c.name === g.name)?.server;
        return { name: g.name, nodes: g.nodes, ...(server ? { server: server.kind } : {}) };
      }),
    });
    return supervisor;
  }

  info(running: boolean): ClusterInfo {
    return {
      name: this.config.name,
      system: this.config.system,
      nodes: this.nodeIds,
      command: this.config.groups[0]!.command,
      groups: this.groupsInfo(),
      seed: this.config.seed,
      dir: this.paths.dir,
      socket: this.paths.socket,
      supervisor_pid: process.pid,
      started_at_ms: this.started_at_ms,
      running,
      start_error: this.startError,
    };
  }

  /** The groups as the cluster's record lists them. */
  groupsInfo(): ClusterGroupInfo[] {
    return this.config.groups.map((g) => ({ name: g.name, prefix: g.prefix, nodes: [...this.topology.members(g.name)!] }));
  }

  private groupConfigOf(node: NodeRecord): GroupConfig {
    return this.config.groups.find((g) => g.name === node.group)!;
  }

  // ---- processes -------------------------------------------------------

  private addNode(id: string): void {
    // A new cluster starts empty; restarts within a run (and --keep-data) keep what is there.
    if (!this.config.keep_data) rmSync(this.paths.dataDir(id), { recursive: true, force: true });
    makePrivateDir(this.paths.dataDir(id));
    this.nodes.set(id, newNodeRecord(id, this.topology.groupOf(id)!, new NodeLog(this.paths.logFile(id))));
  }

  private spawnNode(node: NodeRecord): void {
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
      DSLAB_DATA_DIR: this.paths.dataDir(node.id),
      DSLAB_CLUSTER: this.config.name,
      DSLAB_GROUP: group.name,
      DSLAB_OPTIONS: JSON.stringify({ ...this.config.options, ...group.options }),
    };
    const proc = new NodeProcess(group.command, { cwd: this.config.cwd, env }, node.log, {
      onLine: (line) => this.onNodeLine(node, line),
      onOversized: (chars) => this.misbehaved(node, 'oversized', `a line of ${chars} characters (limit 1 MiB) was discarded`, { kind: 'oversized', chars, limit_bytes: line_bytes_max }),
      onExit: (code, signal) => this.onNodeExit(node, proc, code, signal),
    });
    node.proc = proc;
    if (proc.pid > 0) this.watchdog?.watch(proc.pid);
  }

  /**
   * Maelstrom's init: node_ids are the node's own group, so a Maelstrom node
   * runs unchanged; with more than one group, dslab_groups lists every group's
   * members by group name (a single-group cluster's init is Maelstrom's alone).
   */
  private initBody(node: NodeRecord): Omit<MessageBody, 'msg_id'> {
    const body: Omit<MessageBody, 'msg_id'> = { type: 'init', node_id: node.id, node_ids: [...this.topology.members(node.group)!] };
    if (this.config.groups.length > 1) body.dslab_groups = this.topology.membersByName();
    const servers = this.servers.initEntries(node.id);
    if (servers) body.dslab_servers = servers;
    return body;
  }

  private async initNode(node: NodeRecord): Promise<void> {
    const timeout_ms = this.config.init_timeout_ms;
    let reply: MessageBody;
    try {
      reply = await this.request(fixedClientId('supervisor'), node.id, this.initBody(node), timeout_ms, true);
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
    if (node.clock_offset_ms !== 0) this.sendClock(node);
    this.events.emit({ type: 'node_up', node: node.id, pid: node.proc!.pid, restarts: node.restarts });
  }

  private onNodeExit(node: NodeRecord, proc: NodeProcess, code: number | null, signal: string | null): void {
    if (node.proc !== proc) return;
    if (proc.pid > 0) this.watchdog?.unwatch(proc.pid);
    node.status = 'down';
    node.exit_code = code;
    node.exit_signal = signal;
    node.last_stderr = [...proc.stderrTail];
    node.proc = null;
    this.clients.forgetLeader(node.id, `${node.id} went down`);
    node.log.note(`${node.id} exited (${describeExit(code, signal)})${node.stopped_by ? '' : ' unexpectedly'}`);
    this.clients.failRequests((type) => new IndefiniteError(`${node.id} exited (${describeExit(code, signal)}) before answering ${type}`), node.id);
    const peers = this.connections.closeAll(node.id);
    if (!this.stopping) for (const peer of peers) this.noticeConnectionClosed(node.id, peer);
    if (!this.stopping) {
      this.events.emit({ type: 'node_down', node: node.id, exit_code: code, signal, stderr_tail: node.last_stderr, expected: node.stopped_by !== null });
    }
    for (const wake of node.exit_waiters.splice(0)) wake();
  }

  /** Tells `peer`, if it asked, that its connection to `closed` closed: closed's process exited, as a TCP peer sees the FIN. */
  private noticeConnectionClosed(closed: string, peer: string): void {
    const node = this.nodes.get(peer);
    if (!node?.proc || !node.wants_connection_closed) return;
    const line = JSON.stringify({ src: supervisor_address, dest: peer, body: { type: connection_closed_extension, peer: closed } });
    this.router.closeNotice(closed, peer, line, Date.now());
  }

  // ---- messages --------------------------------------------------------

  private onNodeLine(node: NodeRecord, line: string): void {
    const parsed = parseEnvelope(line);
    if (!parsed.ok) {
      const what = not_json_reasons.includes(parsed.reason) ? parsed.reason : `invalid message, ${parsed.reason}`;
      this.misbehaved(node, 'garbage', `${what}: ${quoted(line)}`, { kind: 'unreadable', reason: parsed.reason, line: quoted(line) });
      return;
    }
    const { src, dest, body } = parsed.envelope;
    if (body.type === 'init' && node.status === 'starting') {
      // Echoing what arrives is a first program's usual mistake; waiting out the init timeout would only hide it.
      node.log.note(`sent init back before answering it: ${quoted(line)}`);
      this.failStart(node, `sent init back instead of answering it with init_ok: ${quoted(line)}`);
      return;
    }
    if (src !== node.id) {
      // As in Maelstrom, a node may pass a client's request on to another node under the client's id;
      // the node that handles it then answers the client directly.
      if (this.clients.known.has(src) && this.router.isNode(dest) && dest !== node.id) {
        node.msgs_out++;
        node.forwarded++;
        // Faults apply to the hop this message really takes: from the forwarding node to dest.
        this.router.route(node.id, dest, line, Date.now());
        return;
      }
      const forwarded = this.clients.known.has(src);
      const why = forwarded ? `a message forwarded for client ${src} must go to another node, not "${dest}"` : `message claims src "${src}" but came from ${node.id} (a node may use only its own id or a known client's)`;
      this.misbehaved(node, 'garbage', `${why}: ${quoted(line)}`, forwarded ? { kind: 'bad_forward', client: src, dest, line: quoted(line) } : { kind: 'wrong_src', claimed: src, line: quoted(line) });
      return;
    }
    node.msgs_out++;
    if (this.servers.has(dest)) {
      this.misbehaved(node, 'unknown_dest', `${dest} is a real server, not a node: reach it over TCP at its address in init's dslab_servers: ${quoted(line)}`, { kind: 'unknown_dest', dest, line: quoted(line), server: true });
    } else if (this.router.isNode(dest)) {
      this.router.route(src, dest, line, Date.now());
    } else if (this.services.has(dest)) {
      this.router.route(src, dest, line, Date.now());
    } else if (dest === supervisor_address) {
      this.onExtension(node, body);
    } else if (isClientId(dest)) {
      // Clients are router endpoints: a fault that names the client cuts this link too.
      this.router.route(src, dest, line, Date.now(), parsed.envelope);
    } else {
      this.misbehaved(node, 'unknown_dest', `message to unknown destination "${dest}": ${quoted(line)}`, { kind: 'unknown_dest', dest, line: quoted(line) });
    }
  }

  private deliver(dest: string, line: string, src: string, envelope?: Envelope): boolean {
    if (this.services.has(dest)) {
      // The service answers at once; its replies cross the router back, faults and all.
      for (const reply of this.services.receive(dest, line, Date.now())) this.router.route(reply.src, reply.dest, reply.line, Date.now());
      return true;
    }
    const node = this.nodes.get(dest);
    if (!node) {
      // A client: a node's line was parsed when it was read (a service's answer is parsed here).
      const parsed: ParseResult = envelope ? { ok: true, envelope } : parseEnvelope(line);
      // A service's answer to a client's write says nothing about which node leads.
      if (parsed.ok) this.clients.receive(parsed.envelope.src, dest, parsed.envelope.body, this.router.isNode(parsed.envelope.src));
      return true;
    }
    if (!node.proc) return true; // a down node's network card is unplugged
    if (node.proc.write(line)) {
      node.msgs_in++;
      // Between two live node processes a delivered message means a connection, which the sender's exit closes.
      if (src !== dest && this.nodes.get(src)?.proc) this.connections.opened(src, dest);
      return true;
    }
    this.misbehaved(node, 'backpressure', 'not reading its stdin; a message to it was dropped', { kind: 'backpressure' });
    return false;
  }

  private writeTo(node: NodeRecord, src: string, body: MessageBody): boolean {
    const line = JSON.stringify({ src, dest: node.id, body });
    this.trace.record(Date.now(), 'client', line);
    if (!node.proc?.write(line)) return false;
    node.msgs_in++;
    return true;
  }

  private onExtension(node: NodeRecord, body: MessageBody): void {
    if (body.type === 'dslab_state') {
      let changed = false;
      for (const [key, value] of Object.entries(body)) {
        if (key === 'type' || key === 'msg_id') continue;
        if (key === 'role' && node.role_stale) {
          node.role_stale = false;
          changed = true;
        }
        if (node.state[key] !== value) {
          node.state[key] = value;
          changed = true;
        }
      }
      node.state_at_ms = Date.now();
      if (changed) this.events.emit({ type: 'node_state', node: node.id, state: { ...node.state } });
    } else if (body.type === 'dslab_apply') {
      this.events.emit({ type: 'node_apply', node: node.id, index: body.index, term: body.term, op: body.op });
    } else {
      this.misbehaved(node, 'unknown_dest', `unknown dslab extension "${body.type}"`, { kind: 'unknown_extension', extension: body.type });
    }
  }

  /** Sends a client request to a node and waits for its reply. */
  request(client: string, dest: string, body: Omit<MessageBody, 'msg_id'>, timeout_ms: number, allowStarting = false): Promise<MessageBody> {
    const node = this.nodes.get(dest);
    // A service answers clients as it answers nodes, over the router (a fault on the client's link to it applies).
    if (!node && this.services.has(dest)) return this.clients.request(client, dest, body, timeout_ms);
    if (!node && this.servers.has(dest)) return Promise.reject(new UserError(this.servers.sendRefusal(dest)));
    if (!node) return Promise.reject(new UserError(`unknown node "${dest}" (${this.config.groups.length > 1 ? `groups: ${this.topology.describe()}` : `nodes: ${this.nodeIds.join(', ')}`})`));
    if (node.status === 'down' || (node.status === 'starting' && !allowStarting)) {
      return Promise.reject(new UserError(`${dest} is ${node.status === 'down' ? 'down' : 'still starting'}`));
    }
    return this.clients.request(client, dest, body, timeout_ms);
  }

  /** A client's request line to a node, over the router like any link; false when the node is not reading its input. */
  private sendFromClient(client: string, dest: string, line: string): boolean {
    return this.router.route(client, dest, line, Date.now());
  }

  private sendClock(node: NodeRecord): void {
    this.writeTo(node, supervisor_address, { type: 'dslab_clock', offset_ms: node.clock_offset_ms });
  }

  private misbehaved(node: NodeRecord, kind: MisbehaviourKind, detail: string, data: MisbehaviourData): void {
    // What a starting node printed wrong is why it will not start; a full stdin is the supervisor's writing, not the node's.
    if (node.status === 'starting' && kind !== 'backpressure') this.failStart(node, startMisbehaviour(data, detail), 'line' in data ? data.line : undefined);
    if (!countMisbehaviour(node, kind, Date.now())) return;
    node.log.note(`${kind} (${node.problems[kind]} so far): ${detail}`);
    this.events.emit({ type: 'node_misbehaved', node: node.id, problem: kind, detail, count: node.problems[kind], data });
  }

  /** Fails a starting node's init at once with what it did wrong, instead of waiting out the init timeout. */
  private failStart(node: NodeRecord, why: string, line?: string): void {
    if (line !== undefined) this.startLine ??= { node: node.id, line };
    this.clients.failRequests(() => new UserError(`${node.id} ${why}`), node.id);
  }

  private emitRates(): void {
    const nodes: Record<string, { in_per_s: number; out_per_s: number }> = {};
    const seconds = rates_interval_ms / 1000;
    for (const node of this.nodes.values()) {
      nodes[node.id] = { in_per_s: (node.msgs_in - node.rate_mark.in) / seconds, out_per_s: (node.msgs_out - node.rate_mark.out) / seconds };
      node.rate_mark = { in: node.msgs_in, out: node.msgs_out };
    }
    const dropped = this.router.droppedTotal;
    this.events.emit({ type: 'rates', interval_ms: rates_interval_ms, nodes, dropped_per_s: (dropped - this.droppedMark) / seconds, heard_from: this.router.lastDeliveries() });
    this.droppedMark = dropped;
  }

  // ---- control ---------------------------------------------------------

  /** Who leads (see roles.ts): a live node reporting a leading role, or else the node inferred from client replies. */
  leaderFinding(): LeaderFinding | null {
    return findLeader(this.vocabulary, [...this.nodes.values()], this.clients.inferredLeader);
  }

  leader(): string | null {
    return this.leaderFinding()?.id ?? null;
  }

  async apply(action: ControlAction, source: 'cli' | 'nemesis' = 'cli'): Promise<ActionResult> {
    if (this.stopping) throw new UserError('the cluster is shutting down');
    return isFaultAction(action) ? this.faultActions.apply(action, source) : this.perform(action);
  }

  private async perform(action: Exclude<ControlAction, FaultAction>): Promise<ActionResult> {
    switch (action.type) {
      case 'nemesis_start':
        return this.nemesis.start(action.seed, this.nodeIds, action.interval_ms, action.duration_ms);
      case 'nemesis_stop':
        return this.nemesis.stop();
      case 'send': {
        const reply = await this.request(fixedClientId('send'), action.dest, action.body, action.timeout_ms ?? request_timeout_ms_default);
        return { description: `${action.dest} answered ${reply.type}`, reply };
      }
      case 'workload':
        return this.runWorkloadOperation(action.workload, action.op, action.args ?? {});
      case 'down':
        return { description: 'stopping the cluster' };
    }
  }

  /** The part of workload `name` inside this supervisor, made on first use. */
  private workloadRuntime(name: string): WorkloadRuntime {
    const existing = this.workloadRuntimes.get(name);
    if (existing) return existing;
    const plugin = this.workloads.find((w) => w.name === name);
    if (!plugin) throw new UserError(`unknown workload "${name}" (workloads: ${this.workloads.map((w) => w.name).join(', ') || 'none'})`);
    if (!plugin.runtime) throw new UserError(`workload ${name} has no operations to run (its grader steps drive it)`);
    const runtime = plugin.runtime(this.workloadHost(name));
    this.workloadRuntimes.set(name, runtime);
    return runtime;
  }

  /** What workload `name`'s code is lent of this supervisor. */
  private workloadHost(name: string): WorkloadHost {
    return {
      transport: this.clientTransport,
      session_tag: String(this.started_at_ms),
      emit: (event) => void this.events.emit(event),
      subscribe: (client, handler) => {
        const inbox = this.clients.inbox(client);
        if (!inbox) throw new UserError(`too many clients with an inbox (at most ${client_inboxes_max})`);
        return inbox.subscribe(handler);
      },
      rng: this.rng,
      servers: this.workloadServers(name),
      takeClientId: () => this.workloadClientIds.take(),
      releaseClientId: (client) => this.workloadClientIds.release(client),
      after: (ms, run) => {
        const timer = setTimeout(run, ms);
        return () => clearTimeout(timer);
      },
    };
  }

  /**
   * The closing checks of the system's workloads (WorkloadPlugin.closingCheck), run while every node
   * still runs, just before `down` stops them: each is said in the supervisor's log and as a notice.
   * One that fails or outlasts closing_check_timeout_ms is an unknown result, and the cluster stops anyway.
   */
  async closingChecks(): Promise<ClosingCheck[]> {
    if (this.stopping) return [];
    const status = this.status();
    const checks: ClosingCheck[] = [];
    for (const plugin of this.workloads.filter((w) => w.closingCheck && this.config.workloads?.includes(w.name))) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no verdict within ${formatDurationMs(closing_check_timeout_ms)}`)), closing_check_timeout_ms)));
      let check: ClosingCheck | null;
      try {
        const result = await Promise.race([plugin.closingCheck!(this.workloadHost(plugin.name), status), timeout]);
        check = result && { workload: plugin.name, ...result };
      } catch (error) {
        check = { workload: plugin.name, result: 'unknown', text: `${plugin.name}: could not check the run: ${errorMessage(error)}`, details: {} };
      } finally {
        clearTimeout(timer);
      }
      if (!check) continue;
      checks.push(check);
      this.log.note(`closing check of ${plugin.name}: ${check.text}`);
      this.events.emit({ type: 'notice', text: check.text });
    }
    return checks;
  }

  /** The members of the group that answers workload `name`. */
  private workloadServers(name: string): string[] {
    const group = this.config.workload_groups?.[name] ?? this.config.groups.find((g) => !g.server)?.name;
    return group === undefined ? [] : [...(this.topology.members(group) ?? [])];
  }

  private async runWorkloadOperation(workload: string, op: string, args: Record<string, unknown>): Promise<ActionResult> {
    const runtime = this.workloadRuntime(workload);
    const operation = runtime.operations[op];
    if (!operation) throw new UserError(`workload ${workload} has no operation "${op}" (operations: ${Object.keys(runtime.operations).join(', ')})`);
    const parsed = operation.args.safeParse(args);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new UserError(`${workload} ${op}: ${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
    }
    return operation.run(parsed.data);
  }

  status(): ClusterStatus {
    const leader = this.leaderFinding();
    const nodes: NodeStatus[] = [...this.nodes.values()].map(nodeStatusOf);
    return {
      name: this.config.name,
      system: this.config.system,
      view: this.config.view,
      dir: this.paths.dir,
      supervisor_pid: process.pid,
      seed: this.config.seed,
      started_at_ms: this.started_at_ms,
      uptime_ms: Date.now() - this.started_at_ms,
      nodes,
      faults: this.faultActions.activeFaults(),
      partition: this.router.faults.partition(),
      active_faults: this.faultActions.activeFaultData(),
      links: this.router.linkCounters().map(({ link, counters }) => ({ link, ...counters })),
      services: this.services.counters(),
      ...(this.servers.size > 0 ? { servers: this.servers.status() } : {}),
      client_messages: this.clients.messageCounts(),
      leader: leader?.id ?? null,
      leader_inferred: leader?.inferred ?? false,
      nemesis: this.nemesis.state(),
      trace: { path: this.trace.path, bytes: this.trace.bytes, truncated: this.trace.truncated },
    };
  }

  /** Stops every node (EOF first, then SIGKILL), the control API and the trace. Idempotent. */
  shutdown(): Promise<void> {
    this.stopping ??= this.stopEverything();
    return this.stopping;
  }

  private async stopEverything(): Promise<void> {
    this.nemesis.halt();
    if (this.ratesTimer) clearInterval(this.ratesTimer);
    // Sessions close while the nodes can still hear it, so their ephemerals go now rather than at expiry.
    let giveUp: NodeJS.Timeout | undefined;
    const stopping = Promise.allSettled([...this.workloadRuntimes.values()].map(async (runtime) => runtime.stop()));
    await Promise.race([stopping, new Promise((resolve) => (giveUp = setTimeout(resolve, workload_shutdown_ms_max)))]);
    clearTimeout(giveUp);
    this.router.stop();
    const live = [...this.nodes.values()].filter((n) => n.proc);
    for (const node of live) {
      node.stopped_by = 'cluster_stop';
      if (node.status === 'paused') node.proc!.signal('SIGCONT');
      node.proc!.closeStdin();
    }
    await Promise.all(live.map((n) => waitForExit(n, node_exit_grace_ms)));
    for (const node of live) node.proc?.signal('SIGKILL');
    await Promise.all(live.map((n) => waitForExit(n, kill_wait_ms)));
    this.clients.failRequests(() => new IndefiniteError('the cluster is shutting down'));
    await this.servers.stop();
    this.watchdog?.close();
    // Announce the end while event readers are still connected.
    this.events.emit({ type: 'cluster_down', name: this.config.name });
    if (this.server) {
      const server = this.server;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      rmSync(this.paths.socket, { force: true });
    }
    await Promise.all([...this.nodes.values()].map((n) => n.log.close()));
    await this.trace.close();
    writeClusterInfo(this.paths.info, this.info(false));
    await this.log.close();
    this.resolveDone();
  }
}

/** Characters of an offending line kept in a misbehaviour report. */
const misbehaviour_line_chars_max = 200;

function quoted(line: string): string {
  return line.slice(0, misbehaviour_line_chars_max);
}

/** What a node did wrong before answering init, as the reason its start failed ("printed a line that is not JSON …: hello"). */
function startMisbehaviour(data: MisbehaviourData, detail: string): string {
  if (data.kind !== 'unreadable') return `broke the protocol before answering init: ${detail}`;
  if (not_json_reasons.includes(data.reason)) return `printed a line that is ${data.reason} instead of answering init: ${data.line} ${stdout_protocol_hint}`;
  return `printed an invalid message instead of answering init (${data.reason}): ${data.line}`;
}

/** The first line of a run in the supervisor's log: everything the cluster was started with. */
function describeStart(config: SupervisorConfig, nodeIds: string[], dir: string): string {
  const options = config.options && Object.keys(config.options).length ? JSON.stringify(config.options) : 'defaults';
  return (
    `starting cluster ${config.name}: system ${config.system}, nodes ${nodeIds.join(',')}, seed ${config.seed}, ` +
    `${describeCommands(config)}, options ${options}, init timeout ${formatDurationMs(config.init_timeout_ms)}, ` +
    `${config.keep_data ? 'keeping' : 'emptying'} the data directories; supervisor pid ${process.pid}, directory ${dir}`
  );
}

/** "node command: …", or with groups each group's. */
function describeCommands(config: SupervisorConfig): string {
  if (config.groups.length === 1) return `node command: ${config.groups[0]!.command.join(' ')}`;
  return config.groups.map((g) => `group ${g.name} (${g.prefix}1..${g.prefix}${g.count}) command: ${g.command.join(' ')}${g.options && Object.keys(g.options).length ? ` options ${JSON.stringify(g.options)}` : ''}`).join(', ');
}
