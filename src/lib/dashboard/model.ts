import type { ClusterEvent, ClusterStatus, LinkFaultsInForce, NodeStatusKind } from '../control/api.js';
import { serverMemberStatus } from '../cluster/members.js';
import { describeLinkFaults } from '../faults/fault-model.js';
import { explainingLine } from '../util/stderr.js';
import { describeLoadTally, type LoadStats } from '../load-stats.js';
import type { SystemView } from '../view.js';
import { electsLeaders, findLeader as findLeaderOf, isElectingRole, isProbingRole, no_roles, roleOf as reportedRole, termOf as reportedTerm, termWord } from '../roles.js';

/**
 * The dashboard's view model and the pure reducer that builds it from the
 * supervisor's event stream. Nothing here knows about Raft in particular: the
 * role words and the system's columns come from its plugin, as data in the
 * status snapshot and the cluster_up event (SystemView), and a node that
 * reports no state still has its process status and message rates.
 */

/** Entries kept in the event log; older ones are forgotten. */
export const event_log_entries_max = 200;
/** Throughput samples kept for the sparkline (one per load progress event, about one a second). */
export const throughput_samples_max = 120;

/** What the dashboard knows of a system before the supervisor has said which it is: no roles, no columns of its own. */
export const unknown_system_view: SystemView = { roles: no_roles, columns: [] };

export interface NodeView {
  id: string;
  /** Its node group, once the supervisor has said (null before, and from older supervisors). */
  group: string | null;
  status: NodeStatusKind;
  exit_code: number | null;
  exit_signal: string | null;
  restarts: number;
  /** For a real server (a server group's member), its kind ("redis"); null for a node. A server has no role. */
  server: string | null;
  /** The fields of the node's last state report, merged (empty for a node that reports none). */
  state: Record<string, unknown>;
  /** True when state.role is from an earlier process of this node (known from a status snapshot). */
  role_stale: boolean;
  /**
   * The node reported state since its last process ended. Its first report can reach the
   * supervisor before the supervisor has taken its init_ok and said node_up, so node_up keeps it.
   */
  reported_since_down: boolean;
  in_per_s: number | null;
  out_per_s: number | null;
  /**
   * When the node last heard from the leader, as far as the router can tell:
   * it was up, on the leader's side of any partition and receiving messages.
   */
  leader_contact_t: number | null;
}

/**
 * The state fields by which any node may narrate a judgement of the run (the locks resource does):
 * `violations` counts what it found wrong so far and `last_violation` says the newest in words (the
 * event log tells of each rise); `verdict` is the judgement so far in one line and `verdict_ok` whether
 * it holds (shown under the node table).
 */
export const violation_count_field = 'violations';
export const violation_text_field = 'last_violation';
export const verdict_field = 'verdict';
export const verdict_ok_field = 'verdict_ok';
/**
 * A node reporting this field true neither votes nor leads (a Zab observer): when it reports an
 * electing role it is looking for the leader, not standing in an election.
 */
export const observer_field = 'observer';

export type LogKind = 'cluster' | 'election' | 'violation' | 'leader' | 'no_leader' | 'rollback' | 'sync' | 'expiry' | 'fault' | 'heal' | 'crash' | 'restart' | 'load' | 'note' | 'error';

export interface LogEntry {
  /** Position in the dashboard's own log (not the supervisor's event seq). */
  id: number;
  t: number;
  kind: LogKind;
  text: string;
}

/** One of the interval's busiest links: `src` or `dest` null stands for the clients taken together. */
export interface LinkRateView {
  src: string | null;
  dest: string | null;
  per_s: number;
}

/** The load running or last run: its latest figures, for the workload line. */
export interface LoadView {
  running: boolean;
  /** The latest figures (progress events about once a second, then the final ones). */
  stats: LoadStats;
  /** How long it was asked to run. */
  duration_ms: number;
  /** ok and the time at the last event, to sample committed throughput from. */
  last_ok: number;
  last_t: number;
}

