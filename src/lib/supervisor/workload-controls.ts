import { pathToFileURL } from 'node:url';
import type { ActionResult } from '../control/api.js';
import type { WorkloadControl, WorkloadControlFactory, WorkloadHost } from '../plugin.js';
import { errorMessage, UserError } from '../util/errors.js';

/** A workload whose control operations this supervisor offers: its name, its control module's file, and the group whose nodes answer it. */
export interface SupervisorWorkload {
  name: string;
  module: string;
  group: string;
}

/**
 * The workloads' control operations (`dslab zk …`): each workload's module is
 * imported the first time an operation names it, and given a host whose
 * servers are its group's members. The supervisor knows no workload; their
 * modules come as file paths in its config (see WorkloadPlugin.control).
 */
export class WorkloadControls {
  private readonly loaded = new Map<string, Promise<WorkloadControl>>();
  private stopped = false;

  constructor(
    private readonly workloads: readonly SupervisorWorkload[],
    /** The host for one workload, given the members of the group that answers it. */
    private readonly hostFor: (workload: SupervisorWorkload) => WorkloadHost,
  ) {}

  async run(workload: string, op: string, args: Readonly<Record<string, unknown>>): Promise<ActionResult> {
    if (this.stopped) throw new UserError('the cluster is shutting down');
    const control = await this.control(workload);
    return control.run(op, args);
  }

  private control(name: string): Promise<WorkloadControl> {
    const known = this.loaded.get(name);
    if (known) return known;
    const workload = this.workloads.find((w) => w.name === name);
    if (!workload) {
      const offered = this.workloads.map((w) => w.name);
      throw new UserError(`this cluster offers no ${name} operations (${offered.length ? `it offers: ${offered.join(', ')}` : 'its system speaks no workload with operations of its own'})`);
    }
    const loading = import(pathToFileURL(workload.module).href).then(
      (module: { default?: WorkloadControlFactory }) => {
        if (typeof module.default !== 'function') throw new Error(`${workload.module} exports no default workload control factory`);
        return module.default(this.hostFor(workload));
      },
      (error: unknown) => {
        throw new Error(`could not load the ${name} workload's operations from ${workload.module}: ${errorMessage(error)}`);
      },
    );
    // A failed load is not kept, so a fixed module (a development build) loads on the next try.
    loading.catch(() => this.loaded.delete(name));
    this.loaded.set(name, loading);
    return loading;
  }

  /** Ends what every loaded workload keeps open. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    const controls = await Promise.allSettled([...this.loaded.values()]);
    await Promise.allSettled(controls.map((c) => (c.status === 'fulfilled' ? c.value.shutdown() : undefined)));
  }
}
