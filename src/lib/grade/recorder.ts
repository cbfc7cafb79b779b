import type { HistoryViolation } from '../history.js';
import type { ClusterEvent } from '../control/api.js';
import { isEstablishedLeader, type RoleVocabulary, termOf, termWord } from '../roles.js';
import { explainingLine } from '../util/stderr.js';

/** Timeline points kept per test for reports; older ones are dropped beyond this. */
export const timeline_points_max = 20_000;
/** Applied entries remembered for the agreement check. */
export const applied_indexes_max = 200_000;

/**
 * What happened to a node's process: it started (the first time, or again after
 * going down), the test killed it, it exited on its own (a crash), or it was
 * paused and resumed. Reports draw a start differently from a crash.
 */
export type NodeStatusChange = 'started' | 'restarted' | 'killed' | 'crashed' | 'paused' | 'resumed';

export interface TimelinePoint {
  /** Milliseconds since the epoch, like the events it comes from. */
  t: number;
  node: string;
  /** role/term changes, status changes (up, down, paused), or a fault in words. */
  kind: 'state' | 'status' | 'fault';
  text: string;
  role?: string;
  term?: number;
  /** For kind status: which change it was. */
  status?: NodeStatusChange;
}

/**
 * A linearizability failure as the report draws it: which history file, the
 * key, and the operations the checker could not order (times in milliseconds
 * from the test's start, lines of that file).
 */
export interface NonLinearizableKey extends HistoryViolation {
  history_file: string;
}

/**
 * Watches a test's event stream: keeps what reports need (a timeline) and
 * checks the invariants a lab asks for as events arrive, so a violation is
 * reported the moment it happens, in plain words.
 */
export class Recorder {
  readonly timeline: TimelinePoint[] = [];
  /** The first invariant broken, by check name, and the node whose crash it reports (no_crash). */
  readonly violations = new Map<string, { message: string; crashed?: string }>();
  /** Nodes restarted since their last state report: a term lower than before the restart was not persisted. */
  private readonly restartedSinceReport = new Set<string>();
  private readonly leaderOfTerm = new Map<number, string>();
  private readonly lastTerm = new Map<string, number>();
  private readonly lastRole = new Map<string, string>();
  private readonly applied = new Map<number, { node: string; op: string }>();
  /** Highest term in which any node claimed leadership. */
  maxLeaderTerm = 0;
  startedAt = Date.now();

  constructor(
    private readonly checks: ReadonlySet<string>,
    private readonly roles: RoleVocabulary,
  ) {}

  onEvent(event: ClusterEvent): void {
    switch (event.type) {
      case 'node_state':
        this.onState(event.node, event.state, event.t);
        break;
      case 'node_apply':
        this.onApply(event.node, Number(event.index), event.op);
        break;
      case 'node_down':
        // An exit the supervisor did not ask for is a crash; an asked-for one is the test's kill.
        this.push({
          t: event.t,
          node: event.node,
          kind: 'status',
          status: event.expected ? 'killed' : 'crashed',
          text: `${event.expected ? 'killed' : 'crashed'} (${event.signal ?? `exit ${event.exit_code}`})`,
        });
        if (!event.expected && this.checks.has('no_crash')) {
          this.violate('no_crash', `${event.node} crashed (${event.signal ? `signal ${event.signal}` : `exit code ${event.exit_code}`})${explainingLine(event.stderr_tail) ? `: ${explainingLine(event.stderr_tail)}` : ''}`, event.node);
        }
        break;
      case 'node_up':
        this.push({ t: event.t, node: event.node, kind: 'status', status: event.restarts ? 'restarted' : 'started', text: event.restarts ? 'restarted' : 'started' });
        if (event.restarts) this.restartedSinceReport.add(event.node);
        break;
      case 'node_paused':
        this.push({ t: event.t, node: event.node, kind: 'status', status: 'paused', text: 'paused' });
        break;
      case 'node_resumed':
        this.push({ t: event.t, node: event.node, kind: 'status', status: 'resumed', text: 'resumed' });
        break;
      case 'fault':
        this.push({ t: event.t, node: '*', kind: 'fault', text: event.description });
        break;
      default:
        break;
    }
  }

  private onState(node: string, state: Record<string, unknown>, t: number): void {
    const role = String(state.role ?? '');
    const term = termOf(this.roles, state) ?? NaN;
    if (role !== this.lastRole.get(node) || (Number.isFinite(term) && term !== this.lastTerm.get(node))) {
      this.push({ t, node, kind: 'state', text: `${role || '?'}${Number.isFinite(term) ? ` t${term}` : ''}`, role, term: Number.isFinite(term) ? term : undefined });
    }
    const firstSinceRestart = this.restartedSinceReport.delete(node);
    if (Number.isFinite(term)) {
      const previous = this.lastTerm.get(node);
      if (previous !== undefined && term < previous && this.checks.has('terms_monotonic')) {
        const word = termWord(this.roles, state);
        // Lower right after a restart: the node forgot it, the classic missing write to disk.
        this.violate(
          'terms_monotonic',
          firstSinceRestart
            ? `${node} restarted and lost its ${word} (${previous} before the restart, ${term} after): persist it before answering`
            : `${node}'s ${word} went backwards from ${previous} to ${term}`,
        );
      }
      this.lastTerm.set(node, term);
      if (isEstablishedLeader(this.roles, state)) {
        this.maxLeaderTerm = Math.max(this.maxLeaderTerm, term);
        const other = this.leaderOfTerm.get(term);
        if (other && other !== node && this.checks.has('one_leader_per_term')) {
          this.violate('one_leader_per_term', `two leaders in term ${term}: ${other} and ${node}`);
        }
        if (!other) this.leaderOfTerm.set(term, node);
      }
    }
    this.lastRole.set(node, role);
  }

  private onApply(node: string, index: number, op: unknown): void {
    if (!Number.isInteger(index)) return;
    const text = JSON.stringify(op);
    const first = this.applied.get(index);
    if (!first) {
      if (this.applied.size < applied_indexes_max) this.applied.set(index, { node, op: text });
      return;
    }
    if (first.op !== text && this.checks.has('applied_agree')) {
      this.violate('applied_agree', `${first.node} and ${node} applied different entries at index ${index}: ${first.op.slice(0, 120)} vs ${text.slice(0, 120)}`);
    }
  }

  private violate(check: string, message: string, crashed?: string): void {
    if (!this.violations.has(check)) this.violations.set(check, crashed === undefined ? { message } : { message, crashed });
  }

  firstViolation(): string | null {
    return this.violations.values().next().value?.message ?? null;
  }

  /** The node whose crash the first violation reports, if it is a no_crash violation. */
  firstViolationCrash(): string | null {
    return this.violations.values().next().value?.crashed ?? null;
  }

  private push(point: TimelinePoint): void {
    if (this.timeline.length >= timeline_points_max) this.timeline.shift();
    this.timeline.push(point);
  }
}
