import type { ClusterEvent, ClusterStatus, MisbehaviourData, NodeStatus } from '../control/api.js';
import { isLeadingRole, isProbingRole, roleKind, roleOf, type RoleVocabulary, termOf as reportedTerm } from '../roles.js';
import { explainingLine } from '../util/stderr.js';
import type { LabTest } from './spec.js';
import type { Step, StepTraits, StepVocabulary } from './steps.js';

/** Unexpected exits remembered per test (the first ones explain the most). */
export const evidence_exits_max = 10;
/** Characters of an offending output line quoted in a diagnosis. */
export const quoted_line_chars_max = 60;

type Problem = Extract<ClusterEvent, { type: 'node_misbehaved' }>['problem'];

interface Misbehaviour {
  node: string;
  problem: Problem;
  /** What the node did, as data, for the first occurrence (with the offending line): what the diagnosis reads, never the supervisor's words. */
  data: MisbehaviourData;
  count: number;
}

interface UnexpectedExit {
  node: string;
  exit_code: number | null;
  signal: string | null;
  stderr_tail: string[];
}

/**
 * What a test's event stream showed about the nodes, kept small (a few
 * entries per node) so a grader can explain a failure after the fact.
 */
export class Evidence {
  /** The first report of each kind of misbehaviour, per node ("n1/garbage"). */
  readonly misbehaviour = new Map<string, Misbehaviour>();
  readonly exits: UnexpectedExit[] = [];
  /** Some node reported role "leader" at some point. */
  leader_reported = false;
  /** The node that answered the latest successful write (write_ok, cas_ok, delete_ok). */
  last_writer: string | null = null;

  constructor(readonly roles: RoleVocabulary) {}

  onEvent(event: ClusterEvent): void {
    switch (event.type) {
      case 'node_misbehaved': {
        // The grader's own supervisor always sends the data; only a recording from an older one lacks it.
        if (!event.data) return;
        const key = `${event.node}/${event.problem}`;
        const first = this.misbehaviour.get(key);
        if (first) first.count = event.count;
        else this.misbehaviour.set(key, { node: event.node, problem: event.problem, data: event.data, count: event.count });
        return;
      }
      case 'node_down':
        if (!event.expected && this.exits.length < evidence_exits_max) this.exits.push({ node: event.node, exit_code: event.exit_code, signal: event.signal, stderr_tail: event.stderr_tail });
        return;
      case 'node_state':
        if (isLeadingRole(this.roles, event.state)) this.leader_reported = true;
        return;
      case 'client_result': {
        const type = (event.reply as { type?: unknown } | null)?.type;
        if (type === 'write_ok' || type === 'cas_ok' || type === 'delete_ok') this.last_writer = event.dest;
        return;
      }
      default:
        return;
    }
  }
}

/** Where a test was when it failed: a step, the cluster's start, or the checks after the steps (null). */
export type FailedAt = Step | 'start' | null;

export interface DiagnosisInput {
  failed_at: FailedAt;
  /** The lab's steps, whose traits say what a failed step needed. */
  steps: StepVocabulary;
  /** Nodes whose exit the failure already reports (a no_crash violation's, or the exit that stopped the cluster's start): not repeated as causes. */
  exits_told: readonly string[];
  /** The cluster's state when the test failed; for a cluster that did not start, its state then. */
  status: ClusterStatus | null;
  evidence: Evidence;
  /** Where the lab explains state reports, e.g. `see "State reports" in: npx dslab lab show raft-election`. */
  state_reports_help: string;
}

const leader_refs = new Set(['leader', 'follower']);

/** A step's traits, from its definition (a step of no known kind has none). */
function traitsOf(steps: StepVocabulary, step: Step): StepTraits {
  return steps.get(step.do) ?? {};
}

/** Steps that act on "leader" or "follower": state reports tell them apart, or else the node that answered the latest write. */
function refersToLeader(traits: StepTraits, step: Step): boolean {
  return (traits.node_fields ?? []).some((field) => {
    const ref = step[field];
    return typeof ref === 'string' && leader_refs.has(ref);
  });
}

/** Steps that can only pass if nodes send dslab_state reports (roles, terms, commit indexes). */
export function stepNeedsStateReports(steps: StepVocabulary, step: Step): boolean {
  return traitsOf(steps, step).needs_state_reports === true;
}

