/**
 * Linearizability checker for key-value histories: lin-kv's checker.
 *
 * It is not a generic engine with the register plugged in: the register model
 * is compiled into the search (op kinds equal / not-equal / set / cas), and
 * the reductions below that keep indefinite operations cheap (dead values,
 * unknown initial values, dropping unneeded writes) are arguments about
 * registers. A workload with another model needs its own search.
 *
 * The approach follows Porcupine: the history is split per key (a key-value store
 * is linearizable iff each key's register is, so keys are checked independently),
 * and each key is searched with the Wing & Gong / Lowe algorithm: call and return
 * entries in one doubly linked list ordered by time; an operation may be linearized
 * next when its call comes before every pending return; linearized operations are
 * lifted out of the list and put back when the search backtracks; every
 * (set of linearized operations, register state) already explored is remembered so
 * it is never explored twice.
 *
 * Model: one register per key, initially absent, or initially unknown for keys
 * that may have held data before the history began (see below).
 *   read (ok)             requires state == result (null = absent)
 *   read (fail, error 20) the key was absent: same as an ok read of null
 *   write / delete        sets the state (delete sets absent)
 *   cas (ok)              requires state == from, sets to
 *   cas (fail, error 22)  requires state != from (the precondition was observed false);
 *                         with no error code, the same
 *   cas (fail, error 20)  the key was absent: requires state == absent
 *   cas (fail, other)     dropped
 *   other failures        dropped: they did not take effect and observed nothing
 *   unknown write/cas/delete  may take effect once at any time after its call, or never
 *   unknown read          dropped (observed nothing we know of)
 *
 * Indefinite operations are the expensive part of such searches (each can be
 * linearized anywhere after its call). These reductions keep them cheap without
 * losing any linearization (a brute-force cross-check in the tests backs this):
 *  - an indefinite operation is only linearized immediately before an operation
 *    that needs it: one that requires the value it wrote, or a failed cas whose
 *    `from` equals the value it overwrote. Any valid order can be rearranged into
 *    that form by moving indefinite operations later (their return is at infinity,
 *    so this never breaks real-time order) or dropping the ones nothing needs;
 *  - before searching, an indefinite operation whose written value nobody requires
 *    and after whose call no cas failed is dropped outright (by the same argument);
 *  - values no pending operation compares with are merged into one state, and among
 *    indefinite candidates that would do the same thing only the first is tried
 *    (see searchKey).
 * What remains exponential is the worst case every checker of this kind has: many
 * concurrent clients on one key with many indefinite operations; the time budget
 * then answers 'unknown'.
 *
 * An unknown initial value is one more kind of register state: "some value, known
 * only to differ from the values in a set S" (S starts empty). The first op that
 * requires a value v fixes it (v must not be in S), a failed cas from v adds v to
 * S, and a write replaces it like any value. Nothing can return the register to
 * it, so it only occurs before the first write or observation along a branch;
 * values of S no pending op compares with are dropped from S, as for dead values.
 *
 * No I/O here; the only clock read is for the time budget.
 */
import type { InitialState, Operation, Value } from './history.js';
import { error_code_key_does_not_exist, error_code_precondition_failed, formatOperation, formatValue, validateOperation } from './history.js';

/** Whole-check time budget when the caller gives none. */
export const check_timeout_ms_default = 10_000;
/** Time spent shrinking a counterexample, on top of the check itself. */
export const shrink_timeout_ms_default = 2_000;
/** Most linearizability checks one shrink may run. */
export const shrink_checks_max = 2_000;
/** Time budget for each check while shrinking; a check that runs out counts as "not shown invalid". */
export const shrink_check_timeout_ms = 200;
/** Memo budget per key search, in UTF-16 code units of memo keys (about 2 bytes each). */
export const search_memo_chars_max = 64_000_000;
/** Longest list of ops the search scans when deciding whether an indefinite op is worth trying. */
export const obligation_scan_ops_max = 64;
/** The search reads the clock once per this many steps. */
export const search_clock_check_interval_steps = 1_024;

export interface CheckOptions {
  /** How each key starts; absent for every key when not given. */
  initial_state?: (key: string) => InitialState;
  /** Total budget for checking; 'unknown' when exceeded. */
  timeout_ms?: number;
  /** Budget for shrinking a counterexample once a violation is found. */
  shrink_timeout_ms?: number;
  /** Clock in milliseconds; injectable for tests. Defaults to performance.now. */
  now_ms?: () => number;
}

export type CheckVerdict = 'valid' | 'invalid' | 'unknown';

