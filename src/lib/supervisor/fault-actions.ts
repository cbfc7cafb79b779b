// Applying the control actions that inject or undo a fault (partition, heal, link faults, kill, restart,
// pause, resume, skew, transfer) and saying which faults are in force; the supervisor hands these over.
import type { ActionResult, ActiveFaults, ControlAction, FaultDetail, NodeStatusKind } from '../control/api.js';
import { type AppFault, describeAppFault, isNoAppFault, no_app_fault } from '../faults/app-fault.js';
import type { MessageBody } from '../protocol/messages.js';
import type { Topology } from '../cluster/groups.js';
import { describeDrops, describePartition, type FaultModel } from '../faults/fault-model.js';
import { checkPartitionGroups, isClientEndpoint, isolate, parseLinks, randomHalves, splitLink } from '../faults/partition-spec.js';
import { electsLeaders, type LeaderFinding, onMajoritySide, roleOf, type RoleVocabulary } from '../roles.js';
import type { ServiceHub } from '../services/hub.js';
import { UserError } from '../util/errors.js';
import type { Rng } from '../util/prng.js';
import { formatDurationMs, formatPercent } from '../util/units.js';
import { fixedClientId } from './client-ids.js';
import { type Clients, request_timeout_ms_default } from './clients.js';
import type { EventHub } from './event-hub.js';
import { kill_wait_ms, type NodeRecord, waitForExit } from './node-table.js';
import type { ServerMembers } from './servers.js';

/** What fault actions reach of the supervisor's parts. */
export interface FaultHost {
  readonly nodes: ReadonlyMap<string, NodeRecord>;
  readonly nodeIds: readonly string[];
  readonly topology: Topology;
  /** More than one node group: unknown-node messages list the groups. */
  readonly grouped: boolean;
  readonly system: string;
  readonly vocabulary: RoleVocabulary;
  readonly faults: FaultModel;
  readonly services: ServiceHub;
  readonly servers: ServerMembers;
  readonly clients: Clients;
  readonly events: EventHub;
  readonly rng: Rng;
  /** True once the cluster has begun to stop: no action is applied any more. */
  stopping(): boolean;
  leaderFinding(): LeaderFinding | null;
  /** Starts a down node's process again with its data directory, and waits for its init. */
  restartNode(node: NodeRecord): Promise<void>;
  /** Tells a running node its clock offset. */
  sendClock(node: NodeRecord): void;
  /** Tells a running node its application fault (none: the all-clear). */
  sendFail(node: NodeRecord): void;
  request(client: string, dest: string, body: Omit<MessageBody, 'msg_id'>, timeout_ms: number): Promise<MessageBody>;
}

export class FaultActions {
  constructor(private readonly host: FaultHost) {}

  /** Applies a fault action, each group member's in turn, and emits a `fault` event for each. */
  async apply(action: FaultAction, source: 'cli' | 'nemesis'): Promise<ActionResult> {
    if (this.host.stopping()) throw new UserError('the cluster is shutting down');
    const members = this.fanOut(action);
    if (members) return this.applyEach(members, source);
    const { result, fault } = await this.performFault(action, source);
    // The proxies to real servers read the fault model afresh: a healed link releases the bytes it held.
    this.host.servers.faultsChanged();
    this.host.events.emit({ type: 'fault', action: fault.action, fault, description: result.description, faults: this.activeFaults(), active: this.activeFaultData(), source });
    return result;
  }

  /** The node a command names: an id, "leader" or "random". */
  resolveNode(ref: string, allowed: NodeStatusKind[] | null = null): NodeRecord {
    let node: NodeRecord | undefined;
    if (ref === 'leader') {
      const id = this.host.leaderFinding()?.id;
      if (!id) throw new UserError(this.noLeaderReason());
      node = this.host.nodes.get(id);
    } else if (ref === 'random') {
      const candidates = [...this.host.nodes.values()].filter((n) => !allowed || allowed.includes(n.status));
      if (candidates.length === 0) throw new UserError(`no node is ${allowed?.join(' or ')}`);
      node = this.host.rng.pick(candidates);
    } else {
      node = this.host.nodes.get(ref);
      if (!node && this.host.services.has(ref)) throw new UserError(`${ref} is a Maelstrom service inside the supervisor, not a process: it cannot be killed, paused or skewed; cut it off instead (dslab partition --isolate ${ref}, or dslab loss 100% --link n1-${ref})`);
      if (!node && this.host.servers.has(ref)) throw new UserError(`${ref} is a real server: kill, pause, resume and restart act on it; other node commands do not`);
      if (!node) throw new UserError(`unknown node "${ref}" (${this.host.grouped ? `groups: ${this.host.topology.describe()}; or` : `nodes: ${this.host.nodeIds.join(', ')},`} leader, random)`);
    }
    return node!;
  }