export interface LinkFaultView {
  /** "all links" or one link like "n1-n2". */
  scope: string;
  words: string[];
}

/** A ZooKeeper client's connection to a Zab server's port, as the dashboard lists it. */
export interface ZkClientView {
  /** Its endpoint id (what `dslab partition --isolate` takes). */
  id: string;
  server: string;
  remote_port: number;
}

/** The ZooKeeper side of a cluster with Zab servers: where clients connect, and who is connected. */
export interface ZkView {
  /** Empty until the cluster says (a snapshot or cluster_up). */
  connect_string: string;
  clients: ZkClientView[];
}

export interface DashboardModel {
  name: string | null;
  system: string | null;
  /** The system's role vocabulary and columns, from its plugin. */
  view: SystemView;
  seed: number | null;
  started_at_ms: number | null;
  /** Nodes in the order shown: group by group, by number within a group. */
  nodes: NodeView[];
  /** The cluster's node groups in order; the table has one section per group when there are several. */
  groups: string[];
  leader: string | null;
  leader_term: number | null;
  /** True when `leader` is the supervisor's guess from client replies, not a node's own report. */
  leader_inferred: boolean;
  /** The supervisor's current guess from client replies (used only while no node reports a leading role). */
  inferred_leader: string | null;
  /** Since when no node has led (null while there is a leader). */
  no_leader_since_t: number | null;
  /** Active faults in words, exactly as the supervisor describes them. */
  faults: string[];
  partition: string[][] | null;
  link_faults: LinkFaultView[];
  log: LogEntry[];
  next_log_id: number;
  /** Committed (ok) client operations per second, newest last. */
  throughput_per_s: number[];
  load: LoadView | null;
  /** The busiest links at the router's last report, busiest first; null before the first report (or from a supervisor that does not say). */
  links: LinkRateView[] | null;
  /** How many links carried messages at the last report, shown or not. */
  links_active: number;
  /** Messages the network dropped per second at the last report (faults, overflow); null before the first report. */
  dropped_per_s: number | null;
  cluster_down: boolean;
  /** When the router last reported its deliveries (a rates event, about once a second): the leader contact ages are as of then. */
  contact_reported_t: number | null;
  /** Why the event stream broke, when it did before the cluster said it went down; null otherwise. */
  stream_error: string | null;
  /** ZooKeeper clients' ports and connections; null for a cluster without Zab servers. */
  zk: ZkView | null;
}

/** What the reducer accepts: the supervisor's events, a status snapshot (to start from), and the dashboard's own notes. */
export type DashboardInput =
  | ClusterEvent
  | { type: 'snapshot'; t: number; status: ClusterStatus }
  | { type: 'local_note'; t: number; text: string; error?: boolean }
  | { type: 'stream_ended'; t: number; error: string | null };

export function emptyModel(): DashboardModel {
  return {
    name: null,
    system: null,
    view: unknown_system_view,
    seed: null,
    started_at_ms: null,
    nodes: [],
    groups: [],
    leader: null,
    leader_term: null,
    leader_inferred: false,
    inferred_leader: null,
    no_leader_since_t: null,
    faults: [],
    partition: null,
    link_faults: [],
    log: [],
    next_log_id: 1,
    throughput_per_s: [],
    load: null,
    links: null,
    links_active: 0,
    dropped_per_s: null,
    cluster_down: false,
    contact_reported_t: null,
    stream_error: null,
    zk: null,
  };
}

function newNode(id: string): NodeView {
  return { id, group: null, server: null, status: 'starting', exit_code: null, exit_signal: null, restarts: 0, state: {}, role_stale: false, reported_since_down: false, in_per_s: null, out_per_s: null, leader_contact_t: null };
}