export interface Violation {
  key: string;
  /** A small set of this key's operations that together cannot be linearized, in call order. */
  ops: Operation[];
  explanation: string;
  /** How many operations the key had in the history. */
  key_ops: number;
  /** How the key's register was assumed to start. */
  initial: InitialState;
}

export interface CheckResult {
  result: CheckVerdict;
  /** Keys whose check finished. */
  keys_checked: number;
  /** Operations on the keys whose check finished. */
  ops_checked: number;
  /** Of the keys checked, how many started absent and how many with an unknown value. */
  keys_starting_absent: number;
  keys_starting_unknown: number;
  elapsed_ms: number;
  violation?: Violation;
  /** Why the result is 'unknown'. */
  reason?: string;
}

// ---------------------------------------------------------------------------
// The register model over interned values: every distinct value of a key gets a
// small integer, 0 meaning absent, so states compare as integers.

const absent_state = 0;

const kind_equal = 0; // requires state == a
const kind_not_equal = 1; // requires state != a
const kind_set = 2; // state := a
const kind_cas = 3; // requires state == a, state := b

interface SearchOp {
  source: Operation;
  kind: number;
  a: number;
  b: number;
  call_ms: number;
  /** Infinity for indefinite operations. */
  return_ms: number;
  indefinite: boolean;
}

class ValueTable {
  private readonly ids = new Map<string, number>();
  private readonly values: Value[] = [];

  id(value: Value | null | undefined): number {
    if (value === null || value === undefined) return absent_state;
    // The type prefix keeps 1 and "1" apart.
    const name = `${typeof value === 'number' ? 'n' : 's'}${value}`;
    let id = this.ids.get(name);
    if (id === undefined) {
      this.values.push(value);
      id = this.values.length;
      this.ids.set(name, id);
    }
    return id;
  }

  value(id: number): Value | null {
    return id === absent_state ? null : this.values[id - 1]!;
  }
}

/** Translates an operation into the model, or null when it tells nothing about the register. */
function toSearchOp(op: Operation, values: ValueTable): SearchOp | null {
  const indefinite = op.outcome === 'unknown';
  const base = { source: op, call_ms: op.call_ms, return_ms: indefinite ? Infinity : op.return_ms!, indefinite, b: 0 };
  switch (op.f) {
    case 'read':
      if (op.outcome === 'ok') return { ...base, kind: kind_equal, a: values.id(op.result) };
      if (op.outcome === 'fail' && op.error === error_code_key_does_not_exist) return { ...base, kind: kind_equal, a: absent_state };
      return null;
    case 'write':
      return op.outcome === 'fail' ? null : { ...base, kind: kind_set, a: values.id(op.value) };
    case 'delete':
      return op.outcome === 'fail' ? null : { ...base, kind: kind_set, a: absent_state };
    case 'cas':
      if (op.outcome !== 'fail') return { ...base, kind: kind_cas, a: values.id(op.from), b: values.id(op.to) };
      if (op.error === error_code_key_does_not_exist) return { ...base, kind: kind_equal, a: absent_state };
      if (op.error === undefined || op.error === error_code_precondition_failed) return { ...base, kind: kind_not_equal, a: values.id(op.from) };
      return null;
  }
}

/** The value an operation writes when it takes effect, or -1 if it writes nothing. */
function writtenState(op: SearchOp): number {
  if (op.kind === kind_set) return op.a;
  if (op.kind === kind_cas) return op.b;
  return -1;
}

/** The value an operation requires the register to hold, or -1 if none. */
function requiredState(op: SearchOp): number {
  return op.kind === kind_equal || op.kind === kind_cas ? op.a : -1;
}

/**
 * Drops indefinite operations no linearization needs: nothing requires the value
 * they write and no cas failed after their call. Repeats, since dropping an
 * indefinite cas can leave another write unneeded.
 */
function dropUnneededIndefinite(ops: SearchOp[]): SearchOp[] {
  let current = ops;
  for (let round = 0; round <= ops.length; round++) {
    const required = new Map<number, number>();
    let lastFailedCasReturn_ms = -Infinity;
    for (const op of current) {
      const state = requiredState(op);
      if (state >= 0) required.set(state, (required.get(state) ?? 0) + 1);
      if (op.kind === kind_not_equal) lastFailedCasReturn_ms = Math.max(lastFailedCasReturn_ms, op.return_ms);
    }
    const kept = current.filter((op) => {
      if (!op.indefinite) return true;
      const written = writtenState(op);
      // An indefinite cas requiring its own written value is a no-op; it cannot help anyone.
      const requiredByOthers = (required.get(written) ?? 0) - (requiredState(op) === written ? 1 : 0);
      return requiredByOthers > 0 || lastFailedCasReturn_ms >= op.call_ms;
    });
    if (kept.length === current.length) return kept;
    current = kept;
  }
  return current;
}