  /**
   * The member a kill, restart, pause or resume names: a node (an id,
   * "leader") or a real server; "random" draws among the program nodes and
   * servers in one of the `allowed` states.
   */
  private resolveMember(ref: string, allowed: NodeStatusKind[]): string {
    if (this.host.servers.has(ref)) return ref;
    if (ref !== 'random') return this.resolveNode(ref, allowed).id;
    const nodes = [...this.host.nodes.values()].filter((n) => allowed.includes(n.status)).map((n) => n.id);
    const servers = this.host.servers.inStates(allowed);
    const candidates = [...nodes, ...servers];
    if (candidates.length === 0) throw new UserError(`no node${this.host.servers.size > 0 ? ' or server' : ''} is ${allowed.join(' or ')}`);
    return this.host.rng.pick(candidates);
  }

  /** Why `leader` names no node right now, in words a user can act on. */
  noLeaderReason(): string {
    if (!electsLeaders(this.host.vocabulary)) return `${this.host.system} has no leader: its nodes take no leading role`;
    const nodes = [...this.host.nodes.values()];
    const reporting = nodes.some((n) => roleOf(n.state) !== null);
    if (reporting) {
      const stopped = nodes.filter((n) => n.status !== 'up' && this.host.vocabulary.leading.includes(roleOf(n.state) ?? ''));
      const last = stopped.length ? ` (${stopped.map((n) => `${n.id} last said it led but is ${n.status}`).join('; ')})` : '';
      return `no live node reports itself leader right now${last}`;
    }
    return 'no leader is known: the nodes report no role (a "role" in dslab_state), and no node has answered a client write since the last one that did went down, was paused or was cut off';
  }

  /**
   * A fault on a whole node group (`kill workers`, `delay --link workers-z1`),
   * as one action per member or per link, so each is done and reported as if
   * named alone; null for an action that names single nodes.
   */
  private fanOut(action: FaultAction): FaultAction[] | null {
    switch (action.type) {
      case 'kill':
      case 'restart':
      case 'pause':
      case 'resume':
      case 'skew': {
        const members = this.host.topology.members(action.node);
        return members ? members.map((node) => ({ ...action, node })) : null;
      }
      case 'link_faults': {
        if (!action.link) return null;
        const pairs = parseLinks(action.link, this.host.nodeIds, this.host.topology, this.host.services.names);
        const named = splitLink(action.link, this.host.nodeIds, this.host.topology, this.host.services.names).some((end) => this.host.topology.isGroup(end));
        return named ? pairs.map(([a, b]) => ({ ...action, link: `${a}-${b}` })) : null;
      }
      default:
        return null;
    }
  }

  /** Applies each member's action in turn; what could not be done to one member is said, and fails the whole only if nothing was done. */
  private async applyEach(actions: FaultAction[], source: 'cli' | 'nemesis'): Promise<ActionResult> {
    const done: string[] = [];
    const failed: string[] = [];
    for (const action of actions) {
      try {
        done.push((await this.apply(action, source)).description);
      } catch (error) {
        if (!(error instanceof UserError)) throw error;
        failed.push(error.message);
      }
    }
    if (done.length === 0) throw new UserError(failed.join('; '));
    return { description: [...done, ...failed.map((f) => `not done: ${f}`)].join('; ') };
  }