/** A number from a state field, or null when absent or not numeric. */
export function numberField(state: Record<string, unknown>, ...keys: string[]): number | null {
  for (const key of keys) {
    const value = state[key];
    if (typeof value === 'number' && Number.isFinite(value)) return value;
  }
  return null;
}

export function roleOf(node: NodeView): string | null {
  return reportedRole(node.state);
}

export function termOf(model: DashboardModel, node: NodeView): number | null {
  return reportedTerm(model.view.roles, node.state);
}

/** The leader exactly as the supervisor finds it (roles.ts): a live node in a leading role, else the inferred one. */
/** The leader's word for its term ("term", "epoch"). */
export function leaderTermWord(model: DashboardModel): string {
  const leader = model.leader === null ? undefined : model.nodes.find((n) => n.id === model.leader);
  return termWord(model.view.roles, leader?.state ?? {});
}

export function findLeader(model: DashboardModel, inferred: string | null = null): { id: string; term: number | null; inferred: boolean } | null {
  return findLeaderOf(model.view.roles, model.nodes, inferred);
}

/** How far a node's value of a state field (Raft's commit index) trails the leader's, or null when unknown or not behind. */
export function lagBehindLeader(model: DashboardModel, node: NodeView, field: string): number | null {
  // A stopped node's index is history: only running nodes show a lag.
  if (!model.leader || node.id === model.leader || node.status === 'down') return null;
  const leader = model.nodes.find((n) => n.id === model.leader);
  if (!leader) return null;
  const ahead = numberField(leader.state, field);
  const own = numberField(node.state, field);
  if (ahead === null || own === null || own >= ahead) return null;
  return ahead - own;
}

/** The link faults in force as the dashboard lists them: a scope ("all links" or "n1-n2") and its faults in words. */
export function linkFaultViews(links: readonly LinkFaultsInForce[]): LinkFaultView[] {
  return links.map(({ link, faults }) => ({ scope: link ?? 'all links', words: describeLinkFaults(faults) })).filter((view) => view.words.length > 0);
}

/** Characters of a client message's fields an event line shows. */
export const client_message_summary_chars_max = 120;

/**
 * A message a node sent a client unasked, in one line: "n2 → c3: watch
 * NodeDataChanged /a" (the type, then the body's other plain values in order).
 */
export function describeClientMessage(node: string, client: string, body: unknown): string {
  const fields = body && typeof body === 'object' ? Object.entries(body as Record<string, unknown>) : [];
  const type = fields.find(([key]) => key === 'type')?.[1];
  const values = fields
    .filter(([key, value]) => key !== 'type' && key !== 'msg_id' && key !== 'in_reply_to' && ['string', 'number', 'boolean'].includes(typeof value))
    .map(([, value]) => String(value));
  let summary = [typeof type === 'string' ? type : 'message', ...values].join(' ');
  if (summary.length > client_message_summary_chars_max) summary = `${summary.slice(0, client_message_summary_chars_max - 1)}…`;
  return `${node} → ${client}: ${summary}`;
}

/** A ZooKeeper client's connection opening or closing, in one line: "c13001 connected to n1 (port 2181, from port 50432)". */
export function describeZkConnection(event: { phase: 'open' | 'closed'; client: string; server: string; port: number; remote_port: number; reason?: string }): string {
  const where = `(port ${event.port}, from port ${event.remote_port})`;
  return event.phase === 'open' ? `ZooKeeper client ${event.client} connected to ${event.server} ${where}` : `ZooKeeper client ${event.client} of ${event.server} disconnected ${where}: ${event.reason ?? 'closed'}`;
}

function appendLog(model: DashboardModel, t: number, kind: LogKind, text: string): void {
  model.log = [...model.log, { id: model.next_log_id, t, kind, text }];
  if (model.log.length > event_log_entries_max) model.log = model.log.slice(model.log.length - event_log_entries_max);
  model.next_log_id += 1;
}