// ---------------------------------------------------------------------------
// The search.

/**
 * Unknown register states, "a value other than those in S", as numbers from `base`
 * up (above every value id), one per set S of value ids, so states stay integers.
 */
class UnknownStates {
  private readonly ids = new Map<string, number>();
  private readonly sets: number[][] = [];

  constructor(private readonly base: number) {}

  /** The state for S, given sorted without repeats. */
  id(excluded: number[]): number {
    const name = excluded.join(',');
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.base + this.sets.length;
      this.sets.push(excluded);
      this.ids.set(name, id);
    }
    return id;
  }

  isUnknown(state: number): boolean {
    return state >= this.base;
  }

  excluded(state: number): readonly number[] {
    return this.sets[state - this.base]!;
  }
}

type SearchOutcome = 'linearizable' | 'not_linearizable' | 'gave_up';

interface Entry {
  op: number;
  is_call: boolean;
  time_ms: number;
  prev: Entry | null;
  next: Entry | null;
}

interface Deadline {
  at_ms: number;
  now_ms: () => number;
}

/** Builds a doubly linked list behind a sentinel head, in the given order. */
function linkList(entries: Entry[]): Entry {
  const head: Entry = { op: -1, is_call: false, time_ms: -Infinity, prev: null, next: null };
  let tail = head;
  for (const entry of entries) {
    entry.prev = tail;
    tail.next = entry;
    tail = entry;
  }
  return head;
}

function unlink(entry: Entry): void {
  entry.prev!.next = entry.next;
  if (entry.next) entry.next.prev = entry.prev;
}

/** Relinking in the reverse order of unlinking restores a list exactly. */
function relink(entry: Entry): void {
  entry.prev!.next = entry;
  if (entry.next) entry.next.prev = entry;
}

/** The value an op compares the register with (read, cas, failed cas), or -1. */
function testedState(op: SearchOp): number {
  return op.kind === kind_set ? -1 : op.a;
}

/**
 * Searches for a linearization of one key's operations. Returns 'gave_up' when the
 * deadline passes or the memo budget runs out.
 *
 * Definite ops (ok, or failures that observed something) live in one list of call
 * and return entries; indefinite ops, which never return, in a second list of calls.
 * At each point the candidates are the definite calls before the first return entry,
 * tried first because a real history mostly needs them, then the indefinite calls
 * made before that return.
 *
 * Two reductions keep indefinite ops from multiplying the search:
 *  - a value that no pending op compares with ("dead") behaves like any other dead
 *    value for the rest of that branch, so the state is recorded as one shared dead
 *    state; this lets the memo merge branches that differ only in such values;
 *  - among indefinite candidates at one point, only the first of those that would
 *    do the same thing (same kind, same values after the dead-value merge) is tried:
 *    the others lead to the same futures.
 */
