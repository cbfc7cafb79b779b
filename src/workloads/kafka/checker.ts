/**
 * The kafka checker: what a history of sends and polls (history.ts) says
 * about the logs behind them, after Jepsen's kafka checker as Maelstrom runs
 * it (clients assign keys themselves, one send or poll per operation, no
 * transactions). Pure: it reads the history and nothing else.
 *
 * Each key's log is what was learned of it: every offset an ok send was
 * given, and every [offset, msg] a poll returned. Offsets may be sparse, so
 * "the next offset" means the next one known to exist. Against those logs:
 *
 * - inconsistent offsets: two msgs seen at one offset of a key;
 * - duplicates: one msg at two offsets of a key;
 * - lost writes: an acknowledged msg no ok poll returned, though some ok poll returned a msg
 *   at a later offset of its key (Jepsen's rule: whatever lies before the highest offset read
 *   should have been read by someone);
 * - unseen: acknowledged msgs no ok poll ever returned (lost ones included); the final phase
 *   polls every key from the start, so a correct log leaves none;
 * - aborted reads (Jepsen's G1a): an ok poll returned a msg whose send failed definitely;
 *   phantom msgs: an ok poll returned a msg no client sent;
 * - future reads: an ok poll returned a msg whose send began only after the poll had ended.
 *   With single-operation sends and polls this is the only cycle Jepsen's dependency search
 *   (write-read plus real-time edges) can find, so it stands in for that search;
 * - within one poll, a key's offsets that go backwards or repeat (int-nonmonotonic-poll) or jump
 *   over known offsets (int-poll-skip);
 * - within one consumer (one client, between its polls of a key that answered, until an assign drops
 *   the key or the client is replaced; Jepsen skips polls whose commit then failed, though its client
 *   moved past what they returned, which makes the next poll look like a skip): polls that start at or before where the last one ended
 *   (nonmonotonic-poll) or past the next known offset (poll-skip); sends to a key given an
 *   offset at or before the client's previous send's (nonmonotonic-send).
 *
 * - committed offsets ahead of every commit: list_committed_offsets answered offset o for a key when
 *   the highest offset any client had asked to commit there (by then: polls begun before the answer
 *   came) was below o − 1, or none was and o > 0. Maelstrom's client starts an assigned key at its
 *   committed offset, so it would pass over offsets nobody had processed. Maelstrom does not check
 *   committed offsets (its spec lets them lag, never lead): this one is reported, not judged.
 * - committed offsets lost: list_committed_offsets answered nothing for a key although a commit of
 *   it had been acknowledged (an ok poll that returned msgs of the key, whose commit followed) before
 *   the assign began: the commit was forgotten (a node that lost it on a restart, or never shared it
 *   with the node asked). Maelstrom lets committed offsets go backwards, so only a key that vanished
 *   counts; reported, not judged (a lab can judge it: the grader's maelstrom_run step).
 *
 * Every other one makes the run invalid, as in Maelstrom (Jepsen allows only skips between
 * the sends of one transaction, and G0 cycles, neither of which single sends can produce).
 * Jepsen's precommitted reads (a transaction that polls the msgs it sent itself) cannot happen
 * here either: no operation both sends and polls. The worst real-time lag (how long a poll's
 * view of a key had already been stale when the poll began; Jepsen's conservative estimate) is
 * reported, never judged.
 *
 * Memory: columns of typed arrays for operations and polled messages; per key, the log as sorted
 * typed arrays, the set of msgs ok polls returned and a map from msg to its send.
 */
import type { HistoryFileCheck } from '../../lib/history.js';
import { formatDurationMs } from '../../lib/util/units.js';
import { fileLines } from '../../lib/history-lines.js';
import { f_assign, f_poll, f_send, historyFromLines, historyFromRecords, type KafkaHistory, outcome_fail, outcome_ok, outcome_unknown } from './history.js';

/** Examples each anomaly quotes. */
export const kafka_examples_max = 5;
/** Operations between two looks at the clock (the checker's budget). */
const budget_check_every_ops = 65_536;
/** The checker's budget unless told. */
export const kafka_check_timeout_ms_default = 60_000;