  /** A fault action: what it did in words (for the caller) and as data (for the event). */
  private async performFault(action: FaultAction, source: 'cli' | 'nemesis'): Promise<{ result: ActionResult; fault: FaultDetail }> {
    const faults = this.host.faults;
    if (action.type === 'kill' || action.type === 'restart' || action.type === 'pause' || action.type === 'resume') {
      // "random" picks among every member this can be done to: program nodes and real servers alike.
      const id = this.resolveMember(action.node, member_states[action.type]);
      if (this.host.servers.has(id)) return this.host.servers.perform({ type: action.type, node: id });
      action = { ...action, node: id };
    }
    if ((action.type === 'skew' || action.type === 'transfer') && this.host.servers.has(action.node)) {
      throw new UserError(`${action.node} is a real server: ${action.type === 'skew' ? 'its clock cannot be skewed' : 'it cannot lead'}`);
    }
    switch (action.type) {
      case 'partition': {
        if (action.drops) {
          for (const [receiver, senders] of Object.entries(action.drops)) {
            for (const id of [receiver, ...senders]) if (!this.host.nodeIds.includes(id)) throw new UserError(`unknown node "${id}" in the partition (nodes: ${this.host.nodeIds.join(', ')})`);
          }
          faults.setDrops(action.drops);
          const drops = faults.dropsInForce();
          return { result: { description: describeDrops(drops), drops }, fault: { action: 'partition', groups: [], drops } };
        }
        let groups: string[][];
        const services = this.host.services.names;
        if (action.isolate) {
          const named = action.isolate;
          const cut = this.host.topology.members(named) ?? (this.host.servers.has(named) || services.includes(named) || isClientEndpoint(named, this.host.nodeIds) ? named : this.resolveNode(named).id);
          groups = isolate(cut, this.host.nodeIds, services);
        } else if (action.groups && action.groups.length > 0) groups = checkPartitionGroups(action.groups, this.host.nodeIds, this.host.topology, services);
        else groups = randomHalves(this.host.nodeIds, this.host.rng);
        // An isolated node is cut off from the services too; other partitions leave services reachable from every side.
        faults.setPartition(groups, action.isolate ? 1 : undefined);
        // A majority is of the leader's own group: the other groups do not vote.
        const electorate = this.host.topology.members(this.host.nodes.get(this.host.clients.inferredLeader ?? '')?.group ?? '') ?? this.host.nodeIds;
        const sides = groups.map((side) => side.filter((id) => electorate.includes(id)));
        if (this.host.clients.inferredLeader && !onMajoritySide(this.host.clients.inferredLeader, sides, electorate.length)) {
          this.host.clients.setInferredLeader(null, `${this.host.clients.inferredLeader} was cut off from the majority`);
        }
        return { result: { description: describePartition(groups), groups }, fault: { action: 'partition', groups } };
      }
      case 'heal': {
        faults.heal();
        const cleared = this.clearAppFaults();
        return { result: { description: `healed: no partitions or link faults${cleared.length ? `; ${cleared.join(', ')} no longer failing` : ''}` }, fault: { action: 'heal' } };
      }
      case 'fail':
        return this.failNode(action);
      case 'link_faults': {
        // A link naming groups was fanned out into single links by apply().
        const link = action.link ? parseLinks(action.link, this.host.nodeIds, this.host.topology, this.host.services.names)[0] : undefined;
        const { type: _type, link: _link, ...change } = action;
        if (change.jitter_ms !== undefined && change.delay_ms === undefined) throw new UserError('--jitter needs --ms');
        faults.setLinkFaults(change, link);
        const where = link ? ` on ${link[0]}-${link[1]}` : ' on every link';
        const words: string[] = [];
        if (change.delay_ms !== undefined) words.push(`delay ${formatDurationMs(change.delay_ms)}${change.jitter_ms ? `±${formatDurationMs(change.jitter_ms)}` : ''}`);
        if (change.loss !== undefined) words.push(`loss ${formatPercent(change.loss)}`);
        if (change.duplicate !== undefined) words.push(`duplicate ${formatPercent(change.duplicate)}`);
        if (change.reorder !== undefined) words.push(`reorder ${formatPercent(change.reorder)}`);
        return { result: { description: `${words.join(', ')}${where}` }, fault: { action: 'link_faults', link: link ?? null, ...change } };
      }
      case 'kill': {
        const node = this.resolveNode(action.node, ['up', 'paused']);
        if (!node.proc) throw new UserError(`${node.id} is already down`);
        const leader = this.host.leaderFinding();
        const role = leader?.id !== node.id ? '' : leader.inferred ? ' (leader, inferred from client replies)' : ' (leader)';
        node.stopped_by = source === 'nemesis' ? 'nemesis' : 'kill';
        node.proc.signal('SIGKILL');
        await waitForExit(node, kill_wait_ms);
        return { result: { description: `killed ${node.id}${role}`, node: node.id }, fault: { action: 'kill', node: node.id } };
      }
      case 'restart': {
        const node = this.resolveNode(action.node, ['down']);
        if (node.proc) throw new UserError(`${node.id} is running; kill it first (dslab kill ${node.id})`);
        await this.host.restartNode(node);
        return { result: { description: `restarted ${node.id} with its data directory`, node: node.id }, fault: { action: 'restart', node: node.id } };
      }
      case 'pause': {
        const node = this.resolveNode(action.node, ['up']);
        if (node.status !== 'up') throw new UserError(`${node.id} is ${node.status}, not up`);
        node.proc!.signal('SIGSTOP');
        node.status = 'paused';
        this.host.clients.forgetLeader(node.id, `${node.id} was paused`);
        this.host.events.emit({ type: 'node_paused', node: node.id });
        return { result: { description: `paused ${node.id}`, node: node.id }, fault: { action: 'pause', node: node.id } };
      }
      case 'resume': {
        const node = this.resolveNode(action.node, ['paused']);
        if (node.status !== 'paused') throw new UserError(`${node.id} is ${node.status}, not paused`);
        node.proc!.signal('SIGCONT');
        node.status = 'up';
        this.host.events.emit({ type: 'node_resumed', node: node.id });
        return { result: { description: `resumed ${node.id}`, node: node.id }, fault: { action: 'resume', node: node.id } };
      }
      case 'skew': {
        const node = this.resolveNode(action.node);
        node.clock_offset_ms = action.offset_ms;
        if (node.proc) this.host.sendClock(node);
        const sign = action.offset_ms < 0 ? '-' : '+';
        return { result: { description: `clock of ${node.id} skewed by ${sign}${formatDurationMs(Math.abs(action.offset_ms))}`, node: node.id }, fault: { action: 'skew', node: node.id, offset_ms: action.offset_ms } };
      }
      case 'transfer': {
        const result = await this.transferLeadership(action.node, action.timeout_ms ?? request_timeout_ms_default);
        return { result, fault: { action: 'transfer', from: result.from, to: result.to } };
      }
    }
  }