function searchKey(allOps: readonly SearchOp[], deadline: Deadline, initial: InitialState): SearchOutcome {
  const kept = dropUnneededIndefinite([...allOps]);
  const byCall = (x: SearchOp, y: SearchOp): number => x.call_ms - y.call_ms;
  const definite = kept.filter((op) => !op.indefinite).sort(byCall);
  const indefinite = kept.filter((op) => op.indefinite).sort(byCall);
  // Definite ops take indexes 0..definiteCount-1, in call order; indefinite ones follow.
  const ops = [...definite, ...indefinite];
  const definiteCount = definite.length;
  let definiteLeft = definiteCount;
  if (definiteLeft === 0) return 'linearizable';

  let dead_state = absent_state;
  for (const op of ops) dead_state = Math.max(dead_state, op.a, op.b);
  dead_state += 1;
  // Pending ops comparing the register with each value; zero means the value is dead.
  const testersLeft = new Int32Array(dead_state + 1);
  for (const op of ops) {
    const tested = testedState(op);
    if (tested >= 0) testersLeft[tested]!++;
  }
  const unknown = new UnknownStates(dead_state + 1);
  const canonical = (state: number): number => {
    if (unknown.isUnknown(state)) {
      // Excluding a value nobody will compare with any more constrains nothing.
      const excluded = unknown.excluded(state);
      return excluded.every((value) => testersLeft[value]! > 0) ? state : unknown.id(excluded.filter((value) => testersLeft[value]! > 0));
    }
    return state === dead_state || testersLeft[state] === 0 ? dead_state : state;
  };

  const callEntries: Entry[] = [];
  const returnEntries: Entry[] = [];
  ops.forEach((op, index) => {
    callEntries.push({ op: index, is_call: true, time_ms: op.call_ms, prev: null, next: null });
    if (index < definiteCount) returnEntries.push({ op: index, is_call: false, time_ms: op.return_ms, prev: null, next: null });
  });
  // At equal times calls sort first, so operations that merely touch count as concurrent.
  const definiteEntries = [...callEntries.slice(0, definiteCount), ...returnEntries].sort(
    (x, y) => x.time_ms - y.time_ms || (x.is_call === y.is_call ? x.op - y.op : x.is_call ? -1 : 1),
  );
  const definiteHead = linkList(definiteEntries);
  const indefiniteHead = linkList(callEntries.slice(definiteCount));

  // What an indefinite op would do now, as a number: ops with equal signatures are interchangeable.
  const signature = (op: SearchOp): number => (op.kind === kind_set ? canonical(op.a) : dead_state + 1 + op.a * (dead_state + 1) + canonical(op.b));

  // Linearized sets, one bit per op: definite ops by index, indefinite ones by index - definiteCount.
  const definiteDone = new Uint32Array((definiteCount + 31) >>> 5);
  const indefiniteDone = new Uint32Array((ops.length - definiteCount + 31) >>> 5);
  const flip = (index: number): void => {
    if (index < definiteCount) {
      definiteDone[index >>> 5]! ^= 1 << (index & 31);
    } else {
      const bit = index - definiteCount;
      indefiniteDone[bit >>> 5]! ^= 1 << (bit & 31);
    }
  };
  const isLinearized = (index: number): boolean => {
    if (index < definiteCount) return (definiteDone[index >>> 5]! & (1 << (index & 31))) !== 0;
    const bit = index - definiteCount;
    return (indefiniteDone[bit >>> 5]! & (1 << (bit & 31))) !== 0;
  };

  // Ops requiring each value, and failed cas ops testing each value, for the check below.
  const requiring = new Map<number, number[]>();
  const failedTesting = new Map<number, number[]>();
  ops.forEach((op, index) => {
    const [lists, value] = op.kind === kind_not_equal ? [failedTesting, op.a] : [requiring, requiredState(op)];
    if (value < 0) return;
    const list = lists.get(value);
    if (list) list.push(index);
    else lists.set(value, [index]);
  });
  const anyPendingCandidate = (list: number[] | undefined, except: number): boolean => {
    if (!list) return false;
    if (list.length > obligation_scan_ops_max) return true;
    return list.some((index) => index !== except && !isLinearized(index) && ops[index]!.call_ms <= barrier_ms);
  };
  /**
   * Whether linearizing indefinite op `index` now could be followed by an op that needs it
   * (its obligation); a cheap necessary condition that spares exploring hopeless branches.
   */
  const mayBeNeeded = (index: number): boolean => {
    const op = ops[index]!;
    return anyPendingCandidate(requiring.get(writtenState(op)), index) || anyPendingCandidate(failedTesting.get(overwritten(op, state)), index);
  };
  /**
   * The value indefinite op `op` replaces when linearized in `state`: the state itself, except
   * that a cas in an unknown state has just shown the value was its `from`. A failed cas
   * testing that value needs the change (before it, the cas would fail, or not apply).
   */
  const overwritten = (op: SearchOp, state: number): number => (op.kind === kind_cas && unknown.isUnknown(state) ? op.a : state);

  const lift = (index: number): void => {
    flip(index);
    unlink(callEntries[index]!);
    if (index < definiteCount) unlink(returnEntries[index]!);
    const tested = testedState(ops[index]!);
    if (tested >= 0) testersLeft[tested]!--;
  };
  const unlift = (index: number): void => {
    const tested = testedState(ops[index]!);
    if (tested >= 0) testersLeft[tested]!++;
    if (index < definiteCount) relink(returnEntries[index]!);
    relink(callEntries[index]!);
    flip(index);
  };

  const memo = new Set<string>();
  let memoChars = 0;
  const stackOps: number[] = [];
  const stackPrevStates: number[] = [];
  // Highest linearized definite and indefinite bit so far along the stack, so memo keys need not scan.
  const stackDefiniteMax: number[] = [];
  const stackIndefiniteMax: number[] = [];

  const appendWords = (key: string, bits: Uint32Array, fromWord: number, toWord: number): string => {
    for (let word = fromWord; word <= toWord; word++) {
      const value = bits[word]!;
      key += String.fromCharCode(value & 0xffff, value >>> 16);
    }
    return key;
  };
  // Memo key: state, pending obligation, and the linearized sets. Every definite op before
  // the first one still listed is linearized, so only the words from there on vary.
  const memoKey = (state: number, obligation: number, definiteMax: number, indefiniteMax: number): string => {
    const firstWord = (definiteHead.next === null ? definiteCount : definiteHead.next.op) >>> 5;
    const key = appendWords(`${state},${obligation},${firstWord}:`, definiteDone, firstWord, definiteMax >> 5);
    return appendWords(`${key}|`, indefiniteDone, 0, indefiniteMax >> 5);
  };

  /** Time of the first pending return: indefinite calls after it cannot go next. */
  const firstReturn_ms = (): number => {
    for (let entry = definiteHead.next; entry; entry = entry.next) if (!entry.is_call) return entry.time_ms;
    return Infinity;
  };

  let state = initial === 'absent' ? absent_state : unknown.id([]);
  // After an indefinite op moved the register from p to state, obligation is p (see overwritten): the next
  // op must need that change (see the module comment). -1 when there is none.
  let obligation = -1;
  let entry: Entry | null = definiteHead.next;
  let inIndefinite = false;
  let barrier_ms = Infinity;
  // Signatures of the indefinite candidates already tried at the current point.
  const triedSignatures = new Set<number>();
  let steps = 0;

  for (;;) {
    if (++steps % search_clock_check_interval_steps === 0 && deadline.now_ms() > deadline.at_ms) return 'gave_up';

    if (!inIndefinite && (entry === null || !entry.is_call)) {
      // Definite candidates exhausted: on to indefinite calls made before the first pending return.
      barrier_ms = entry === null ? Infinity : entry.time_ms;
      inIndefinite = true;
      triedSignatures.clear();
      entry = indefiniteHead.next;
    }
    if (inIndefinite && (entry === null || entry.time_ms > barrier_ms)) {
      // Nothing can go next: undo the last choice and try the one after it.
      const index = stackOps.pop();
      if (index === undefined) return 'not_linearizable';
      state = stackPrevStates.pop()!;
      stackDefiniteMax.pop();
      stackIndefiniteMax.pop();
      unlift(index);
      if (index < definiteCount) definiteLeft++;
      const top = stackOps.length - 1;
      obligation = top >= 0 && stackOps[top]! >= definiteCount ? overwritten(ops[stackOps[top]!]!, stackPrevStates[top]!) : -1;
      inIndefinite = index >= definiteCount;
      if (inIndefinite) {
        // Resume among this point's indefinite candidates: those listed up to here were tried.
        barrier_ms = firstReturn_ms();
        triedSignatures.clear();
        for (let tried = indefiniteHead.next; tried; tried = tried.next) {
          triedSignatures.add(signature(ops[tried.op]!));
          if (tried.op === index) break;
        }
      }
      entry = callEntries[index]!.next;
      continue;
    }

    const index = entry!.op;
    const op = ops[index]!;
    let next = -1;
    if (!op.indefinite) {
      next = step(op, state, obligation, unknown);
    } else {
      const opSignature = signature(op);
      if (!triedSignatures.has(opSignature)) {
        triedSignatures.add(opSignature);
        next = step(op, state, obligation, unknown);
        // An indefinite op that changes nothing is the same as never taking effect.
        if (op.kind === kind_set ? canonical(op.a) === state : op.a === op.b) next = -1;
        if (next >= 0 && !mayBeNeeded(index)) next = -1;
      }
    }
    if (next >= 0) {
      lift(index);
      next = canonical(next);
      const nextObligation = op.indefinite ? overwritten(op, state) : -1;
      const isDefinite = index < definiteCount;
      const definiteMax = Math.max(stackDefiniteMax.at(-1) ?? -1, isDefinite ? index : -1);
      const indefiniteMax = Math.max(stackIndefiniteMax.at(-1) ?? -1, isDefinite ? -1 : index - definiteCount);
      const key = memoKey(next, nextObligation, definiteMax, indefiniteMax);
      if (!memo.has(key)) {
        memo.add(key);
        memoChars += key.length;
        if (memoChars > search_memo_chars_max) return 'gave_up';
        stackOps.push(index);
        stackPrevStates.push(state);
        stackDefiniteMax.push(definiteMax);
        stackIndefiniteMax.push(indefiniteMax);
        state = next;
        obligation = nextObligation;
        if (isDefinite && --definiteLeft === 0) return 'linearizable';
        entry = definiteHead.next;
        inIndefinite = false;
        continue;
      }
      unlift(index);
    }
    entry = entry!.next;
  }
}