export const kafka_anomaly_kinds = [
  'lost-write',
  'unseen',
  'duplicate',
  'inconsistent-offsets',
  'aborted-read',
  'phantom-read',
  'future-read',
  'int-nonmonotonic-poll',
  'int-poll-skip',
  'nonmonotonic-poll',
  'poll-skip',
  'nonmonotonic-send',
  'committed-ahead',
  'committed-lost',
] as const;
export type KafkaAnomalyKind = (typeof kafka_anomaly_kinds)[number];
/** Found and reported, but not judged: Maelstrom does not check committed offsets (a lab may judge them). */
export const kafka_reported_kinds = ['committed-ahead', 'committed-lost'] as const satisfies readonly KafkaAnomalyKind[];

/** What each kind is, in words after its count: one, many, and what it means. */
const kind_words: Record<KafkaAnomalyKind, [string, string, string]> = {
  'lost-write': ['lost write', 'lost writes', 'acknowledged, never polled, though later offsets of the key were'],
  unseen: ['unseen message', 'unseen messages', 'acknowledged, never returned by any poll'],
  duplicate: ['duplicate', 'duplicates', 'one message at two offsets'],
  'inconsistent-offsets': ['inconsistent offset', 'inconsistent offsets', 'two messages at one offset'],
  'aborted-read': ['aborted read', 'aborted reads', 'a poll returned a message whose send failed'],
  'phantom-read': ['phantom read', 'phantom reads', 'a poll returned a message nobody sent'],
  'future-read': ['future read', 'future reads', 'a poll returned a message sent only after it ended'],
  'int-nonmonotonic-poll': ['poll whose offsets went backwards', 'polls whose offsets went backwards', 'within one answer'],
  'int-poll-skip': ['poll that skipped offsets', 'polls that skipped offsets', 'within one answer'],
  'nonmonotonic-poll': ['poll that went backwards', 'polls that went backwards', "to offsets its consumer had already read"],
  'poll-skip': ['poll that skipped offsets', 'polls that skipped offsets', "past its consumer's last read"],
  'nonmonotonic-send': ['send that went backwards', 'sends that went backwards', "given an offset at or before the same client's previous send"],
  'committed-ahead': ['committed offset ahead of every commit', 'committed offsets ahead of every commit', 'an assign told to start past offsets no client had asked to commit'],
  'committed-lost': ['committed offset lost', 'committed offsets lost', 'an assign told nothing was committed on a key whose commit had been acknowledged'],
};

export interface KafkaAnomaly {
  kind: KafkaAnomalyKind;
  count: number;
  examples: string[];
  /** For each example, the operation it is about (its position in the history, from 0), or null when it names none (a key's offsets). */
  example_ops: (number | null)[];
}

export interface RealtimeLag {
  lag_ms: number;
  key: string;
  client: string;
  /** When the poll began, ms since the run began. */
  at_ms: number;
}

export interface KafkaCheckDetails extends Record<string, unknown> {
  operations: number;
  keys: number;
  sends_ok: number;
  sends_unknown: number;
  sends_failed: number;
  polls_ok: number;
  /** [offset, msg] pairs ok polls returned. */
  msgs_polled: number;
  anomalies: KafkaAnomaly[];
  /** The kinds found that make the run invalid (as Maelstrom has it: all but kafka_reported_kinds). */
  bad_kinds: KafkaAnomalyKind[];
  worst_realtime_lag: RealtimeLag | null;
}

