// The workloads' parts inside the supervisor: each workload's runtime, made on first use with what it
// is lent of the cluster (WorkloadHost), its operations run for the control API, closing checks and stop.
import type { Topology } from '../cluster/groups.js';
import type { ActionResult, ClusterStatus } from '../control/api.js';
import type { ClientTransport, ClosingCheck, WorkloadHost, WorkloadPlugin, WorkloadRuntime } from '../plugin.js';
import { errorMessage, UserError } from '../util/errors.js';
import type { Rng } from '../util/prng.js';
import { formatDurationMs } from '../util/units.js';
import { SessionClientIds } from './client-ids.js';
import { client_inboxes_max, type Clients } from './clients.js';
import type { SupervisorConfig } from './config.js';
import type { EventHub } from './event-hub.js';

/** How long `down` waits for the workloads to close what they keep open (sessions) before it stops the nodes anyway. */
export const workload_shutdown_ms_max = 3000;
/** How long `down` waits for the workloads' closing checks (the lock checker reading r1's record) before it stops the cluster without them. */
export const closing_check_timeout_ms = 20_000;

/** What the workloads' runtimes reach of the supervisor's parts. */
export interface WorkloadRuntimesHost {
  /** The workloads whose operations the control API may run. */
  readonly plugins: readonly WorkloadPlugin[];
  readonly config: SupervisorConfig;
  readonly topology: Topology;
  readonly transport: ClientTransport;
  /** Tells this supervisor's sessions from an earlier run's. */
  readonly session_tag: string;
  readonly clients: Clients;
  readonly events: EventHub;
  readonly rng: Rng;
  readonly log: { note(text: string): void };
}

export class WorkloadRuntimes {
  private readonly runtimes = new Map<string, WorkloadRuntime>();
  /** Client ids that workloads' long-lived clients (sessions) hold. */
  private readonly clientIds = new SessionClientIds();

  constructor(private readonly host: WorkloadRuntimesHost) {}

  /** The part of workload `name` inside this supervisor, made on first use. */
  private runtime(name: string): WorkloadRuntime {
    const existing = this.runtimes.get(name);
    if (existing) return existing;
    const plugin = this.host.plugins.find((w) => w.name === name);
    if (!plugin) throw new UserError(`unknown workload "${name}" (workloads: ${this.host.plugins.map((w) => w.name).join(', ') || 'none'})`);
    if (!plugin.runtime) throw new UserError(`workload ${name} has no operations to run (its grader steps drive it)`);
    const runtime = plugin.runtime(this.lend(name));
    this.runtimes.set(name, runtime);
    return runtime;
  }

  /** Runs the system's workloads' afterInit hooks (WorkloadPlugin.afterInit) on those of `nodes` each workload's group holds. */
  async afterInit(nodes: readonly string[]): Promise<void> {
    for (const plugin of this.host.plugins.filter((w) => w.afterInit && this.host.config.workloads?.includes(w.name))) {
      const servers = new Set(this.workloadServers(plugin.name));
      const own = nodes.filter((id) => servers.has(id));
      if (own.length > 0) await plugin.afterInit!(this.lend(plugin.name), own);
    }
  }

  /** What workload `name`'s code is lent of this supervisor. */
  private lend(name: string): WorkloadHost {
    return {
      transport: this.host.transport,
      session_tag: this.host.session_tag,
      emit: (event) => void this.host.events.emit(event),
      subscribe: (client, handler) => {
        const inbox = this.host.clients.inbox(client);
        if (!inbox) throw new UserError(`too many clients with an inbox (at most ${client_inboxes_max})`);
        return inbox.subscribe(handler);
      },
      rng: this.host.rng,
      options: this.host.config.options ?? {},
      servers: this.workloadServers(name),
      takeClientId: () => this.clientIds.take(),
      releaseClientId: (client) => this.clientIds.release(client),
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
  async closingChecks(status: ClusterStatus): Promise<ClosingCheck[]> {
    const checks: ClosingCheck[] = [];
    for (const plugin of this.host.plugins.filter((w) => w.closingCheck && this.host.config.workloads?.includes(w.name))) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no verdict within ${formatDurationMs(closing_check_timeout_ms)}`)), closing_check_timeout_ms)));
      let check: ClosingCheck | null;
      try {
        const result = await Promise.race([plugin.closingCheck!(this.lend(plugin.name), status), timeout]);
        check = result && { workload: plugin.name, ...result };
      } catch (error) {
        check = { workload: plugin.name, result: 'unknown', text: `${plugin.name}: could not check the run: ${errorMessage(error)}`, details: {} };
      } finally {
        clearTimeout(timer);
      }
      if (!check) continue;
      checks.push(check);
      this.host.log.note(`closing check of ${plugin.name}: ${check.text}`);
      this.host.events.emit({ type: 'notice', text: check.text });
    }
    return checks;
  }

  /** The members of the group that answers workload `name`. */
  private workloadServers(name: string): string[] {
    const group = this.host.config.workload_groups?.[name] ?? this.host.config.groups.find((g) => !g.server)?.name;
    return group === undefined ? [] : [...(this.host.topology.members(group) ?? [])];
  }

  async run(workload: string, op: string, args: Record<string, unknown>): Promise<ActionResult> {
    const runtime = this.runtime(workload);
    const operation = runtime.operations[op];
    if (!operation) throw new UserError(`workload ${workload} has no operation "${op}" (operations: ${Object.keys(runtime.operations).join(', ')})`);
    const parsed = operation.args.safeParse(args);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new UserError(`${workload} ${op}: ${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
    }
    return operation.run(parsed.data);
  }

  /** Stops every runtime made (closing its sessions), waiting at most workload_shutdown_ms_max. */
  async stop(): Promise<void> {
    let giveUp: NodeJS.Timeout | undefined;
    const stopping = Promise.allSettled([...this.runtimes.values()].map(async (runtime) => runtime.stop()));
    await Promise.race([stopping, new Promise((resolve) => (giveUp = setTimeout(resolve, workload_shutdown_ms_max)))]);
    clearTimeout(giveUp);
  }
}