/** The register state after linearizing op now, or -1 if it cannot go now. */
function step(op: SearchOp, state: number, obligation: number, unknown: UnknownStates): number {
  if (obligation >= 0) {
    // An unknown state is never an op's value, so nothing needs a change away from one:
    // a failed cas would have passed before the change too.
    const needsChange = requiredState(op) === state || (op.kind === kind_not_equal && op.a === obligation);
    if (!needsChange) return -1;
  }
  if (unknown.isUnknown(state)) {
    const excluded = unknown.excluded(state);
    switch (op.kind) {
      case kind_equal:
        return excluded.includes(op.a) ? -1 : op.a;
      case kind_not_equal:
        return excluded.includes(op.a) ? state : unknown.id([...excluded, op.a].sort((x, y) => x - y));
      case kind_set:
        return op.a;
      default:
        return excluded.includes(op.a) ? -1 : op.b;
    }
  }
  switch (op.kind) {
    case kind_equal:
      return op.a === state ? state : -1;
    case kind_not_equal:
      return op.a !== state ? state : -1;
    case kind_set:
      return op.a;
    default:
      return op.a === state ? op.b : -1;
  }
}

// ---------------------------------------------------------------------------
// Counterexamples: shrink an invalid key's operations to a few that still fail,
// and say in words why.