  /** An application fault on a node that takes them (it declared dslab_fail in its init_ok); all zero clears it. */
  private failNode(action: Extract<FaultAction, { type: 'fail' }>): { result: ActionResult; fault: FaultDetail } {
    const fault: AppFault = { errors_pct: action.errors_pct, latency_ms: action.latency_ms, hang: action.hang };
    const cleared = isNoAppFault(fault);
    if (this.host.servers.has(action.node)) {
      // A redis server's faults are applied by its link proxies, which read its protocol.
      if (!this.host.servers.takesAppFaults(action.node)) throw new UserError(`${action.node} is a real server whose protocol dslab does not read: dslab fail acts on redis servers and on nodes that declared dslab_fail in their init_ok`);
      this.host.servers.setAppFault(action.node, fault);
      const description = cleared ? `${action.node} no longer failing` : `${action.node} failing: ${describeAppFault(fault)}`;
      return { result: { description, node: action.node }, fault: { action: 'fail', node: action.node, ...fault } };
    }
    const node = this.resolveNode(action.node);
    if (!node.wants_fail) throw new UserError(`${node.id} takes no application faults: its init_ok did not declare dslab_fail: true`);
    node.app_fault = cleared ? null : fault;
    if (node.proc) this.host.sendFail(node);
    const description = cleared ? `${node.id} no longer failing` : `${node.id} failing: ${describeAppFault(fault)}`;
    return { result: { description, node: node.id }, fault: { action: 'fail', node: node.id, ...fault } };
  }