function describeExit(code: number | null, signal: string | null): string {
  if (signal) return `signal ${signal}`;
  return code === null ? 'no exit code' : `exit code ${code}`;
}

/** Finds the node, adding it when the stream names one the dashboard has not seen yet. */
function touchNode(model: DashboardModel, id: string): NodeView {
  const index = model.nodes.findIndex((n) => n.id === id);
  if (index >= 0) {
    const copy = { ...model.nodes[index]! };
    model.nodes = model.nodes.map((n, i) => (i === index ? copy : n));
    return copy;
  }
  const added = newNode(id);
  model.nodes = sortNodes(model, [...model.nodes, added]);
  return added;
}

/** Group by group in the cluster's order (nodes of no known group last), then by number. */
function sortNodes(model: Pick<DashboardModel, 'groups'>, nodes: NodeView[]): NodeView[] {
  const rank = (node: NodeView) => {
    const index = node.group === null ? -1 : model.groups.indexOf(node.group);
    return index < 0 ? model.groups.length : index;
  };
  return nodes.sort((a, b) => rank(a) - rank(b) || byNodeId(a, b));
}

function byNodeId(a: NodeView, b: NodeView): number {
  const na = Number(a.id.replace(/^\D+/, ''));
  const nb = Number(b.id.replace(/^\D+/, ''));
  if (Number.isFinite(na) && Number.isFinite(nb) && na !== nb) return na - nb;
  return a.id.localeCompare(b.id);
}

/** Recomputes the leader after any change that can move it, logging changes. */
function settleLeader(model: DashboardModel, t: number): void {
  const found = findLeader(model, model.inferred_leader);
  const id = found?.id ?? null;
  const term = found?.term ?? null;
  const inferred = found?.inferred ?? false;
  if (id === model.leader && term === model.leader_term && inferred === model.leader_inferred) return;
  model.leader_inferred = inferred;
  if (id) {
    const how = inferred ? ' (inferred from client replies)' : term === null ? '' : ` (${termWord(model.view.roles, model.nodes.find((n) => n.id === id)?.state)} ${term})`;
    appendLog(model, t, 'leader', `${id} is leader${how}`);
    model.no_leader_since_t = null;
    touchNode(model, id).leader_contact_t = t;
  } else {
    appendLog(model, t, 'no_leader', model.leader ? `no leader (${model.leader} no longer leads)` : 'no leader');
    model.no_leader_since_t = t;
  }
  model.leader = id;
  model.leader_term = term;
}

function onNodeState(model: DashboardModel, t: number, id: string, state: Record<string, unknown>): void {
  const node = touchNode(model, id);
  const before = node.state;
  node.state = state;
  node.reported_since_down = true;
  if (state.role !== undefined) node.role_stale = false;
  const role = reportedRole(state);
  const roles = model.view.roles;
  const term = reportedTerm(roles, state);
  if (isElectingRole(roles, state) && (role !== reportedRole(before) || term !== reportedTerm(roles, before))) {
    // A pre-vote asks whether an election could be won and changes no term; a real election does.
    const word = termWord(roles, state);
    // An observer that lost its leader asks the voters who leads now; it never stands or votes.
    if (state[observer_field] === true) appendLog(model, t, 'election', `${id} looks for the leader (an observer does not vote)`);
    else if (isProbingRole(roles, state)) appendLog(model, t, 'election', `${id} runs a pre-vote${term === null ? '' : ` (${word} ${term})`}`);
    // A Raft candidate's term is the one it runs for; a looking Zab server's epoch is the last it had.
    else {
      const round = numberField(state, 'election_round');
      const at = term === null ? '' : word === 'term' ? ` for term ${term}` : ` (${round === null ? '' : `round ${round}, `}at ${word} ${term})`;
      appendLog(model, t, 'election', `${id} starts an election${at}`);
    }
  }
  const rolledBefore = numberField(before, 'rolled_back');
  const rolledNow = numberField(state, 'rolled_back');
  if (rolledNow !== null && rolledNow > (rolledBefore ?? 0)) {
    const count = rolledNow - (rolledBefore ?? 0);
    appendLog(model, t, 'rollback', `${id} rolled back ${count} uncommitted ${count === 1 ? 'entry' : 'entries'}`);
  }
  const sync = describeSync(id, before, state, termWord(roles, state), term);
  if (sync !== null) appendLog(model, t, 'sync', sync);
  const expiry = describeExpiries(id, before, state);
  if (expiry !== null) appendLog(model, t, 'expiry', expiry);
  const violation = describeViolations(id, before, state);
  if (violation !== null) appendLog(model, t, 'violation', violation);
  settleLeader(model, t);
  // A follower whose commit index moves under the current leader has just heard from it.
  if (model.leader && state.leader === model.leader && numberField(state, 'commit_index') !== numberField(before, 'commit_index')) {
    touchNode(model, id).leader_contact_t = t;
  }
}

