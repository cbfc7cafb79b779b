import { rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { clusterPaths, type ClusterInfo, type ClusterPaths, makeClusterDir, writeClusterInfo } from '../cluster/paths.js';
import type { ActionResult, ClusterEvent, ClusterStatus, ControlAction } from '../control/api.js';
import { type MessageBody, nodes_max } from '../protocol/messages.js';
import { Topology } from '../cluster/groups.js';
import { findLeader, type LeaderFinding } from '../roles.js';
import { errorMessage, IndefiniteError, UserError } from '../util/errors.js';
import { createRng, type Rng } from '../util/prng.js';
import type { ClientTransport, ClosingCheck, WorkloadPlugin } from '../plugin.js';
import { ServiceHub } from '../services/hub.js';
import { type ControlTarget, serveControl } from '../control/server.js';
import { fixedClientId, kv_clients_max } from './client-ids.js';
import { Clients, pending_requests_max, request_timeout_ms_default } from './clients.js';
import { FaultActions, type FaultAction, isFaultAction } from './fault-actions.js';
import { EventHub } from './event-hub.js';
import { NodeConnections } from './connections.js';
import { NemesisRunner } from './nemesis-runner.js';
import { NodeLifecycle } from './node-lifecycle.js';
import { NodeMessages } from './node-messages.js';
import { type NodeRecord, NodeWatchdog } from './node-table.js';
import { Router } from './router.js';
import { ServerMembers } from './servers.js';
import { clusterInfo, clusterStatus, groupsInfo, type StatusSources } from './status.js';
import { describeStart, SupervisorLog } from './supervisor-log.js';
import { TraceWriter } from './trace.js';
import { closing_check_timeout_ms, workload_shutdown_ms_max, WorkloadRuntimes } from './workload-runtimes.js';
import type { SupervisorConfig } from './config.js';
import type { BaseLatency } from '../faults/fault-model.js';
import type { WireConnectionFactory } from '../zk-wire/host.js';
import { ZkClientPortSet } from './zk-ports.js';

export type { SupervisorConfig } from './config.js';
// The limits callers know the supervisor by, wherever each is defined.
export { closing_check_timeout_ms, kv_clients_max, nodes_max, pending_requests_max, request_timeout_ms_default, workload_shutdown_ms_max };
export const rates_interval_ms = 1000;
/** Links a rates event names (the busiest of the interval): what a dashboard line can show, not all 625 of 25 nodes. */
export const rates_links_max = 8;
/** Mixed into the cluster seed for the services' own PRNG, so their draws leave the fault PRNG's sequence as it was. */
const services_seed_salt = 0x5e41ce;

/** The code a supervisor runs besides its config (which is plain data): the workloads its clients speak, from src/registry.ts. */
export interface SupervisorPlugins {
  workloads: readonly WorkloadPlugin[];
  /** Sees each line a node writes on stderr as it comes (`dslab test --log-stderr`); the node logs keep them either way. */
  stderr?: (node: string, line: string) => void;
  /** Serves each ZooKeeper client connection on the Zab servers' ports (src/lib/zk-wire); absent: they are closed at once. */
  zk_wire?: WireConnectionFactory;
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
 * This class is the wiring: it makes the parts, hands each the others it
 * needs, and sequences start and stop; each concern's work is in its module
 * (node-lifecycle, node-messages, fault-actions, workload-runtimes, status).
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
  /** What status() reads. */
  private readonly statusSources: StatusSources;
  /** Node processes from spawn to exit. */
  private readonly lifecycle: NodeLifecycle;
  /** Each line a node prints and each message delivered to one. */
  private readonly nodeMessages: NodeMessages;
  /** Which node processes exchanged messages: whom to tell when one exits. */
  private readonly connections = new NodeConnections();
  private readonly rng: Rng;
  private get vocabulary() {
    return this.config.view.roles;
  }
  private server: Server | null = null;
  private readonly stderrListener: ((node: string, line: string) => void) | null;
  private watchdog: NodeWatchdog | null = null;
  private ratesTimer: NodeJS.Timeout | null = null;
  /** Router drops counted at the last rates event. */
  private droppedMark = 0;
  /** Router deliveries per link at the last rates event (null before the first). */
  private deliveredMark: Float64Array | null = null;
  private readonly nemesis = new NemesisRunner({ apply: (action, source) => this.apply(action, source), emit: (event) => void this.events.emit(event) });
  private stopping: Promise<void> | null = null;
  /** The workloads' parts made so far (each on first use), and their operations. */
  private readonly workloadRuntimes: WorkloadRuntimes;
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
  /** The Zab servers' ZooKeeper client ports; null without Zab servers (groups with zk_client_port). */
  private readonly zkPorts: ZkClientPortSet | null;

  private constructor(
    readonly config: SupervisorConfig,
    plugins: SupervisorPlugins,
  ) {
    this.topology = new Topology(config.groups);
    this.nodeIds = [...this.topology.nodeIds];
    this.stderrListener = plugins.stderr ?? null;
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
    this.router = new Router(this.nodeIds, this.rng, this.trace, (dest, line, src, envelope) => this.nodeMessages.deliver(dest, line, src, envelope), this.services.names, [fixedClientId('supervisor')]);
    if (config.latency) this.router.faults.setBaseLatency(config.latency);
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
      trace: (fate, line, delays_ms) => this.trace.record(Date.now(), fate, line, delays_ms),
    });
    this.workloadRuntimes = new WorkloadRuntimes({
      plugins: plugins.workloads,
      config,
      topology: this.topology,
      transport: this.clientTransport,
      session_tag: String(this.started_at_ms),
      clients: this.clients,
      events: this.events,
      rng: this.rng,
      log: this.log,
    });
    this.lifecycle = new NodeLifecycle({
      config,
      paths: this.paths,
      topology: this.topology,
      nodes: this.nodes,
      servers: this.servers,
      clients: this.clients,
      connections: this.connections,
      router: this.router,
      trace: this.trace,
      events: this.events,
      watchdog: () => this.watchdog,
      stopping: () => this.stopping !== null,
      onLine: (node, line) => this.nodeMessages.onLine(node, line),
      stderrListener: () => this.stderrListener,
      // The ports are bound before any node starts, so every node's environment carries the connect string (DSLAB_ZK_CONNECT).
      zkConnect: () => (this.zkPorts ? this.zkPorts.connectString() : null),
      request: (client, dest, body, timeout_ms, allowStarting) => this.request(client, dest, body, timeout_ms, allowStarting),
    });
    this.nodeMessages = new NodeMessages({
      nodes: this.nodes,
      trace: this.trace,
      lifecycle: this.lifecycle,
      clients: this.clients,
      router: this.router,
      services: this.services,
      servers: this.servers,
      connections: this.connections,
      events: this.events,
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
        this.lifecycle.spawn(node);
        await this.lifecycle.init(node);
        await this.workloadRuntimes.afterInit([node.id]);
      },
      sendClock: (node) => this.lifecycle.sendClock(node),
      sendFail: (node) => this.lifecycle.sendFail(node),
      request: (client, dest, body, timeout_ms) => this.request(client, dest, body, timeout_ms),
    });
    const zkServers = config.groups.flatMap((g) => (g.zk_client_port ? this.topology.members(g.name)!.map((id) => ({ id, tick_ms: g.zk_client_port!.tick_ms })) : []));
    this.zkPorts = zkServers.length === 0 ? null : new ZkClientPortSet(zkServers, {
      factory: plugins.zk_wire ?? null,
      server: (id) => this.nodes.get(id),
      request: (client, dest, body, timeout_ms) => this.request(client, dest, body, timeout_ms),
      subscribe: (client, handler) => this.clients.inbox(client)?.subscribe((message) => handler(message.body)) ?? (() => undefined),
      forget: (client) => this.clients.forgetInbox(client),
      emit: (event) => void this.events.emit(event),
      log: (line) => this.log.note(line),
    });
    // A server that went down closes its clients' connections, as its process's exit would.
    if (this.zkPorts) this.events.subscribe((event) => event.type === 'node_down' && this.zkPorts!.serverDown(event.node));
    this.statusSources = {
      config,
      paths: this.paths,
      started_at_ms: this.started_at_ms,
      nodes: this.nodes,
      router: this.router,
      services: this.services,
      servers: this.servers,
      clients: this.clients,
      nemesis: this.nemesis,
      trace: this.trace,
      faults: this.faultActions,
      zk: this.zkPorts,
      leaderFinding: () => this.leaderFinding(),
    };
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
      // Before any process starts, so a port that cannot be had fails the start at once; until a server is up its port closes what connects.
      await supervisor.zkPorts?.start(config.zk_port);
      // Servers first: each node's init carries the addresses of its proxies to them.
      await supervisor.servers.start();
      const programIds = supervisor.topology.programIds;
      for (const id of programIds) supervisor.lifecycle.add(id);
      for (const id of programIds) supervisor.lifecycle.spawn(supervisor.nodes.get(id)!);
      await Promise.all(programIds.map((id) => supervisor.lifecycle.init(supervisor.nodes.get(id)!)));
      await supervisor.workloadRuntimes.afterInit(programIds);
      rmSync(supervisor.paths.socket, { force: true });
      supervisor.server = await serveControl(supervisor, supervisor.paths.socket);
    } catch (error) {
      const failure = error instanceof UserError ? error : new UserError(errorMessage(error));
      supervisor.startError = failure.message;
      supervisor.log.note(`failed to start: ${failure.message}`);
      await supervisor.shutdown();
      throw new ClusterStartError(failure.message, supervisor.status(), [...supervisor.events.history()], supervisor.lifecycle.startLine);
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
      ...(supervisor.zkPorts ? { zk_connect_string: supervisor.zkPorts.connectString() } : {}),
      groups: groupsInfo(config, supervisor.topology).map((g) => {
        const server = config.groups.find((c) => c.name === g.name)?.server;
        return { name: g.name, nodes: g.nodes, ...(server ? { server: server.kind } : {}) };
      }),
    });
    return supervisor;
  }

  info(running: boolean): ClusterInfo {
    return clusterInfo(this.config, this.topology, this.paths, this.started_at_ms, { running, start_error: this.startError, zk: running ? (this.zkPorts?.info() ?? null) : null });
  }

  // ---- messages --------------------------------------------------------

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

  private emitRates(): void {
    const nodes: Record<string, { in_per_s: number; out_per_s: number }> = {};
    const seconds = rates_interval_ms / 1000;
    for (const node of this.nodes.values()) {
      nodes[node.id] = { in_per_s: (node.msgs_in - node.rate_mark.in) / seconds, out_per_s: (node.msgs_out - node.rate_mark.out) / seconds };
      node.rate_mark = { in: node.msgs_in, out: node.msgs_out };
    }
    const dropped = this.router.droppedTotal;
    const delivered = this.router.deliveredSnapshot();
    const { links, active } = this.router.busiestLinks(this.deliveredMark, delivered, seconds, rates_links_max);
    this.events.emit({
      type: 'rates',
      interval_ms: rates_interval_ms,
      nodes,
      dropped_per_s: (dropped - this.droppedMark) / seconds,
      heard_from: this.router.lastDeliveries(),
      links,
      links_active: active,
    });
    this.droppedMark = dropped;
    this.deliveredMark = delivered;
  }

  /** How clients in this process reach the nodes (`dslab test`'s clients, the grader's steps). */
  get transport(): ClientTransport {
    return this.clientTransport;
  }

  /** Sets the network's base latency (Maelstrom's --latency; null removes it): every node and service link, no client's; heal leaves it. */
  setBaseLatency(latency: BaseLatency | null): void {
    this.router.faults.setBaseLatency(latency);
    this.log.note(latency ? `base latency ${latency.mean_ms}ms ${latency.dist} on every node and service link` : 'no base latency');
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
        return this.workloadRuntimes.run(action.workload, action.op, action.args ?? {});
      case 'down':
        return { description: 'stopping the cluster' };
    }
  }

  /**
   * The closing checks of the system's workloads, run while every node still runs, just before
   * `down` stops them (see WorkloadRuntimes.closingChecks); none once the cluster is stopping.
   */
  async closingChecks(): Promise<ClosingCheck[]> {
    if (this.stopping) return [];
    return this.workloadRuntimes.closingChecks(this.status());
  }

  status(): ClusterStatus {
    return clusterStatus(this.statusSources);
  }

  /** Stops every node (EOF first, then SIGKILL), the control API and the trace. Idempotent. */
  shutdown(): Promise<void> {
    this.stopping ??= this.stopEverything();
    return this.stopping;
  }

  private async stopEverything(): Promise<void> {
    this.nemesis.halt();
    if (this.ratesTimer) clearInterval(this.ratesTimer);
    // Real clients first: their connections would only see the servers go.
    await this.zkPorts?.stop();
    // Sessions close while the nodes can still hear it, so their ephemerals go now rather than at expiry.
    await this.workloadRuntimes.stop();
    this.router.stop();
    await this.lifecycle.stopAll();
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