/** First index in `sorted` holding `value`, or −1. */
function indexOf(sorted: Float64Array, value: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = sorted[mid]!;
    if (at === value) return mid;
    if (at < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** What is known of one key. */
interface KeyState {
  /** offset → msg while the history is read; dropped once the sorted arrays exist. */
  building: Map<number, number> | null;
  /** Distinct known offsets, ascending, and the (first) msg seen at each. */
  offsets: Float64Array;
  msgs: Float64Array;
  /** offset → every msg seen there, for offsets that held more than one. */
  conflicts: Map<number, Set<number>> | null;
  /** Msgs some ok poll returned. */
  read: Set<number>;
  /** msg → the operation that sent it (the first, if sent twice). */
  sender: Map<number, number>;
}

class Anomalies {
  readonly found = new Map<KafkaAnomalyKind, KafkaAnomaly>();
  add(kind: KafkaAnomalyKind, example: () => string, op: number | null = null): void {
    let a = this.found.get(kind);
    if (!a) this.found.set(kind, (a = { kind, count: 0, examples: [], example_ops: [] }));
    a.count++;
    if (a.examples.length < kafka_examples_max) {
      a.examples.push(example());
      a.example_ops.push(op);
    }
  }
}

class OutOfBudget extends Error {}

/** Checks a history already in columns. */
export function checkKafkaHistory(h: KafkaHistory, timeout_ms = kafka_check_timeout_ms_default): HistoryFileCheck {
  const deadline = Date.now() + timeout_ms;
  try {
    return judge(h, deadline);
  } catch (error) {
    if (error instanceof OutOfBudget) return { result: 'unknown', text: `the kafka checker ran out of its ${formatDurationMs(timeout_ms)} budget (${h.op_count} operations)`, details: { operations: h.op_count, out_of_budget: true } };
    throw error;
  }
}

/** Checks records in memory (a run's entries). */
export function checkKafkaRecords(records: Iterable<unknown>, timeout_ms?: number): HistoryFileCheck {
  return checkKafkaHistory(historyFromRecords(records), timeout_ms);
}

/** `dslab check FILE` on a kafka history. */
export function checkKafkaFile(file: string, timeout_ms?: number): HistoryFileCheck {
  return checkKafkaHistory(historyFromLines(fileLines(file)), timeout_ms);
}

function judge(h: KafkaHistory, deadline: number): HistoryFileCheck {
  const budget = (i: number) => {
    if (i % budget_check_every_ops === 0 && Date.now() > deadline) throw new OutOfBudget();
  };
  const n = h.op_count;
  const f = h.op_f.data;
  const outcome = h.op_outcome.data;
  const call = h.op_call.data;
  const ret = h.op_return.data;
  const opKey = h.op_key.data;
  const opMsg = h.op_msg.data;
  const opOffset = h.op_offset.data;
  const opClient = h.op_client.data;
  const pairKey = h.pair_key.data;
  const pairOffset = h.pair_offset.data;
  const pairMsg = h.pair_msg.data;
  const keyName = (k: number) => JSON.stringify(h.key_names[k]);
  const msgText = (m: number) => h.msgs.text(m);
  const at = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const who = (op: number) => `${h.client_names[opClient[op]!]}'s ${f[op] === f_send ? 'send' : 'poll'} at ${at(call[op]!)}`;
  const anomalies = new Anomalies();
  /** Calls `each` with every key a poll answered and its pairs p … q−1 (one key's pairs are contiguous). */
  const forEachKeyRun = (op: number, each: (k: number, p: number, q: number) => void) => {
    const end = h.pairEnd(op);
    for (let p = h.op_pair_start.data[op]!; p < end; ) {
      let q = p + 1;
      while (q < end && pairKey[q] === pairKey[p]) q++;
      each(pairKey[p]!, p, q);
      p = q;
    }
  };
  const maxOffset = (p: number, q: number) => {
    let max = -Infinity;
    for (let i = p; i < q; i++) if (pairOffset[i]! > max) max = pairOffset[i]!;
    return max;
  };

  // ---- each key's log ----------------------------------------------------
  const keys: KeyState[] = [];
  const keyState = (k: number): KeyState => {
    let s = keys[k];
    if (!s) keys[k] = s = { building: new Map(), offsets: new Float64Array(0), msgs: new Float64Array(0), conflicts: null, read: new Set(), sender: new Map() };
    return s;
  };
  const learn = (s: KeyState, offset: number, msg: number) => {
    const had = s.building!.get(offset);
    if (had === undefined) s.building!.set(offset, msg);
    else if (had !== msg) {
      s.conflicts ??= new Map();
      let set = s.conflicts.get(offset);
      if (!set) s.conflicts.set(offset, (set = new Set([had])));
      set.add(msg);
    }
  };
  let sends_ok = 0;
  let sends_unknown = 0;
  let sends_failed = 0;
  let polls_ok = 0;
  let msgs_polled = 0;
  for (let op = 0; op < n; op++) {
    budget(op);
    if (f[op] === f_send) {
      const s = keyState(opKey[op]!);
      if (!s.sender.has(opMsg[op]!)) s.sender.set(opMsg[op]!, op);
      if (outcome[op] === outcome_ok) {
        sends_ok++;
        learn(s, opOffset[op]!, opMsg[op]!);
      } else if (outcome[op] === outcome_fail) sends_failed++;
      else sends_unknown++;
    } else if (f[op] === f_poll) {
      const ok = outcome[op] === outcome_ok;
      if (ok) polls_ok++;
      for (let p = h.op_pair_start.data[op]!, end = h.pairEnd(op); p < end; p++) {
        const s = keyState(pairKey[p]!);
        // Every poll that answered says what the log held; only ok ones count as reads.
        learn(s, pairOffset[p]!, pairMsg[p]!);
        if (ok) {
          s.read.add(pairMsg[p]!);
          msgs_polled++;
        }
      }
    }
  }
  for (const s of keys) {
    if (!s) continue;
    const offsets = Float64Array.from(s.building!.keys()).sort();
    const msgs = new Float64Array(offsets.length);
    for (let i = 0; i < offsets.length; i++) msgs[i] = s.building!.get(offsets[i]!)!;
    s.offsets = offsets;
    s.msgs = msgs;
    s.building = null;
  }

  // ---- anomalies of the logs themselves ------------------------------------
  for (let k = 0; k < keys.length; k++) {
    const s = keys[k];
    if (!s) continue;
    budget(k);
    for (const [offset, set] of s.conflicts ?? []) {
      // At the send of the msg seen there last, when it was sent.
      anomalies.add('inconsistent-offsets', () => `key ${keyName(k)} offset ${offset} held ${[...set].map(msgText).join(' and ')}`, s.sender.get([...set].at(-1)!) ?? null);
    }
    // Msgs at more than one offset: equal neighbours once every msg seen is sorted.
    const valuesAt = (i: number): Iterable<number> => s.conflicts?.get(s.offsets[i]!) ?? [s.msgs[i]!];
    let sorted = s.msgs;
    if (s.conflicts) {
      const all: number[] = [];
      for (let i = 0; i < s.msgs.length; i++) for (const m of valuesAt(i)) all.push(m);
      sorted = Float64Array.from(all);
    }
    sorted = Float64Array.from(sorted).sort();
    const repeated = new Set<number>();
    for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) repeated.add(sorted[i]!);
    const firstIndex = new Map<number, number>();
    const lastIndex = new Map<number, number>();
    if (repeated.size > 0) {
      const where = new Map<number, number[]>();
      for (let i = 0; i < s.msgs.length; i++) {
        for (const m of valuesAt(i)) {
          if (!repeated.has(m)) continue;
          if (!firstIndex.has(m)) firstIndex.set(m, i);
          lastIndex.set(m, i);
          let list = where.get(m);
          if (!list) where.set(m, (list = []));
          list.push(s.offsets[i]!);
        }
      }
      for (const [m, list] of where) anomalies.add('duplicate', () => `key ${keyName(k)}: msg ${msgText(m)} at offsets ${list.join(', ')}`, s.sender.get(m) ?? null);
    }
    // Lost writes: below the highest index some ok poll read (a msg's first index), every acknowledged
    // msg whose last index lies there should have been read.
    let bound = -1;
    for (let i = 0; i < s.msgs.length; i++) for (const m of valuesAt(i)) if (s.read.has(m)) bound = Math.max(bound, firstIndex.get(m) ?? i);
    if (bound >= 0) {
      const boundOffset = s.offsets[bound]!;
      for (let i = 0; i <= bound; i++) {
        for (const m of valuesAt(i)) {
          if (s.read.has(m) || (lastIndex.get(m) ?? i) !== i) continue;
          const sender = s.sender.get(m);
          if (sender === undefined || outcome[sender] !== outcome_ok) continue;
          anomalies.add('lost-write', () => `key ${keyName(k)}: msg ${msgText(m)} at offset ${s.offsets[i]} (${who(sender)}, acknowledged) was never polled, though offset ${boundOffset} was`, sender);
        }
      }
    }
    // Reads of msgs whose send failed, or that nobody sent.
    for (const m of s.read) {
      const sender = s.sender.get(m);
      if (sender === undefined) anomalies.add('phantom-read', () => `key ${keyName(k)}: msg ${msgText(m)} was polled but never sent`);
      else if (outcome[sender] === outcome_fail) anomalies.add('aborted-read', () => `key ${keyName(k)}: msg ${msgText(m)} was polled though ${who(sender)} failed`, sender);
    }
  }
  // Unseen: acknowledged, never polled (in history order).
  for (let op = 0; op < n; op++) {
    budget(op);
    if (f[op] !== f_send || outcome[op] !== outcome_ok) continue;
    const s = keys[opKey[op]!]!;
    if (!s.read.has(opMsg[op]!)) anomalies.add('unseen', () => `key ${keyName(opKey[op]!)}: msg ${msgText(opMsg[op]!)} at offset ${opOffset[op]} (${who(op)})`, op);
  }

  // ---- real-time lag: when each offset was known to exist --------------------
  // knownAt[k][i]: the earliest completion by which offset index i of key k was known to exist.
  const knownAt: Float64Array[] = Array.from({ length: h.key_names.length }, (_, k) => new Float64Array(keys[k]?.offsets.length ?? 0).fill(Infinity));
  const markKnown = (k: number, index: number, time: number) => {
    const known = knownAt[k]!;
    for (let i = index; i >= 0 && known[i]! > time; i--) known[i] = time;
  };
  for (let op = 0; op < n; op++) {
    budget(op);
    if (outcome[op] !== outcome_ok) continue;
    if (f[op] === f_send) markKnown(opKey[op]!, indexOf(keys[opKey[op]!]!.offsets, opOffset[op]!), ret[op]!);
    else if (f[op] === f_poll) forEachKeyRun(op, (k, p, q) => markKnown(k, indexOf(keys[k]!.offsets, maxOffset(p, q)), ret[op]!));
  }

  // ---- each consumer in turn ---------------------------------------------
  interface Consumer {
    /** key → offset the last ok poll returning some of it ended at, and that poll. */
    last_read: Map<number, { offset: number; op: number }>;
    last_send: Map<number, { offset: number; op: number }>;
    /** key → index of the highest offset read (−1: none), for the lag; the keys assigned. */
    position: Map<number, number>;
    /** The keys whose position is short of their log's end: only they can lag (the others' lag is 0). */
    behind: Set<number>;
  }
  const setPosition = (state: Consumer, k: number, index: number) => {
    state.position.set(k, index);
    if (index + 1 < knownAt[k]!.length) state.behind.add(k);
    else state.behind.delete(k);
  };
  const consumers = new Map<number, Consumer>();
  const consumer = (c: number): Consumer => {
    let state = consumers.get(c);
    if (!state) consumers.set(c, (state = { last_read: new Map(), last_send: new Map(), position: new Map(), behind: new Set() }));
    return state;
  };
  let worst: { lag: number; key: number; op: number } | null = null;
  for (let op = 0; op < n; op++) {
    budget(op);
    const c = opClient[op]!;
    if (outcome[op] === outcome_unknown) {
      // The client is gone (Jepsen's crashed process); its id may come back as a new client.
      consumers.delete(c);
      continue;
    }
    if (f[op] === f_assign) {
      if (outcome[op] !== outcome_ok) continue;
      const state = consumer(c);
      const assigned = new Set(h.assign_keys.get(op));
      for (const map of [state.last_read, state.last_send]) for (const k of [...map.keys()]) if (!assigned.has(k)) map.delete(k);
      const kept = state.position;
      state.position = new Map();
      state.behind = new Set();
      for (const k of assigned) setPosition(state, k, kept.get(k) ?? -1);
    } else if (f[op] === f_send && outcome[op] === outcome_ok) {
      const state = consumer(c);
      const k = opKey[op]!;
      const offsets = keys[k]!.offsets;
      const index = indexOf(offsets, opOffset[op]!);
      const prior = state.last_send.get(k);
      if (prior && indexOf(offsets, prior.offset) >= index) {
        anomalies.add('nonmonotonic-send', () => `${h.client_names[c]} sent to key ${keyName(k)} and got offset ${prior.offset} (at ${at(call[prior.op]!)}), then offset ${opOffset[op]} (at ${at(call[op]!)})`, op);
      }
      state.last_send.set(k, { offset: opOffset[op]!, op });
    } else if (f[op] === f_poll) {
      // Ok, or failed only in the commit that followed: either way the client moved past what it polled.
      const state = consumer(c);
      forEachKeyRun(op, (k, p, q) => {
        const s = keys[k]!;
        for (let i = p + 1; i < q; i++) {
          const from = indexOf(s.offsets, pairOffset[i - 1]!);
          const to = indexOf(s.offsets, pairOffset[i]!);
          if (to - from < 1) anomalies.add('int-nonmonotonic-poll', () => `${who(op)} returned key ${keyName(k)} offset ${pairOffset[i - 1]} then offset ${pairOffset[i]}`, op);
          else if (to - from > 1) anomalies.add('int-poll-skip', () => `${who(op)} returned key ${keyName(k)} offset ${pairOffset[i - 1]} then offset ${pairOffset[i]}, skipping ${skipped(s.offsets, from, to)}`, op);
        }
        for (let i = p; i < q; i++) {
          const sender = s.sender.get(pairMsg[i]!);
          if (sender !== undefined && call[sender]! > ret[op]!) anomalies.add('future-read', () => `${who(op)} (ended at ${at(ret[op]!)}) returned key ${keyName(k)} msg ${msgText(pairMsg[i]!)}, which ${who(sender)} sent later`, op);
        }
        const prior = state.last_read.get(k);
        if (prior) {
          const from = indexOf(s.offsets, prior.offset);
          const to = indexOf(s.offsets, pairOffset[p]!);
          if (to - from < 1) anomalies.add('nonmonotonic-poll', () => `${h.client_names[c]} polled key ${keyName(k)} up to offset ${prior.offset} (at ${at(call[prior.op]!)}), then from offset ${pairOffset[p]} (at ${at(call[op]!)})`, op);
          else if (to - from > 1) anomalies.add('poll-skip', () => `${h.client_names[c]} polled key ${keyName(k)} up to offset ${prior.offset} (at ${at(call[prior.op]!)}), then from offset ${pairOffset[p]} (at ${at(call[op]!)}), skipping ${skipped(s.offsets, from, to)}`, op);
        }
        state.last_read.set(k, { offset: pairOffset[q - 1]!, op });
        setPosition(state, k, Math.max(state.position.get(k) ?? -1, indexOf(s.offsets, maxOffset(p, q))));
      });
      // The lag of every key this consumer holds: how long before the poll began its next offset was known to exist.
      for (const k of state.behind) {
        const lag = Math.max(0, call[op]! - knownAt[k]![state.position.get(k)! + 1]!);
        if (!worst || lag > worst.lag) worst = { lag, key: k, op };
      }
      if (!worst && state.position.size > 0) worst = { lag: 0, key: state.position.keys().next().value!, op };
    }
  }

  // ---- committed offsets: none ahead of what clients asked to commit ---------------
  if (h.assign_committed.size > 0) {
    // key → the commits asked (a poll that returned messages commits the highest, right after): poll call times and offsets.
    const asked = new Map<number, { calls: number[]; offsets: number[] }>();
    for (let op = 0; op < n; op++) {
      budget(op);
      if (f[op] !== f_poll) continue;
      forEachKeyRun(op, (k, p, q) => {
        let list = asked.get(k);
        if (!list) asked.set(k, (list = { calls: [], offsets: [] }));
        list.calls.push(call[op]!);
        list.offsets.push(maxOffset(p, q));
      });
    }
    // Per key, sorted by call time with the running highest offset, made when first needed.
    const prefix = new Map<number, { calls: Float64Array; highest: Float64Array }>();
    const highestAskedBefore = (k: number, time: number): number => {
      let sorted = prefix.get(k);
      if (!sorted) {
        const list = asked.get(k) ?? { calls: [], offsets: [] };
        const order = list.calls.map((_, i) => i).sort((a, b) => list.calls[a]! - list.calls[b]!);
        const calls = Float64Array.from(order, (i) => list.calls[i]!);
        const highest = new Float64Array(order.length);
        let max = -1;
        order.forEach((i, j) => (highest[j] = max = Math.max(max, list.offsets[i]!)));
        prefix.set(k, (sorted = { calls, highest }));
      }
      // The last commit asked before `time`.
      let lo = 0;
      let hi = sorted.calls.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (sorted.calls[mid]! < time) lo = mid + 1;
        else hi = mid;
      }
      return lo === 0 ? -1 : sorted.highest[lo - 1]!;
    };
    // key → when a commit of it was first acknowledged: the earliest end of an ok poll that returned its msgs.
    const first_commit_ok = new Map<number, number>();
    for (let op = 0; op < n; op++) {
      budget(op);
      if (f[op] !== f_poll || outcome[op] !== outcome_ok) continue;
      forEachKeyRun(op, (k) => {
        if (ret[op]! < (first_commit_ok.get(k) ?? Infinity)) first_commit_ok.set(k, ret[op]!);
      });
    }
    for (const [op, committed] of h.assign_committed) {
      for (const k of h.assign_keys.get(op) ?? []) {
        const acknowledged = first_commit_ok.get(k);
        if (committed.has(k) || acknowledged === undefined || acknowledged >= call[op]!) continue;
        anomalies.add('committed-lost', () => `${h.client_names[opClient[op]!]}'s assign at ${at(call[op]!)} was told nothing was committed on key ${keyName(k)}, but a commit of it had been acknowledged at ${at(acknowledged)}`, op);
      }
      for (const [k, offset] of committed) {
        const highest = highestAskedBefore(k, ret[op]!);
        if (offset > highest + 1) {
          anomalies.add('committed-ahead', () => `${h.client_names[opClient[op]!]}'s assign at ${at(call[op]!)} was told key ${keyName(k)} was committed up to offset ${offset}, but ${highest < 0 ? 'no client had asked to commit any offset of it' : `clients had asked to commit only up to offset ${highest}`}`, op);
        }
      }
    }
  }

  // ---- the verdict ----------------------------------------------------------
  const all_found = kafka_anomaly_kinds.map((kind) => anomalies.found.get(kind)).filter((a): a is KafkaAnomaly => a !== undefined);
  const isReported = (a: KafkaAnomaly) => (kafka_reported_kinds as readonly KafkaAnomalyKind[]).includes(a.kind);
  const found = all_found.filter((a) => !isReported(a));
  const reported = all_found.filter(isReported);
  const worst_realtime_lag: RealtimeLag | null = worst ? { lag_ms: round3(worst.lag), key: h.key_names[worst.key]!, client: h.client_names[opClient[worst.op]!]!, at_ms: call[worst.op]! } : null;
  const details: KafkaCheckDetails = {
    operations: n,
    keys: h.key_names.length,
    sends_ok,
    sends_unknown,
    sends_failed,
    polls_ok,
    msgs_polled,
    anomalies: all_found,
    bad_kinds: found.map((a) => a.kind),
    worst_realtime_lag,
  };
  const lagLine = worst_realtime_lag ? `worst real-time lag ${formatDurationMs(worst_realtime_lag.lag_ms)} (${worst_realtime_lag.client} polling key ${JSON.stringify(worst_realtime_lag.key)} at ${at(worst_realtime_lag.at_ms)}; reported, not judged)` : null;
  const rule = 'Any of these makes the run invalid, as in Maelstrom.';
  const describe = (a: KafkaAnomaly) => {
    const [one, many, meaning] = kind_words[a.kind];
    return `${a.count} ${a.count === 1 ? one : many} (${meaning}): ${a.examples.join('; ')}${a.count > a.examples.length ? '; …' : ''}`;
  };
  const reportedLines = reported.map((a) => `${describe(a)} (reported, not judged: Maelstrom does not check committed offsets)`);
  if (found.length > 0) {
    // The first line is the verdict's headline: every kind found, with its count.
    const summary = found.map((a) => `${a.count} ${a.count === 1 ? kind_words[a.kind][0] : kind_words[a.kind][1]}`).join(', ');
    return { result: 'invalid', text: [`${summary} (in ${sends_ok} acknowledged sends and ${polls_ok} ok polls)`, ...found.map(describe), rule, ...reportedLines, ...(lagLine ? [lagLine] : [])].join('\n'), details };
  }
  if (sends_ok === 0 && msgs_polled === 0) return { result: 'unknown', text: ['no send was acknowledged and no poll returned a message, so nothing could be checked', ...reportedLines].join('\n'), details };
  return {
    result: 'valid',
    text: [`all ${sends_ok} acknowledged sends were polled, in order, with no loss, duplicate or disagreement on ${h.key_names.length} key${h.key_names.length === 1 ? '' : 's'} (${polls_ok} ok polls returned ${msgs_polled} messages)`, ...reportedLines, ...(lagLine ? [lagLine] : [])].join('\n'),
    details,
  };
}

/** The known offsets strictly between two indices, in words (a few, then how many more). */
function skipped(offsets: Float64Array, from: number, to: number): string {
  const shown: number[] = [];
  for (let i = from + 1; i < to && shown.length < kafka_examples_max; i++) shown.push(offsets[i]!);
  const more = to - from - 1 - shown.length;
  return `offset${to - from - 1 === 1 ? '' : 's'} ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