/**
 * A learner that completed a join (Zab: `syncs` rose; `sync_mode` says how: DIFF, TRUNC with
 * `truncated_txns` cut, or SNAP; `leader` from whom); null otherwise.
 */
function describeSync(id: string, before: Record<string, unknown>, state: Record<string, unknown>, word: string, term: number | null): string | null {
  const now = numberField(state, 'syncs');
  if (now === null || now <= (numberField(before, 'syncs') ?? 0) || typeof state.sync_mode !== 'string') return null;
  const cut = numberField(state, 'truncated_txns') ?? 0;
  const how = state.sync_mode === 'TRUNC' ? `TRUNC (cut ${cut} ${cut === 1 ? 'txn' : 'txns'} the leader never had)` : state.sync_mode;
  const from = typeof state.leader === 'string' ? ` with ${state.leader}` : '';
  return `${id} synced${from} by ${how}${term === null ? '' : ` for ${word} ${term}`}`;
}

/**
 * A coordinator's leader that expired sessions (Zab: `sessions_expired` rose; `last_expired_session`
 * and `last_expired_ephemerals` name the last one and what its expiry deleted); null otherwise.
 */
function describeExpiries(id: string, before: Record<string, unknown>, state: Record<string, unknown>): string | null {
  const now = numberField(state, 'sessions_expired');
  if (now === null || now <= (numberField(before, 'sessions_expired') ?? 0)) return null;
  const count = now - (numberField(before, 'sessions_expired') ?? 0);
  const session = typeof state.last_expired_session === 'string' ? state.last_expired_session : null;
  const ephemerals = typeof state.last_expired_ephemerals === 'string' && state.last_expired_ephemerals !== '' ? state.last_expired_ephemerals : null;
  const deleted = ephemerals === null ? 'it had no ephemerals' : `its ephemerals ${ephemerals} are deleted`;
  if (session === null) return `${id} expired ${count === 1 ? 'a session' : `${count} sessions`}`;
  if (count === 1) return `${id} expired session ${session} (nothing heard for its timeout): ${deleted}`;
  return `${id} expired ${count} sessions (nothing heard for their timeouts), the last ${session}: ${deleted}`;
}

/**
 * A node that found something wrong since its last report (a rise of `violations`), in its own
 * words; reports merged to the frame rate can carry several at once, and only the newest is told.
 */
function describeViolations(id: string, before: Record<string, unknown>, state: Record<string, unknown>): string | null {
  const now = numberField(state, violation_count_field);
  const earlier = numberField(before, violation_count_field) ?? 0;
  if (now === null || now <= earlier) return null;
  const text = typeof state[violation_text_field] === 'string' ? (state[violation_text_field] as string) : 'a violation';
  return now - earlier === 1 ? `${id} saw a violation: ${text}` : `${id} saw ${now - earlier} violations, the last: ${text}`;
}

