import type { ControlAction } from '../control/api.js';
import type { FaultModel, LinkFaults } from '../faults/fault-model.js';
import type { NemesisStep } from '../faults/nemesis.js';
import { isolate, parseLink, checkPartitionGroups, randomHalves } from '../faults/partition-spec.js';
import { errorMessage } from '../util/errors.js';
import type { SimNodeStatus } from './host.js';
import type { Scheduler } from './scheduler.js';

/**
 * Faults in a simulation are the control API's actions (what `dslab partition`,
 * `kill`, `pause`, `loss`, ... and the nemesis send to the supervisor), applied
 * to the virtual network's FaultModel and the host's nodes with the
 * supervisor's rules: the same references (a node id, `leader`, `random`), the
 * same refusals (kill a node that is down, resume one that is not paused).
 */

/** What a fault acts on; a SimHost is one. */
export interface SimCluster {
  readonly scheduler: Scheduler;
  readonly nodeIds: readonly string[];
  readonly network: { readonly faults: FaultModel };
  node(id: string): { readonly status: SimNodeStatus };
  start(id: string): boolean;
  crash(id: string): boolean;
  pause(id: string): boolean;
  resume(id: string): boolean;
}

/** What only the system knows. */
export interface SimFaultHooks {
  /** The node that leads now (an up node), for `leader` references; null when none does. */
  leader?: () => string | null;
  /** Asks the node's system to hand leadership to `node`; a string is the refusal. */
  transfer?: (node: string) => true | string;
}

export type FaultOutcome = { ok: true; description: string } | { ok: false; reason: string };

/** Applies one control action as a fault. Actions that are not faults (kv, load, send, ...) are refused. */
export function applySimFault(action: ControlAction, cluster: SimCluster, hooks: SimFaultHooks = {}): FaultOutcome {
  try {
    return perform(action, cluster, hooks);
  } catch (error) {
    // The partition parsers answer bad input with a UserError, as they do for the CLI.
    return { ok: false, reason: errorMessage(error) };
  }
}

function perform(action: ControlAction, cluster: SimCluster, hooks: SimFaultHooks): FaultOutcome {
  const faults = cluster.network.faults;
  const ids = cluster.nodeIds;
  switch (action.type) {
    case 'partition': {
      let groups: string[][];
      if (action.isolate) {
        const node = resolve(action.isolate, cluster, hooks, null);
        if (typeof node !== 'string') return node;
        groups = isolate(node, ids);
      } else if (action.groups && action.groups.length > 0) groups = checkPartitionGroups(action.groups, ids);
      else groups = randomHalves(ids, cluster.scheduler.rng);
      faults.setPartition(groups);
      return { ok: true, description: `partition ${groups.map((g) => `{${g.join(',')}}`).join(' | ')}` };
    }
    case 'heal':
      faults.heal();
      return { ok: true, description: 'healed' };
    case 'link_faults': {
      const link = action.link ? parseLink(action.link, ids) : undefined;
      if (action.jitter_ms !== undefined && action.delay_ms === undefined) return { ok: false, reason: 'jitter needs a delay' };
      const change: Partial<LinkFaults> = {};
      for (const field of ['delay_ms', 'jitter_ms', 'loss', 'duplicate', 'reorder'] as const) {
        const value = action[field];
        if (value !== undefined) change[field] = value;
      }
      faults.setLinkFaults(change, link);
      return { ok: true, description: `link faults ${JSON.stringify(change)}${link ? ` on ${link.join('-')}` : ''}` };
    }
    case 'kill':
      return lifecycle(action.node, ['up', 'paused'], 'is already down', 'killed', (id) => cluster.crash(id), cluster, hooks);
    case 'restart':
      return lifecycle(action.node, ['down'], 'is running', 'restarted', (id) => cluster.start(id), cluster, hooks);
    case 'pause':
      return lifecycle(action.node, ['up'], 'is not up', 'paused', (id) => cluster.pause(id), cluster, hooks);
    case 'resume':
      return lifecycle(action.node, ['paused'], 'is not paused', 'resumed', (id) => cluster.resume(id), cluster, hooks);
    case 'transfer': {
      if (!hooks.transfer) return { ok: false, reason: 'this system has no leadership transfer' };
      const node = resolve(action.node, cluster, hooks, null);
      if (typeof node !== 'string') return node;
      const outcome = hooks.transfer(node);
      return outcome === true ? { ok: true, description: `transfer to ${node}` } : { ok: false, reason: outcome };
    }
    default:
      return { ok: false, reason: `${action.type} is not a fault the simulator applies` };
  }
}