/** A test needs state reports if a step does, or a check reads them (terms, leaders, applied entries). */
export function testNeedsStateReports(steps: StepVocabulary, test: LabTest): boolean {
  return test.steps.some((step) => stepNeedsStateReports(steps, step)) || test.checks.some((c) => c === 'one_leader_per_term' || c === 'terms_monotonic' || c === 'applied_agree');
}

/**
 * The likely causes of a failed test, in plain words, most fundamental first,
 * from what the grader recorded: misbehaviour on stdout, unexpected exits,
 * message counts and state reports. Null when nothing recorded explains it.
 */
export function diagnose(input: DiagnosisInput): string | null {
  const { failed_at, status, evidence } = input;
  const causes: string[] = [];
  causes.push(...misbehaviourCauses(evidence));
  for (const exit of evidence.exits) {
    if (input.exits_told.includes(exit.node)) continue;
    const line = explainingLine(exit.stderr_tail);
    causes.push(`${exit.node} exited unexpectedly (${exit.signal ? `signal ${exit.signal}` : `exit code ${exit.exit_code ?? 'unknown'}`})${line ? `: ${line}` : ''}`);
  }
  if (status) {
    if (failed_at === 'start') causes.push(...startCauses(status, evidence));
    else if (failed_at !== null) causes.push(...stepCauses(failed_at, traitsOf(input.steps, failed_at), status, evidence, input.state_reports_help));
  }
  const unique = [...new Set(causes)];
  return unique.length ? unique.join('; ') : null;
}

function misbehaviourCauses(evidence: Evidence): string[] {
  // One cause per kind of problem, naming every node that showed it and quoting the first.
  const byCause = new Map<string, string[]>();
  for (const m of evidence.misbehaviour.values()) {
    const what = describeMisbehaviour(m);
    byCause.set(what, [...(byCause.get(what) ?? []), m.node]);
  }
  return [...byCause].map(([what, nodes]) => `${nodeList(nodes)} ${what}`);
}

/** What the parser's reasons mean, for a person. */
const unreadable_words: Record<string, string> = {
  'not JSON': 'a line that is not JSON',
  'not a JSON object': 'a line that is not a JSON object',
  'missing "src"': 'a message without "src"',
  'missing "dest"': 'a message without "dest"',
  'missing "body" object': 'a message without a "body" object',
  'missing "body.type"': 'a message without "body.type"',
};

/** Why it matters, once: a debug print on stdout is the usual culprit. */
const stdout_hint = '(stdout carries only protocol messages, one JSON object per line; write logs to stderr)';

/** One kind of misbehaviour in words, from the event's data. */
function describeMisbehaviour(m: Misbehaviour): string {
  const data = m.data;
  if (m.problem === 'backpressure') return `stopped reading its stdin (${m.count} message${m.count === 1 ? '' : 's'} to it dropped)`;
  switch (data.kind) {
    case 'unreadable':
      return `printed ${unreadable_words[data.reason] ?? `a line dslab cannot read (${data.reason})`}: ${quote(data.line)} ${stdout_hint}`;
    case 'wrong_src':
      return `printed a message with "src": "${data.claimed}", not its own id: ${quote(data.line)}`;
    case 'bad_forward':
      return `forwarded a request of client ${data.client} to "${data.dest}", which is not another node: ${quote(data.line)}`;
    case 'oversized':
      return `printed a line of ${data.chars} characters, over the ${data.limit_bytes}-byte limit (it was discarded)`;
    case 'unknown_dest':
      return data.server
        ? `sent a message to "${data.dest}", a real server that speaks its own protocol over TCP (its address is in init's dslab_servers): ${quote(data.line)}`
        : `sent a message to "${data.dest}", which is not a node, client or service: ${quote(data.line)}`;
    case 'unknown_extension':
      return `sent dslab an unknown message type "${data.extension}" (dslab reads dslab_state and dslab_apply)`;
    case 'backpressure':
      return 'stopped reading its stdin';
  }
}

function startCauses(status: ClusterStatus, evidence: Evidence): string[] {
  const causes: string[] = [];
  const notUp = status.nodes.filter((n) => n.status !== 'up' && !evidence.exits.some((e) => e.node === n.id));
  const silent = notUp.filter((n) => n.msgs_out === 0 && n.garbage_lines === 0 && n.oversized_lines === 0);
  if (silent.length) causes.push(`${nodeList(silent.map((n) => n.id))} wrote nothing on stdout (if it prints, flush after every line: output to a pipe is buffered)`);
  for (const node of notUp.filter((n) => n.msgs_out > 0)) {
    causes.push(`${node.id} sent ${node.msgs_out} message${node.msgs_out === 1 ? '' : 's'} but none answered init (the reply is {"type":"init_ok","in_reply_to":<the init's msg_id>}, sent to the init's src)`);
  }
  return causes;
}