/** A node's judgement of the run so far (verdict_field), or null when it reports none. */
export function verdictOf(node: NodeView): { text: string; ok: boolean } | null {
  const text = node.state[verdict_field];
  return typeof text === 'string' && text !== '' ? { text, ok: node.state[verdict_ok_field] !== false } : null;
}

/** Message rates, and when each node last heard from the leader: when the router last delivered it a message from the leader. */
function onRates(model: DashboardModel, t: number, input: Extract<DashboardInput, { type: 'rates' }>): void {
  const { nodes: rates, heard_from } = input;
  model.contact_reported_t = t;
  model.dropped_per_s = input.dropped_per_s;
  if (input.links) {
    model.links = input.links;
    model.links_active = input.links_active ?? input.links.length;
  }
  const leader = model.leader ? model.nodes.find((n) => n.id === model.leader) : undefined;
  model.nodes = model.nodes.map((node) => {
    const rate = rates[node.id];
    const running = node.status === 'up' || node.status === 'paused';
    const next = { ...node, in_per_s: running ? (rate?.in_per_s ?? 0) : null, out_per_s: running ? (rate?.out_per_s ?? 0) : null };
    if (!leader) return next;
    if (node.id === leader.id) {
      if (leader.status === 'up') next.leader_contact_t = t;
      return next;
    }
    // A paused node's input waits in its pipe unread: delivered is not heard.
    const heard = node.status === 'up' ? heard_from?.[node.id]?.[leader.id] : undefined;
    if (heard !== undefined && heard > (next.leader_contact_t ?? 0)) next.leader_contact_t = heard;
    return next;
  });
}

function applySnapshot(model: DashboardModel, t: number, status: ClusterStatus): void {
  model.name = status.name;
  model.system = status.system;
  if (status.view) model.view = status.view;
  model.seed = status.seed;
  model.started_at_ms = status.started_at_ms;
  const groups: string[] = [];
  for (const node of [...status.nodes, ...(status.servers ?? [])]) if (node.group !== undefined && !groups.includes(node.group)) groups.push(node.group);
  model.groups = groups;
  model.nodes = status.nodes
    .map((n) => ({
      ...newNode(n.id),
      group: n.group ?? null,
      status: n.status,
      exit_code: n.exit_code,
      exit_signal: n.exit_signal,
      restarts: n.restarts,
      state: { ...n.state },
      // Older supervisors do not say; their roles count as current.
      role_stale: n.role_stale === true,
    }));
  // Real servers are rows in their group's section, with a node's statuses and no state reports.
  for (const s of status.servers ?? []) {
    model.nodes.push({ ...newNode(s.id), group: s.group, server: s.kind, status: serverMemberStatus(s.state), exit_code: s.last_exit?.exit_code ?? null, exit_signal: s.last_exit?.signal ?? null, restarts: s.restarts });
  }
  model.nodes = sortNodes(model, model.nodes);
  model.faults = [...status.faults];
  model.partition = status.active_faults.partition;
  model.link_faults = linkFaultViews(status.active_faults.links);
  model.zk = status.zk ? { connect_string: status.zk.connect_string, clients: status.zk.connections.map(({ id, server, remote_port }) => ({ id, server, remote_port })) } : null;
  // Set silently: a snapshot starts the view, and the log should only tell what the stream tells.
  model.inferred_leader = status.leader_inferred ? status.leader : null;
  const found = findLeader(model, model.inferred_leader);
  model.leader = found?.id ?? null;
  model.leader_term = found?.term ?? null;
  model.leader_inferred = found?.inferred ?? false;
  // A system without leaders never lacks one.
  model.no_leader_since_t = found || !electsLeaders(model.view.roles) ? null : (model.no_leader_since_t ?? t);
}

/**
 * Folds one input into the model. Pure: the input's own time is the only clock,
 * and the old model is never changed. Inputs that change nothing shown return
 * the same model, so a caller can skip a frame by comparing references.
 */