/** The value each required state comes from: ok/indefinite writes and cas `to`, plus the initial absent. */
function writtenStates(ops: readonly SearchOp[], initial: InitialState): Set<number> {
  const written = new Set<number>(initial === 'absent' ? [absent_state] : []);
  for (const op of ops) {
    const state = writtenState(op);
    if (state >= 0) written.add(state);
  }
  return written;
}

/**
 * The first op requiring each value no op in the set could have written, one per value
 * (an indefinite cas may simply never apply, so it requires nothing for sure).
 */
function unwrittenRequirements(ops: readonly SearchOp[], initial: InitialState): SearchOp[] {
  const written = writtenStates(ops, initial);
  const found = new Map<number, SearchOp>();
  for (const op of ops) {
    if (op.kind === kind_cas && op.indefinite) continue;
    const required = requiredState(op);
    if (required >= 0 && !written.has(required) && !found.has(required)) found.set(required, op);
  }
  return [...found.values()];
}

/**
 * Ops that cannot all be linearized because they need values nothing wrote: one op
 * when the key starts absent; two ops needing different values when it starts with
 * an unknown value (only one of them can be that value). Undefined when there are none.
 */
function findUnwrittenRequirement(ops: readonly SearchOp[], initial: InitialState): SearchOp[] | undefined {
  const unwritten = unwrittenRequirements(ops, initial);
  if (initial === 'absent') return unwritten.length > 0 ? unwritten.slice(0, 1) : undefined;
  return unwritten.length > 1 ? unwritten.slice(0, 2) : undefined;
}

/**
 * Whether a subset could serve as a counterexample: each value it requires is written
 * within it, save the initial value of a key that starts unknown. A subset that drops
 * the write of a value it reads would be "invalid" for a useless reason.
 */
function selfContained(ops: readonly SearchOp[], initial: InitialState): boolean {
  return unwrittenRequirements(ops, initial).length <= (initial === 'absent' ? 0 : 1);
}

/**
 * Shrinks a non-linearizable set of ops. Candidate subsets must stay self-contained
 * (every value required is written by some op in the subset), else a lone read of a
 * value whose write was dropped would be a useless "minimal" counterexample. Steps:
 * the shortest failing prefix in call order, then dropping halves, quarters, … and
 * finally single ops until none can go, all within a check count and time budget.
 */