  /** Clears every application fault (heal), sending each running node the all-clear; the nodes cleared. */
  private clearAppFaults(): string[] {
    const cleared: string[] = [];
    for (const node of this.host.nodes.values()) {
      if (!node.app_fault) continue;
      node.app_fault = null;
      if (node.proc) this.host.sendFail(node);
      cleared.push(node.id);
    }
    for (const id of [...this.host.servers.appFaultsInForce().keys()]) {
      this.host.servers.setAppFault(id, no_app_fault);
      cleared.push(id);
    }
    return cleared;
  }

  /** Asks the leader to hand over to `target`, and waits until the target reports itself leader. */
  private async transferLeadership(targetRef: string, timeout_ms: number): Promise<ActionResult & { from: string; to: string }> {
    const target = this.resolveNode(targetRef, ['up']);
    const finding = this.host.leaderFinding();
    if (!finding) throw new UserError(this.noLeaderReason());
    if (finding.inferred) throw new UserError(`a transfer needs nodes that report their role in dslab_state; ${finding.id} is only inferred to lead from client replies`);
    const leader = finding.id;
    if (leader === target.id) throw new UserError(`${target.id} is already the leader`);
    const reply = await this.host.request(fixedClientId('supervisor'), leader, { type: 'transfer_leadership', target: target.id }, timeout_ms);
    if (reply.type === 'error') throw new UserError(`${leader} refused the transfer: ${String(reply.text)}`);
    const became = await new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        unsubscribe();
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), timeout_ms);
      const unsubscribe = this.host.events.subscribe((event) => {
        if (event.type === 'node_state' && this.host.leaderFinding()?.id === target.id) done(true);
      });
      if (this.host.leaderFinding()?.id === target.id) done(true);
    });
    if (!became) throw new UserError(`${target.id} did not become leader within ${formatDurationMs(timeout_ms)} (is it caught up and reachable?)`);
    return { description: `leadership moved from ${leader} to ${target.id} (term ${String(target.state.term)})`, from: leader, to: target.id };
  }

  /** Every fault in force, in words: the network's, then paused nodes and skewed clocks. */
  activeFaults(): string[] {
    const words = this.host.faults.describe();
    for (const node of this.host.nodes.values()) {
      if (node.status === 'paused') words.push(`${node.id} paused`);
      if (node.clock_offset_ms !== 0) words.push(`${node.id} clock ${node.clock_offset_ms < 0 ? '-' : '+'}${formatDurationMs(Math.abs(node.clock_offset_ms))}`);
    }
    for (const id of this.host.servers.paused()) words.push(`${id} paused`);
    for (const node of this.host.nodes.values()) if (node.app_fault) words.push(`${node.id} failing: ${describeAppFault(node.app_fault)}`);
    for (const [id, fault] of this.host.servers.appFaultsInForce()) words.push(`${id} failing: ${describeAppFault(fault)}`);
    return words;
  }

  /** Every fault in force, as data. */
  activeFaultData(): ActiveFaults {
    const nodes = [...this.host.nodes.values()];
    return {
      partition: this.host.faults.partition(),
      links: this.host.faults.linkFaultsInForce(),
      paused: [...nodes.filter((n) => n.status === 'paused').map((n) => n.id), ...this.host.servers.paused()],
      clock_offsets_ms: Object.fromEntries(nodes.filter((n) => n.clock_offset_ms !== 0).map((n) => [n.id, n.clock_offset_ms])),
      app_faults: Object.fromEntries([...nodes.flatMap((n) => (n.app_fault ? [[n.id, { ...n.app_fault }] as const] : [])), ...[...this.host.servers.appFaultsInForce()].map(([id, fault]) => [id, { ...fault }] as const)]),
    };
  }
}

/** The states a member must be in for each process action ("kill random" draws among the members in them). */
const member_states: Record<'kill' | 'restart' | 'pause' | 'resume', NodeStatusKind[]> = { kill: ['up', 'paused'], restart: ['down'], pause: ['up'], resume: ['paused'] };

/** The actions that inject or undo a fault: each emits a `fault` event. */
export type FaultAction = Extract<ControlAction, { type: FaultDetail['action'] }>;
const fault_actions: ReadonlySet<string> = new Set<FaultDetail['action']>(['partition', 'heal', 'link_faults', 'skew', 'kill', 'restart', 'pause', 'resume', 'transfer', 'fail']);

export function isFaultAction(action: ControlAction): action is FaultAction {
  return fault_actions.has(action.type);
}
