import { rmSync } from 'node:fs';
import { type ClusterPaths, makePrivateDir } from '../cluster/paths.js';
import { type GroupConfig, memberIds, type Topology } from '../cluster/groups.js';
import type { ActionResult, FaultDetail, NewClusterEvent, ServerRow } from '../control/api.js';
import type { FaultModel } from '../faults/fault-model.js';
import { type AppFault, isNoAppFault, no_app_fault } from '../faults/app-fault.js';
import type { RespLinkHost } from '../proxy/resp-link.js';
import { serverKindOf } from '../proxy/server-kinds.js';
import { ServerMember } from '../proxy/server-member.js';
import type { ServerState } from '../proxy/server-process.js';
import { UserError } from '../util/errors.js';

/** What a node finds for each server in init's dslab_servers: the address of its own proxied link to it. */
export interface InitServerEntry {
  kind: string;
  group: string;
  address: string;
}

export interface ServerMembersOptions {
  topology: Topology;
  faults: FaultModel;
  random: () => number;
  paths: ClusterPaths;
  keep_data: boolean;
  watch(pid: number): void;
  unwatch(pid: number): void;
  emit(event: NewClusterEvent): void;
  /** True once `down` began: exits then are the cluster stopping, not events. */
  stopping(): boolean;
  /** Records a line in the cluster's trace (a RESP server's commands and replies, as its proxies frame them). */
  trace(fate: string, line: string, delays_ms?: readonly number[]): void;
}

/** The node-lifecycle actions a server member takes like a node. */
/** A server's state as a node's status reads. */
const node_status_of_server: Record<ServerState, string> = { starting: 'starting', running: 'up', paused: 'paused', exited: 'down' };

export type ServerAction = { type: 'kill' | 'restart' | 'pause' | 'resume'; node: string };

/**
 * The cluster's real servers (server groups' members): started before the
 * nodes, since each node's init carries its proxies' addresses, and stopped
 * after them. Their ids are ordinary members of the fault model, so every
 * fault command covers them; after each one the proxies re-read it.
 */
export class ServerMembers {
  private readonly members = new Map<string, ServerMember>();
  private readonly groupOf = new Map<string, string>();
  /** Application faults (`dslab fail`) on servers that speak RESP, applied by their link proxies. */
  private readonly appFaults = new Map<string, AppFault>();
  private readonly respServers = new Set<string>();

  constructor(private readonly options: ServerMembersOptions) {}

  has(id: string): boolean {
    return this.groupOf.has(id);
  }

  get size(): number {
    return this.groupOf.size;
  }

  /** Starts every server group's members, one proxy per program node; on failure stops those already started and throws. */
  async start(): Promise<void> {
    const { topology, paths } = this.options;
    const clients = topology.programIds;
    for (const group of topology.groups.filter((g): g is GroupConfig & { server: NonNullable<GroupConfig['server']> } => g.server !== undefined)) {
      const kind = serverKindOf(group.server);
      for (const id of memberIds(group)) {
        this.groupOf.set(id, group.name);
        if (!this.options.keep_data) rmSync(paths.dataDir(id), { recursive: true, force: true });
        makePrivateDir(paths.dataDir(id));
        const member = await ServerMember.start({
          id,
          kind,
          clients,
          faults: this.options.faults,
          random: this.options.random,
          data_dir: paths.dataDir(id),
          log_file: paths.logFile(id),
          ...(kind.resp ? { resp: (client: string) => this.respHost(id, client) } : {}),
          onStart: (pid) => this.options.watch(pid),
          onExit: (exit, pid) => {
            this.options.unwatch(pid);
            if (this.options.stopping()) return;
            this.options.emit({ type: 'node_down', node: id, exit_code: exit.exit_code, signal: exit.signal, stderr_tail: this.members.get(id)?.status().output_tail ?? [], expected: exit.expected });
          },
        });
        this.members.set(id, member);
        if (kind.resp) this.respServers.add(id);
        this.options.emit({ type: 'node_up', node: id, pid: member.server.pid ?? -1, restarts: 0 });
      }
    }
  }