export function dashboardReducer(previous: DashboardModel, input: DashboardInput): DashboardModel {
  if (input.type === 'client_result' || input.type === 'node_apply') return previous;
  const model: DashboardModel = { ...previous };
  const t = input.t;
  switch (input.type) {
    case 'snapshot':
      applySnapshot(model, t, input.status);
      break;
    case 'local_note':
      appendLog(model, t, input.error ? 'error' : 'note', input.text);
      break;
    case 'stream_ended':
      if (!model.cluster_down) {
        appendLog(model, t, 'error', input.error ? `lost the event stream: ${input.error}` : 'the event stream ended');
        model.stream_error = input.error;
      }
      model.cluster_down = true;
      break;
    case 'cluster_up':
      model.name = input.name;
      model.system = input.system;
      model.seed = input.seed;
      model.started_at_ms ??= t;
      for (const id of input.nodes) touchNode(model, id);
      if (input.groups) {
        const groupOf = new Map(input.groups.flatMap((g) => g.nodes.map((id) => [id, g] as const)));
        model.groups = input.groups.map((g) => g.name);
        model.nodes = sortNodes(model, model.nodes.map((node) => ({ ...node, group: groupOf.get(node.id)?.name ?? node.group, server: groupOf.get(node.id)?.server ?? node.server })));
      }
      appendLog(model, t, 'cluster', `cluster ${input.name} up: ${input.system} on ${input.nodes.length} nodes, seed ${input.seed}`);
      if (input.zk_connect_string) {
        model.zk = { connect_string: input.zk_connect_string, clients: model.zk?.clients ?? [] };
        appendLog(model, t, 'cluster', `ZooKeeper clients connect to ${input.zk_connect_string}`);
      }
      if (input.view) {
        // Reports that came before the cluster was up are judged by the system's own words from here on.
        model.view = input.view;
        settleLeader(model, t);
      }
      break;
    case 'cluster_down':
      model.cluster_down = true;
      appendLog(model, t, 'cluster', `cluster ${input.name} down`);
      break;
    case 'node_up': {
      const node = touchNode(model, input.node);
      node.status = 'up';
      node.exit_code = null;
      node.exit_signal = null;
      node.restarts = input.restarts;
      // A new process starts from its disk, not from what the old one last said.
      if (!node.reported_since_down) node.state = {};
      node.role_stale = false;
      if (input.restarts > 0) appendLog(model, t, 'restart', `${input.node} restarted (restart ${input.restarts})`);
      settleLeader(model, t);
      break;
    }
    case 'node_down': {
      const node = touchNode(model, input.node);
      node.status = 'down';
      node.reported_since_down = false;
      node.exit_code = input.exit_code;
      node.exit_signal = input.signal;
      node.in_per_s = null;
      node.out_per_s = null;
      const tail = !input.expected && input.stderr_tail.length > 0 ? `: ${explainingLine(input.stderr_tail) ?? ''}` : '';
      appendLog(model, t, 'crash', `${input.node} down (${describeExit(input.exit_code, input.signal)})${input.expected ? '' : ' unexpectedly'}${tail}`);
      settleLeader(model, t);
      break;
    }
    case 'node_paused':
      touchNode(model, input.node).status = 'paused';
      settleLeader(model, t);
      break;
    case 'node_resumed':
      touchNode(model, input.node).status = 'up';
      settleLeader(model, t);
      break;
    case 'node_state':
      onNodeState(model, t, input.node, input.state);
      break;
    case 'node_note':
      appendLog(model, t, 'note', `${input.node} ${input.text}`);
      break;
    case 'node_misbehaved':
      appendLog(model, t, 'error', `${input.node} misbehaved (${input.problem}, ${input.count} so far): ${input.detail}`);
      break;
    case 'fault': {
      model.faults = [...input.faults];
      model.partition = input.active.partition;
      model.link_faults = linkFaultViews(input.active.links);
      appendLog(model, t, input.action === 'heal' ? 'heal' : 'fault', `${input.source === 'nemesis' ? 'nemesis: ' : ''}${input.description}`);
      break;
    }
    case 'rates':
      onRates(model, t, input);
      break;
    case 'load':
      if (input.phase === 'start') {
        model.load = { running: true, stats: input.stats, duration_ms: input.options.duration_ms, last_ok: input.stats.ok, last_t: t };
        model.throughput_per_s = [];
        appendLog(model, t, 'load', `load started: ${input.options.rate_per_s} ops/s offered by ${input.options.clients} clients`);
      } else {
        // A view attached mid-load (dslab watch) sees progress without the start.
        const last = model.load ?? { running: true, stats: input.stats, duration_ms: input.options.duration_ms, last_ok: 0, last_t: t };
        const elapsed_s = (t - last.last_t) / 1000;
        if (elapsed_s > 0) {
          const sample = Math.max(0, input.stats.ok - last.last_ok) / elapsed_s;
          model.throughput_per_s = [...model.throughput_per_s, sample].slice(-throughput_samples_max);
        }
        model.load = { running: input.phase !== 'done', stats: input.stats, duration_ms: input.options.duration_ms, last_ok: input.stats.ok, last_t: t };
        if (input.phase === 'done') {
          appendLog(model, t, 'load', `load done: ${describeLoadTally(input.stats)}; ${input.stats.throughput_per_s} answered/s`);
        }
      }
      break;
    case 'nemesis':
      appendLog(model, t, 'fault', `nemesis ${input.phase} (seed ${input.seed})`);
      break;
    case 'notice':
      appendLog(model, t, 'note', input.text);
      break;
    case 'client_message':
      appendLog(model, t, 'note', describeClientMessage(input.node, input.client, input.body));
      break;
    case 'leader_inferred':
      model.inferred_leader = input.node;
      settleLeader(model, t);
      break;
    case 'zk_connection': {
      const others = (model.zk?.clients ?? []).filter((client) => client.id !== input.client);
      const clients = input.phase === 'open' ? [...others, { id: input.client, server: input.server, remote_port: input.remote_port }] : others;
      model.zk = { connect_string: model.zk?.connect_string ?? '', clients };
      appendLog(model, t, 'note', describeZkConnection(input));
      break;
    }
  }
  return model;
}

