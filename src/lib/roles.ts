/**
 * What "leader" means, in one place. A node tells dslab its role in a
 * `dslab_state` report; a vocabulary (plain data that each system's plugin
 * declares, src/lib/plugin.ts) says which role words lead, which elect and which follow, and
 * which state field is the term or epoch. The supervisor (`kill leader`, the
 * status header), the dashboard and the grader all ask these functions, so
 * they cannot disagree about who leads.
 *
 * The leader is a live node (status "up": a paused or dead node leads nobody,
 * whatever it last said) whose current process reports a leading role; the
 * highest term wins. A system whose nodes report no role can still have a
 * leader inferred from client replies (see `findLeader`), always labelled as
 * such.
 */

export interface RoleVocabulary {
  /** Roles that lead: the node that takes writes. */
  leading: readonly string[];
  /** Roles that run an election (or a pre-vote) and so have no leader to follow. */
  electing: readonly string[];
  /** The subset of `electing` that changes no term: a pre-vote asks whether it could win before it disrupts anyone. */
  probing: readonly string[];
  following: readonly string[];
  /** Roles that neither lead, elect nor follow in the usual sense (a Zab observer). */
  other: readonly string[];
  /** State fields holding the term or epoch, in order of preference; the first numeric one counts. */
  term_fields: readonly string[];
  /** Client request types that change state: a node that answers one successfully is the leader's best guess when no node reports a role. */
  write_requests: readonly string[];
  /**
   * A boolean state field a leading node must report true to count as the leader of its term in
   * the grader's waits and checks (Zab: a leader-elect still in discovery has no epoch of its own
   * yet, and reports the epoch it last followed). Absent: every leading node counts.
   */
  established_field?: string;
}

/** A vocabulary with no roles: a system whose nodes neither lead nor elect (echo, unique-ids), or one not known yet. */
export const no_roles: RoleVocabulary = { leading: [], electing: [], probing: [], following: [], other: [], term_fields: [], write_requests: [] };

/**
 * One vocabulary for a cluster whose groups speak several (snowflake's workers beside Zab's
 * coordinator): every word of each, the first vocabulary's term fields and established field first.
 */
export function mergeRoles(first: RoleVocabulary, ...rest: readonly RoleVocabulary[]): RoleVocabulary {
  if (rest.length === 0) return first;
  const all = [first, ...rest];
  const union = (pick: (v: RoleVocabulary) => readonly string[]) => [...new Set(all.flatMap(pick))];
  const established_field = all.find((v) => v.established_field !== undefined)?.established_field;
  return {
    leading: union((v) => v.leading),
    electing: union((v) => v.electing),
    probing: union((v) => v.probing),
    following: union((v) => v.following),
    other: union((v) => v.other),
    term_fields: union((v) => v.term_fields),
    write_requests: union((v) => v.write_requests),
    ...(established_field !== undefined ? { established_field } : {}),
  };
}

/**
 * True when the system can have a leader: some role leads, or a client write
 * can show which node serves writes. A system without leaders never warns
 * that it has none.
 */
export function electsLeaders(vocabulary: RoleVocabulary): boolean {
  return vocabulary.leading.length > 0 || vocabulary.write_requests.length > 0;
}

export type RoleKind = 'leading' | 'electing' | 'following' | 'other';

/** Node process states as the supervisor names them. */
export type LivenessStatus = 'starting' | 'up' | 'down' | 'paused';

/** The role a state report names, lower-cased, or null when it names none. */
export function roleOf(state: Readonly<Record<string, unknown>>): string | null {
  const role = state.role;
  return typeof role === 'string' && role.length > 0 ? role.toLowerCase() : null;
}

/** Which kind of role a word is in this vocabulary; null for words it does not know. */
export function roleKind(vocabulary: RoleVocabulary, role: string | null): RoleKind | null {
  if (role === null) return null;
  if (vocabulary.leading.includes(role)) return 'leading';
  if (vocabulary.electing.includes(role)) return 'electing';
  if (vocabulary.following.includes(role)) return 'following';
  if (vocabulary.other.includes(role)) return 'other';
  return null;
}

export function isLeadingRole(vocabulary: RoleVocabulary, state: Readonly<Record<string, unknown>>): boolean {
  return roleKind(vocabulary, roleOf(state)) === 'leading';
}

/** A leading node that holds its office: leading, and (when the vocabulary names one) its established field true. */
export function isEstablishedLeader(vocabulary: RoleVocabulary, state: Readonly<Record<string, unknown>>): boolean {
  if (!isLeadingRole(vocabulary, state)) return false;
  const field = vocabulary.established_field;
  return field === undefined || state[field] === true;
}