function lifecycle(
  ref: string,
  allowed: readonly SimNodeStatus[],
  refusal: string,
  done: string,
  act: (id: string) => boolean,
  cluster: SimCluster,
  hooks: SimFaultHooks,
): FaultOutcome {
  const node = resolve(ref, cluster, hooks, allowed);
  if (typeof node !== 'string') return node;
  if (!act(node)) return { ok: false, reason: `${node} ${refusal}` };
  return { ok: true, description: `${done} ${node}` };
}

/** A node reference as the supervisor reads it: an id, `leader`, or `random` (among nodes in an allowed state). */
function resolve(ref: string, cluster: SimCluster, hooks: SimFaultHooks, allowed: readonly SimNodeStatus[] | null): string | FaultOutcome {
  if (ref === 'leader') {
    const leader = hooks.leader?.() ?? null;
    return leader ?? { ok: false, reason: 'no node reports itself leader right now' };
  }
  if (ref === 'random') {
    const candidates = cluster.nodeIds.filter((id) => !allowed || allowed.includes(cluster.node(id).status));
    if (candidates.length === 0) return { ok: false, reason: `no node is ${allowed?.join(' or ')}` };
    return cluster.scheduler.rng.pick(candidates);
  }
  if (!cluster.nodeIds.includes(ref)) return { ok: false, reason: `unknown node "${ref}"` };
  return ref;
}

export interface NemesisCounters {
  steps: number;
  applied: number;
  refused: number;
}

/** A nemesis schedule running in virtual time. */
export class SimNemesis {
  readonly counters: NemesisCounters = { steps: 0, applied: 0, refused: 0 };
  private undo: ControlAction[] = [];
  private running = true;

  /**
   * Runs `steps` (from nemesisSchedule, the schedule `dslab nemesis` runs) from
   * start_ms on, the way the supervisor runs them: at each step the previous
   * step's fault is undone, then the step's fault applied; the last step only
   * heals. `apply` is usually applySimFault bound to a cluster.
   */
  constructor(
    private readonly scheduler: Scheduler,
    private readonly steps: readonly NemesisStep[],
    private readonly apply: (action: ControlAction) => FaultOutcome,
    start_ms: number = scheduler.now_ms,
    private readonly onAction?: (action: ControlAction, outcome: FaultOutcome) => void,
  ) {
    if (steps.length > 0) this.scheduler.at(start_ms + steps[0]!.at_ms, () => this.runStep(0, start_ms));
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Stops early, undoing the last fault and healing, as `dslab nemesis --stop` does. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.perform([...this.undo.splice(0), { type: 'heal' }]);
  }

  private runStep(index: number, start_ms: number): void {
    if (!this.running) return;
    const step = this.steps[index]!;
    this.counters.steps++;
    this.perform(this.undo.splice(0));
    if (step.apply) {
      this.perform([step.apply]);
      this.undo = [...step.undo];
    } else {
      this.perform(step.undo);
    }
    const next = this.steps[index + 1];
    if (next) this.scheduler.at(Math.max(start_ms + next.at_ms, this.scheduler.now_ms), () => this.runStep(index + 1, start_ms));
    else this.running = false;
  }

  private perform(actions: readonly ControlAction[]): void {
    for (const action of actions) {
      const outcome = this.apply(action);
      if (outcome.ok) this.counters.applied++;
      else this.counters.refused++;
      this.onAction?.(action, outcome);
    }
  }
}