/** Folds a whole recorded sequence; used by tests and to replay history. */
export function reduceAll(inputs: Iterable<DashboardInput>, start: DashboardModel = emptyModel()): DashboardModel {
  let model = start;
  for (const input of inputs) model = dashboardReducer(model, input);
  return model;
}

/** Why the dashboard closes: it stopped the cluster (`up`'s q), the cluster went away under it, or the user left a running cluster (`watch`'s q). */
export type DashboardEnding = { how: 'stopped' } | { how: 'cluster_gone' } | { how: 'left' };

/**
 * What stays on the terminal in place of the last frame: one line saying what became of the
 * cluster, then (when the user left it running) each node's verdict so far. (`up` prints what the
 * workloads said of a run it stopped after the dashboard is gone, as `dslab down` prints it.)
 */
export function farewellLines(model: DashboardModel, ending: DashboardEnding): string[] {
  const name = model.name ?? '?';
  switch (ending.how) {
    case 'stopped':
      return [`cluster ${name} stopped`];
    case 'cluster_gone':
      return [model.stream_error === null ? `cluster ${name} stopped` : `left the dashboard: lost the event stream of cluster ${name} (${model.stream_error})`];
    case 'left': {
      const verdicts = model.nodes.flatMap((node) => {
        const verdict = verdictOf(node);
        return verdict ? [`${node.id}: ${verdict.text}`] : [];
      });
      return [`left the dashboard; cluster ${name} keeps running (dslab down stops it)`, ...verdicts];
    }
  }
}
