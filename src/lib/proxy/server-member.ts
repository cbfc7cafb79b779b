import type { FaultModel } from '../faults/fault-model.js';
import { type LinkProxyCounters, LinkProxy, linkFateFromModel } from './link-proxy.js';
import type { RespLinkHost } from './resp-link.js';
import type { ServerKind } from './server-kinds.js';
import { type ServerExit, ServerProcess, type ServerStatus } from './server-process.js';

/**
 * A real server as one cluster member: the server process, and one link proxy
 * per node that may reach it. This is what the supervisor holds for a server
 * group member: it hands each node `addressFor(node)` in `init`, calls
 * `faultsChanged()` after every fault command, and routes kill, pause, resume,
 * restart and status here.
 */
export interface ServerMemberOptions {
  id: string;
  kind: ServerKind;
  /** The nodes that reach this server, each through its own proxy. */
  clients: readonly string[];
  /** The cluster's fault model; it must know `id` and every client. */
  faults: FaultModel;
  /** The randomness for loss and jitter (the supervisor's seeded PRNG). */
  random: () => number;
  data_dir: string;
  log_file: string;
  ready_timeout_ms?: number;
  onStart?(pid: number): void;
  onExit?(exit: ServerExit, pid: number): void;
  /** For a RESP server: what each client's link reaches of the cluster (its fault, the trace); absent, the links carry bytes only. */
  resp?(client: string): RespLinkHost;
}

export interface ServerLinkStatus {
  /** "n1->redis1" */
  link: string;
  client: string;
  /** What the client connects to: its proxy's "127.0.0.1:PORT". */
  address: string;
  counters: LinkProxyCounters;
}

export interface ServerMemberStatus extends ServerStatus {
  links: ServerLinkStatus[];
}

export class ServerMember {
  private constructor(
    readonly server: ServerProcess,
    private readonly proxies: ReadonlyMap<string, LinkProxy>,
  ) {}

  /** Starts the server, waits until it is ready, then opens one proxy per client. */
  static async start(options: ServerMemberOptions): Promise<ServerMember> {
    const server = await ServerProcess.start({
      id: options.id,
      kind: options.kind,
      data_dir: options.data_dir,
      log_file: options.log_file,
      ...(options.ready_timeout_ms !== undefined ? { ready_timeout_ms: options.ready_timeout_ms } : {}),
      ...(options.onStart ? { onStart: options.onStart } : {}),
      ...(options.onExit ? { onExit: options.onExit } : {}),
    });
    const proxies = new Map<string, LinkProxy>();
    try {
      for (const client of options.clients) {
        const proxy = await LinkProxy.start({
          client,
          server: options.id,
          target: () => ({ host: '127.0.0.1', port: server.port }),
          fate: linkFateFromModel(options.faults, client, options.id, options.random),
          ...(options.resp ? { resp: options.resp(client) } : {}),
        });
        proxies.set(client, proxy);
      }
    } catch (error) {
      for (const proxy of proxies.values()) await proxy.close();
      await server.stop();
      throw error;
    }
    return new ServerMember(server, proxies);
  }

  get id(): string {
    return this.server.id;
  }

  /** The address `client` uses to reach this server ("127.0.0.1:PORT" of its proxy); undefined for a node that has no link to it. */
  addressFor(client: string): string | undefined {
    return this.proxies.get(client)?.address;
  }

  proxyFor(client: string): LinkProxy | undefined {
    return this.proxies.get(client);
  }

  /** Call after every change to the cluster's faults: healed links release what they hold. */
  faultsChanged(): void {
    for (const proxy of this.proxies.values()) proxy.faultsChanged();
  }

  kill(): Promise<void> {
    return this.server.kill();
  }

  pause(): void {
    this.server.pause();
  }

  resume(): void {
    this.server.resume();
  }

  restart(): Promise<void> {
    return this.server.restart();
  }

  status(): ServerMemberStatus {
    const links = [...this.proxies].map(([client, proxy]) => ({ link: proxy.link, client, address: proxy.address, counters: proxy.counters() }));
    return { ...this.server.status(), links };
  }

  /** For `down`: closes every proxy (connections through them end), then stops the server. */
  async stop(): Promise<void> {
    for (const proxy of this.proxies.values()) await proxy.close();
    await this.server.stop();
  }
}