export function isElectingRole(vocabulary: RoleVocabulary, state: Readonly<Record<string, unknown>>): boolean {
  return roleKind(vocabulary, roleOf(state)) === 'electing';
}

/** True for an electing role that changes no term (a pre-vote). */
export function isProbingRole(vocabulary: RoleVocabulary, state: Readonly<Record<string, unknown>>): boolean {
  const role = roleOf(state);
  return role !== null && vocabulary.probing.includes(role);
}

/** The term (or epoch) a state report names, or null when it names none. */
export function termOf(vocabulary: RoleVocabulary, state: Readonly<Record<string, unknown>>): number | null {
  for (const field of vocabulary.term_fields) {
    const value = state[field];
    if (typeof value === 'number' && Number.isFinite(value)) return value;
  }
  return null;
}

/**
 * The word for the term in lines a person reads ("term" for Raft, "epoch" for Zab): the field the
 * state report names it in, else the first the vocabulary declares.
 */
export function termWord(vocabulary: RoleVocabulary, state: Readonly<Record<string, unknown>> = {}): string {
  const named = vocabulary.term_fields.find((field) => typeof state[field] === 'number' && Number.isFinite(state[field]));
  return named ?? vocabulary.term_fields[0] ?? 'term';
}

/** Only a running node that is not paused can lead, answer or be killed as the leader. */
export function isLive(status: LivenessStatus): boolean {
  return status === 'up';
}

/** The longest role word in a vocabulary: how wide a role column must be to show every one in full. */
export function longestRole(vocabulary: RoleVocabulary): number {
  return Math.max(0, ...[...vocabulary.leading, ...vocabulary.electing, ...vocabulary.following, ...vocabulary.other].map((r) => r.length));
}

export interface RoleNode {
  id: string;
  status: LivenessStatus;
  state: Readonly<Record<string, unknown>>;
  /**
   * True when `state.role` came from an earlier process of this node (it was
   * restarted and has not reported a role since).
   */
  role_stale?: boolean;
}

export interface LeaderFinding {
  id: string;
  term: number | null;
  /** True when no node reports leading and the leader is a guess from client replies. */
  inferred: boolean;
}

/** What a node's role is as far as leadership goes: null when it is not live or its role is stale. */
export function liveRole(node: RoleNode): string | null {
  if (!isLive(node.status) || node.role_stale === true) return null;
  return roleOf(node.state);
}

/**
 * The leader: the live node whose current process reports a leading role,
 * the highest term winning (ties go to the first in `nodes`). When none does,
 * `inferred` (a node that answered a client write) is the leader if it is live
 * and reports no role of its own: a node that reports its role is believed over
 * any guess.
 */
export function findLeader(vocabulary: RoleVocabulary, nodes: readonly RoleNode[], inferred: string | null = null): LeaderFinding | null {
  let best: LeaderFinding | null = null;
  for (const node of nodes) {
    if (roleKind(vocabulary, liveRole(node)) !== 'leading') continue;
    const term = termOf(vocabulary, node.state);
    if (!best || (term ?? 0) > (best.term ?? 0)) best = { id: node.id, term, inferred: false };
  }
  if (best || inferred === null) return best;
  const guess = nodes.find((n) => n.id === inferred);
  if (!guess || !isLive(guess.status) || liveRole(guess) !== null) return null;
  return { id: guess.id, term: termOf(vocabulary, guess.state), inferred: true };
}

/** True when `reply` is the successful answer to a client write (`write` answered by `write_ok`, and so on). */
export function isSuccessfulWrite(vocabulary: RoleVocabulary, request: { type: string }, reply: { type: string }): boolean {
  return vocabulary.write_requests.includes(request.type) && reply.type === `${request.type}_ok`;
}

/**
 * Whether a guessed leader keeps its standing after a partition: only while
 * it is on a side holding a majority of the nodes (a minority side cannot
 * commit, so whatever it answered before says nothing about now).
 */
export function onMajoritySide(node: string, groups: readonly (readonly string[])[] | null, node_count: number): boolean {
  if (!groups) return true;
  const side = groups.find((g) => g.includes(node));
  return side !== undefined && side.length * 2 > node_count;
}

/** How the leader is described in status lines: "n3", or "n3 (inferred from client replies)". */
export function describeLeader(leader: string | null, inferred: boolean): string {
  if (!leader) return '-';
  return inferred ? `${leader} (inferred from client replies)` : leader;
}