function shrinkCounterexample(all: readonly SearchOp[], initial: InitialState, now_ms: () => number, budget_ms: number): SearchOp[] {
  const sorted = [...all].sort((x, y) => x.call_ms - y.call_ms);
  const unwritten = findUnwrittenRequirement(sorted, initial);
  if (unwritten) return unwritten;

  const stop_ms = now_ms() + budget_ms;
  let checks = 0;
  const stillInvalid = (subset: SearchOp[]): boolean => {
    if (subset.length === 0 || !selfContained(subset, initial)) return false;
    const at_ms = now_ms();
    if (checks >= shrink_checks_max || at_ms > stop_ms) return false;
    checks++;
    const deadline = { at_ms: Math.min(stop_ms, at_ms + shrink_check_timeout_ms), now_ms };
    return searchKey(subset, deadline, initial) === 'not_linearizable';
  };

  let current = sorted;
  let low = 1;
  let high = current.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (stillInvalid(current.slice(0, middle))) high = middle;
    else low = middle + 1;
  }
  // Failing prefixes need not be monotone, so confirm before trusting the result.
  if (low < current.length && stillInvalid(current.slice(0, low))) current = current.slice(0, low);

  for (let size = current.length >>> 1; size >= 2; size >>>= 1) {
    for (let start = 0; start < current.length; ) {
      const candidate = [...current.slice(0, start), ...current.slice(start + size)];
      if (stillInvalid(candidate)) current = candidate;
      else start += size;
    }
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (let index = current.length - 1; index >= 0; index--) {
      const candidate = [...current.slice(0, index), ...current.slice(index + 1)];
      if (stillInvalid(candidate)) {
        current = candidate;
        changed = true;
      }
    }
  }
  return current;
}