function stepCauses(step: Step, traits: StepTraits, status: ClusterStatus, evidence: Evidence, help: string): string[] {
  const causes: string[] = [];
  const nodes = status.nodes;
  // Only node-to-node links: client links (init, requests) and service links carry traffic a silent node never sent a peer.
  const node_ids = new Set(status.nodes.map((n) => n.id));
  const between_nodes = status.links.filter((l) => l.link.split('->').every((end) => node_ids.has(end)));
  const traffic = between_nodes.reduce((sum, l) => sum + l.delivered + l.dropped, 0);
  if (traits.needs_traffic && nodes.length > 1 && traffic === 0) causes.push('no node sent any message to another node');
  if (!traits.needs_state_reports && !refersToLeader(traits, step)) return causes;
  const silent = nodes.filter((n) => n.state_at_ms === null).map((n) => n.id);
  if (silent.length) causes.push(`${nodeList(silent)} sent no dslab_state reports, and this test needs them (${help})`);
  const reporting = nodes.filter((n) => n.state_at_ms !== null);
  if (reporting.length === 0 || !(traits.needs_leader || refersToLeader(traits, step))) return causes;
  const roles = evidence.roles;
  const unknown = reporting.find((n) => roleOf(n.state) !== null && roleKind(roles, roleOf(n.state)) === null);
  if (unknown) causes.push(`${unknown.id} reports role "${String(unknown.state.role)}", which is not a role dslab knows (${knownRoles(roles)})`);
  if (reporting.every((n) => n.state.role === undefined)) causes.push(`the dslab_state reports have no "role" field (${help})`);
  const terms = reporting.map((n) => reportedTerm(roles, n.state) ?? NaN);
  if (terms.every((t) => !Number.isFinite(t))) {
    causes.push(`the dslab_state reports have no "term" field (${help})`);
    return causes;
  }
  const top = Math.max(...terms.filter(Number.isFinite));
  if (!evidence.leader_reported && !unknown) {
    const who = silent.length ? 'every node that reports' : 'every node';
    const campaigning = reporting.find((n) => isProbingRole(roles, n.state));
    if (top === 0 && campaigning) causes.push(`${who} stayed at term 0, though ${campaigning.id} is ${String(campaigning.state.role)}: no pre-vote won a majority (are pre-votes answered and counted?)`);
    else if (top === 0) causes.push(`${who} stayed at term 0: no node started an election (does the election timer fire?)`);
    else causes.push(`terms rose to ${top} but no node ever reported role "leader": elections start and never finish (are votes granted, counted, and answered?)`);
    return causes;
  }
  // A leader exists, but an up node with a higher term keeps the election from settling.
  const up = reporting.filter((n) => n.status === 'up');
  const termOf = (node: NodeStatus) => reportedTerm(roles, node.state) ?? 0;
  const leader = up.filter((n) => isLeadingRole(roles, n.state)).sort((a, b) => termOf(b) - termOf(a))[0];
  const higher = leader && up.filter((n) => termOf(n) > termOf(leader)).sort((a, b) => termOf(b) - termOf(a))[0];
  if (leader && higher) causes.push(`${leader.id} leads in term ${termOf(leader)}, but ${higher.id} reports term ${termOf(higher)} without a leader there (does a node that sees a higher term step down and report it?)`);
  return causes;
}

function knownRoles(roles: RoleVocabulary): string {
  return [...roles.leading, ...roles.electing, ...roles.following, ...roles.other].join(', ');
}

function quote(line: string): string {
  const trimmed = line.trim();
  return trimmed.length > quoted_line_chars_max ? `${trimmed.slice(0, quoted_line_chars_max)}…` : trimmed;
}

/** "n1..n5" for a run of three or more consecutive ids, "n1, n3" otherwise. */
export function nodeList(ids: readonly string[]): string {
  const parsed = ids.map((id) => /^([a-z]+)(\d+)$/.exec(id));
  if (ids.length >= 3 && parsed.every((m) => m && m[1] === parsed[0]![1])) {
    const numbers = parsed.map((m) => Number(m![2])).sort((a, b) => a - b);
    if (numbers.every((n, i) => i === 0 || n === numbers[i - 1]! + 1)) return `${parsed[0]![1]}${numbers[0]}..${parsed[0]![1]}${numbers.at(-1)}`;
  }
  return ids.join(', ');
}