  /** What the proxy of `client`'s link to RESP server `id` reaches: the server's fault, the trace, the link's message numbers. */
  private respHost(id: string, client: string): RespLinkHost {
    let next_id = 0;
    return {
      fault: () => this.appFaults.get(id) ?? no_app_fault,
      trace: (line, delay_ms = 0) => this.options.trace('delivered', line, [delay_ms]),
      nextId: () => ++next_id,
      random: this.options.random,
    };
  }

  /** Whether `dslab fail` can act on this server: its proxies speak its protocol. */
  takesAppFaults(id: string): boolean {
    return this.respServers.has(id);
  }

  /** Sets (or, with none, clears) a server's application fault; traced as a dslab_fail to it, as a node's is. */
  setAppFault(id: string, fault: AppFault): void {
    if (isNoAppFault(fault)) this.appFaults.delete(id);
    else this.appFaults.set(id, fault);
    this.options.trace('delivered', JSON.stringify({ src: 'dslab', dest: id, body: { type: 'dslab_fail', ...fault } }));
  }

  /** The application faults in force on servers, by id. */
  appFaultsInForce(): ReadonlyMap<string, AppFault> {
    return this.appFaults;
  }

  /** init's dslab_servers for one node: every server, at the address of that node's proxy to it. */
  initEntries(node: string): Record<string, InitServerEntry> | null {
    if (this.members.size === 0) return null;
    const entries: Record<string, InitServerEntry> = {};
    for (const [id, member] of this.members) {
      const address = member.addressFor(node);
      if (address) entries[id] = { kind: member.server.status().kind, group: this.groupOf.get(id)!, address };
    }
    return entries;
  }

  /** After every change to the faults: healed links release the bytes they held. */
  faultsChanged(): void {
    for (const member of this.members.values()) member.faultsChanged();
  }

  /** Servers a paused-nodes list should name. */
  paused(): string[] {
    return [...this.members].filter(([, m]) => m.status().state === 'paused').map(([id]) => id);
  }

  /** kill, restart, pause or resume on a server member, with the node_* events a node's would emit. */
  async perform(action: ServerAction): Promise<{ result: ActionResult; fault: FaultDetail }> {
    const member = this.members.get(action.node);
    if (!member) throw new UserError(`${action.node} is not running (it failed to start)`);
    const id = member.id;
    switch (action.type) {
      case 'kill':
        await member.kill();
        return { result: { description: `killed ${id} (${member.server.status().kind} server)`, node: id }, fault: { action: 'kill', node: id } };
      case 'restart': {
        await member.restart();
        const status = member.server.status();
        this.options.emit({ type: 'node_up', node: id, pid: status.pid ?? -1, restarts: status.restarts });
        return { result: { description: `restarted ${id} on ${status.address} with its data directory`, node: id }, fault: { action: 'restart', node: id } };
      }
      case 'pause':
        member.pause();
        this.options.emit({ type: 'node_paused', node: id });
        return { result: { description: `paused ${id}`, node: id }, fault: { action: 'pause', node: id } };
      case 'resume':
        member.resume();
        this.options.emit({ type: 'node_resumed', node: id });
        return { result: { description: `resumed ${id}`, node: id }, fault: { action: 'resume', node: id } };
    }
  }

  /** Members whose state reads as one of `states` in node terms (running is up, exited is down). */
  inStates(states: readonly string[]): string[] {
    return [...this.members].filter(([, m]) => states.includes(node_status_of_server[m.status().state])).map(([id]) => id);
  }

  /** Why `dslab send` cannot message a server, and how to reach it instead, in one line. */
  sendRefusal(id: string): string {
    const member = this.members.get(id);
    if (!member) return `${id} is a real server that is not running (it failed to start)`;
    const { kind, address, port } = member.server.status();
    const direct = kind === 'redis' ? ` (redis-cli -p ${port})` : '';
    return `${id} is a real ${kind} server: it speaks its own protocol over TCP, not dslab messages. Talk to it at ${address}${direct}, where no faults apply; nodes reach it through their proxies (init's dslab_servers)`;
  }

  status(): ServerRow[] {
    return [...this.members].map(([id, member]) => ({ group: this.groupOf.get(id)!, ...member.status() }));
  }

  /** For `down`: every proxy and server stopped, those that fail to stop notwithstanding. */
  async stop(): Promise<void> {
    await Promise.all([...this.members.values()].map((m) => m.stop().catch(() => undefined)));
  }
}