/** "the read (…) returned 3": what the op says the register held. */
function describeRequirement(op: SearchOp, values: ValueTable): string {
  const described = `(${formatOperation(op.source)})`;
  const value = formatValue(values.value(op.a));
  if (op.kind === kind_cas) return `the cas ${described} found ${value}`;
  if (op.kind === kind_not_equal) return `the failed cas ${described} found something other than ${value}`;
  return op.a === absent_state ? `the read ${described} found the key absent` : `the read ${described} returned ${value}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Explains the common shapes in one sentence; falls back to the general statement. */
function explainViolation(key: string, ops: readonly SearchOp[], values: ValueTable, initial: InitialState): string {
  const quotedKey = JSON.stringify(key);
  const unwritten = findUnwrittenRequirement(ops, initial);
  if (unwritten && unwritten.length === 1) {
    const [op] = unwritten as [SearchOp];
    return `${capitalize(describeRequirement(op, values))}, but no operation on key ${quotedKey} ever wrote ${formatValue(values.value(op.a))}.`;
  }
  if (unwritten) {
    const [first, second] = unwritten as [SearchOp, SearchOp];
    return (
      `${capitalize(describeRequirement(first, values))} and ${describeRequirement(second, values)}, but no operation on key ${quotedKey} ` +
      `ever produced either (by a write, a cas or a delete), and only one of them can be how the key was before the history began.`
    );
  }

  // Early value: the observer finished before any write of the value started (with an
  // unknown initial value, it may have seen that instead, so this shape proves nothing).
  for (const observer of initial === 'absent' ? ops : []) {
    if (observer.kind !== kind_equal && !(observer.kind === kind_cas && !observer.indefinite)) continue;
    if (observer.a === absent_state) continue;
    const writers = ops.filter((op) => op !== observer && writtenState(op) === observer.a);
    if (writers.length > 0 && writers.every((op) => op.call_ms > observer.return_ms)) {
      const first = writers.reduce((x, y) => (y.call_ms < x.call_ms ? y : x));
      return `${capitalize(describeRequirement(observer, values))}, but it finished before any write of that value started (the first: ${formatOperation(first.source)}).`;
    }
  }

  // Stale value: every write of the value seen finished before another write started, which finished before the observer started.
  for (const observer of ops) {
    if (observer.kind !== kind_equal && !(observer.kind === kind_cas && !observer.indefinite)) continue;
    const seen = observer.a;
    const writers = ops.filter((op) => op !== observer && writtenState(op) === seen);
    if (writers.some((op) => op.indefinite)) continue;
    const writersDone_ms = Math.max(-Infinity, ...writers.map((op) => op.return_ms));
    const overwriter = ops.find(
      (op) =>
        op !== observer &&
        !op.indefinite &&
        writtenState(op) >= 0 &&
        writtenState(op) !== seen &&
        op.call_ms > writersDone_ms &&
        op.return_ms < observer.call_ms,
    );
    if (!overwriter) continue;
    const newer = formatValue(values.value(writtenState(overwriter)));
    const overwrite = `(${formatOperation(overwriter.source)})`;
    const order =
      writers.length === 0
        ? `${overwrite} finished before it started and nothing ever made the key ${seen === absent_state ? 'absent' : formatValue(values.value(seen))} again`
        : `every ${seen === absent_state ? 'delete' : `write of ${formatValue(values.value(seen))}`} finished before ${overwrite} started, and that finished before the ${observer.source.f} started`;
    return `${capitalize(describeRequirement(observer, values))}, but ${order}, so it should have found ${newer} or a later value.`;
  }

  // Failed cas: `from` was written before the cas started and nothing could have changed it while the cas ran.
  for (const failed of ops) {
    if (failed.kind !== kind_not_equal) continue;
    const writer = ops.find((op) => !op.indefinite && writtenState(op) === failed.a && op.return_ms < failed.call_ms);
    if (!writer) continue;
    const changers = ops.filter((op) => writtenState(op) >= 0 && writtenState(op) !== failed.a);
    if (changers.every((op) => op.return_ms < writer.call_ms || op.call_ms > failed.return_ms)) {
      return (
        `${capitalize(describeRequirement(failed, values))}, but (${formatOperation(writer.source)}) finished before the cas started ` +
        `and no operation that could change the value overlaps, so the value was ${formatValue(values.value(failed.a))}.`
      );
    }
  }

  const indefinite = ops.some((op) => op.indefinite)
    ? ', even letting each unknown-outcome operation take effect at any time after its call, or never'
    : '';
  return (
    `No order of these ${ops.length} operations on key ${quotedKey} agrees with both real time (an operation that returned ` +
    `before another was called takes effect first) and a register that starts ${initial === 'absent' ? 'absent' : 'with an unknown value'}${indefinite}.`
  );
}

// ---------------------------------------------------------------------------

/**
 * Checks a history for linearizability against a register per key. Keys are checked
 * one at a time in sorted order; the first non-linearizable key stops the check and
 * is reported with a shrunk counterexample.
 */
export function checkHistory(ops: readonly Operation[], options: CheckOptions = {}): CheckResult {
  const now_ms = options.now_ms ?? (() => performance.now());
  const started_ms = now_ms();
  const timeout_ms = options.timeout_ms ?? check_timeout_ms_default;
  const deadline: Deadline = { at_ms: started_ms + timeout_ms, now_ms };

  const opsByKey = new Map<string, Operation[]>();
  ops.forEach((op, index) => {
    try {
      validateOperation(op);
    } catch (error) {
      throw new Error(`operation ${index}${op.line === undefined ? '' : ` (line ${op.line})`}: ${(error as Error).message}`);
    }
    let keyOps = opsByKey.get(op.key);
    if (!keyOps) opsByKey.set(op.key, (keyOps = []));
    keyOps.push(op);
  });
  const keys = [...opsByKey.keys()].sort();

  const initialState = options.initial_state ?? (() => 'absent');
  let keys_checked = 0;
  let ops_checked = 0;
  let keys_starting_absent = 0;
  const finish = (result: CheckVerdict, extra: Partial<CheckResult> = {}): CheckResult => ({
    result,
    keys_checked,
    ops_checked,
    keys_starting_absent,
    keys_starting_unknown: keys_checked - keys_starting_absent,
    elapsed_ms: now_ms() - started_ms,
    ...extra,
  });

  for (const key of keys) {
    if (now_ms() > deadline.at_ms) {
      return finish('unknown', { reason: `the time budget of ${timeout_ms} ms ran out after ${keys_checked} of ${keys.length} keys` });
    }
    const keyOps = opsByKey.get(key)!;
    const values = new ValueTable();
    const searchOps: SearchOp[] = [];
    for (const op of keyOps) {
      const searchOp = toSearchOp(op, values);
      if (searchOp) searchOps.push(searchOp);
    }
    const initial = initialState(key);
    const outcome = searchKey(searchOps, deadline, initial);
    if (outcome === 'gave_up') {
      const why = now_ms() > deadline.at_ms ? `the time budget of ${timeout_ms} ms ran out` : `the search outgrew its memo budget`;
      return finish('unknown', { reason: `${why} while checking key ${JSON.stringify(key)} (${keyOps.length} operations); ${keys_checked} of ${keys.length} keys done` });
    }
    keys_checked++;
    ops_checked += keyOps.length;
    if (initial === 'absent') keys_starting_absent++;
    if (outcome === 'not_linearizable') {
      const shrunk = shrinkCounterexample(searchOps, initial, now_ms, options.shrink_timeout_ms ?? shrink_timeout_ms_default);
      return finish('invalid', {
        violation: {
          key,
          ops: shrunk.map((op) => op.source),
          explanation: explainViolation(key, shrunk, values, initial),
          initial,
          key_ops: keyOps.length,
        },
      });
    }
  }
  return finish('valid');
}
