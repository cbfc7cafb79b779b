/**
 * From a history of transactions to what the cycle search needs: each key's
 * version order, as far as the history shows it, the dependency edges it
 * implies, and the anomalies that need no cycle (aborted and intermediate
 * reads, internal inconsistency, reads no version order can explain).
 *
 * list-append: every read of a key shows a prefix of the key's list, so the
 * longest read gives the order of every element it holds, and an element no
 * read holds comes after all of them (a read that missed it began before it
 * was appended, or the appends were lost). rw-register: a read shows one
 * value, so the order is inferred: the initial state (nil) comes before every
 * write; a transaction that read v and then wrote v' puts v before v'; two
 * writes of one key in one transaction are in that order; and, when asked
 * (models that make each key linearizable: strict-serializable), a write that
 * finished before a read began that saw another value comes before that value.
 *
 * Failed transactions did not happen: they get no edges, and a read of their
 * writes is an aborted read (G1a). Indeterminate ones may have happened:
 * their writes join the orders when read; their reads are unknown.
 * Pure.
 */
import { DependencyGraph } from './graph.js';
import { describeTxn, formatKey, formatValue, keyId, type Txn, type TxnKey, type TxnWorkload } from './history.js';

/** An anomaly found without a cycle, explained in words. */
export interface DirectAnomaly {
  type: 'G1a' | 'G1b' | 'internal' | 'incompatible-order' | 'duplicate-elements' | 'garbage-read';
  txns: number[];
  explanation: string;
}

export interface Analysis {
  graph: DependencyGraph;
  anomalies: DirectAnomaly[];
  /** The transactions the graph has edges for (ok and indeterminate); failed ones are left out. */
  in_graph: Uint8Array;
}

export interface AnalysisOptions {
  /** rw-register: order versions by real time as well (a linearizable key); list-append needs none. */
  realtime_versions?: boolean;
  /** Add real-time (rt) and process edges. */
  realtime_edges?: boolean;
  process_edges?: boolean;
}

/** Per-anomaly-type examples kept (the count is kept in full). */
export const anomaly_examples_max = 8;

const valueId = (value: unknown): string => JSON.stringify(value) ?? 'undefined';

interface Writer {
  txn: number;
  /** Position of this write among the transaction's writes to the key (0 first). */
  nth: number;
  /** How many writes the transaction made to the key. */
  of: number;
}

export function analyze(txns: readonly Txn[], workload: TxnWorkload, options: AnalysisOptions = {}): Analysis {
  const graph = new DependencyGraph(txns.length);
  const anomalies: DirectAnomaly[] = [];
  const in_graph = new Uint8Array(txns.length);
  for (const txn of txns) if (txn.outcome !== 'fail') in_graph[txn.index] = 1;

  // Every write, by key and value.
  const writers = new Map<string, Map<string, Writer>>();
  const keys = new Map<string, TxnKey>();
  for (const txn of txns) {
    const counts = new Map<string, number>();
    for (const [f, key] of txn.ops) if (f !== 'r') counts.set(keyId(key), (counts.get(keyId(key)) ?? 0) + 1);
    const seen = new Map<string, number>();
    for (const [f, key, value] of txn.ops) {
      if (f === 'r') continue;
      const k = keyId(key);
      keys.set(k, key);
      const nth = seen.get(k) ?? 0;
      seen.set(k, nth + 1);
      let byValue = writers.get(k);
      if (!byValue) writers.set(k, (byValue = new Map()));
      // Values are unique per key; if one is written twice, the first writer keeps it (the reads cannot tell them apart).
      if (!byValue.has(valueId(value))) byValue.set(valueId(value), { txn: txn.index, nth, of: counts.get(k)! });
    }
  }
  const writerOf = (key: string, value: unknown): Writer | undefined => writers.get(key)?.get(valueId(value));

  checkInternal(txns, workload, anomalies);

  // An indeterminate transaction some read saw a write of did commit: all its writes happened.
  const committed = new Uint8Array(txns.length);
  for (const txn of txns) {
    if (txn.outcome === 'ok') committed[txn.index] = 1;
    if (txn.outcome !== 'ok') continue;
    for (const [f, key, value] of txn.ops) {
      if (f !== 'r') continue;
      const seen = workload === 'list-append' ? (Array.isArray(value) ? value : []) : [value];
      for (const element of seen) {
        const writer = writerOf(keyId(key), element);
        if (writer && txns[writer.txn]!.outcome === 'unknown') committed[writer.txn] = 1;
      }
    }
  }

  const edges: EdgeInputs = { txns, graph, writers, keys, writerOf, anomalies };
  if (workload === 'list-append') listAppendEdges(edges, committed);
  else registerEdges(edges, options.realtime_versions ?? false);

  if (options.realtime_edges) realtimeEdges(txns, graph);
  if (options.process_edges) processEdges(txns, graph);
  return { graph, anomalies, in_graph };
}

/** Reads a transaction makes of what it wrote itself must show it; two reads with no write between agree. */
function checkInternal(txns: readonly Txn[], workload: TxnWorkload, anomalies: DirectAnomaly[]): void {
  for (const txn of txns) {
    if (txn.outcome !== 'ok') continue;
    // Per key: what this transaction knows the value to be (undefined: nothing yet), and for lists, what it appended since.
    const known = new Map<string, { value: unknown; known: boolean; own: unknown[] }>();
    // What it writes, by key and value, at which step: a read cannot see a write of its own that comes later.
    const writesAt = new Map<string, number>();
    txn.ops.forEach(([f, key, value], step) => {
      if (f !== 'r') writesAt.set(`${keyId(key)} ${valueId(value)}`, step);
    });
    for (const [step, [f, key, value]] of txn.ops.entries()) {
      const k = keyId(key);
      const state = known.get(k) ?? { value: undefined, known: false, own: [] };
      known.set(k, state);
      if (f === 'r') {
        let problem: string | null = null;
        if (workload === 'list-append') {
          const list = Array.isArray(value) ? value : value === null ? [] : null;
          if (list === null) problem = `read ${formatKey(key)} as ${formatValue(value)}, not a list`;
          else if (state.known && valueId(list) !== valueId(state.value)) problem = `read ${formatKey(key)} as ${formatValue(list)}, but its own earlier reads and appends make it ${formatValue(state.value)}`;
          else if (!state.known && state.own.length > 0 && valueId(list.slice(list.length - state.own.length)) !== valueId(state.own)) {
            problem = `appended ${formatValue(state.own)} to ${formatKey(key)}, then read it as ${formatValue(list)}, which does not end with them`;
          }
          if (list) {
            state.value = list;
            state.known = true;
          }
        } else {
          if (state.known && valueId(value) !== valueId(state.value)) problem = `read ${formatKey(key)} as ${formatValue(value)}, but its own earlier read or write makes it ${formatValue(state.value)}`;
          state.value = value;
          state.known = true;
        }
        const shown = workload === 'list-append' ? (Array.isArray(value) ? value : []) : [value];
        const future = shown.find((element) => (writesAt.get(`${k} ${valueId(element)}`) ?? -1) > step);
        if (!problem && future !== undefined) problem = `read ${formatKey(key)} as ${formatValue(value)}, holding ${formatValue(future)}, which it writes only later`;
        if (problem) pushAnomaly(anomalies, { type: 'internal', txns: [txn.index], explanation: `${describeTxn(txn)} ${problem}` });
      } else if (f === 'append') {
        if (state.known) state.value = [...(state.value as unknown[]), value];
        state.own.push(value);
      } else {
        state.value = value;
        state.known = true;
      }
    }
  }
}

function pushAnomaly(anomalies: DirectAnomaly[], anomaly: DirectAnomaly): void {
  anomalies.push(anomaly);
}

/** G1a and G1b for a read of `value` of key `k` by `reader`; true when the read is of a write that can stand in the order. */
function judgeReadOf(txns: readonly Txn[], reader: Txn, key: TxnKey, value: unknown, writer: Writer | undefined, anomalies: DirectAnomaly[], shown: string, is_version = true): boolean {
  if (!writer) {
    pushAnomaly(anomalies, { type: 'garbage-read', txns: [reader.index], explanation: `${describeTxn(reader)} read ${formatKey(key)} as ${shown}, but no transaction wrote ${formatValue(value)} to ${formatKey(key)}` });
    return false;
  }
  const source = txns[writer.txn]!;
  if (source.outcome === 'fail') {
    pushAnomaly(anomalies, { type: 'G1a', txns: [writer.txn, reader.index], explanation: `${describeTxn(reader)} read ${formatKey(key)} as ${shown}: ${formatValue(value)} was written by T${writer.txn}, which failed (an aborted read)` });
    return false;
  }
  // Only the version a read observed can be intermediate: a list's earlier elements are followed by later ones.
  if (is_version && writer.txn !== reader.index && writer.nth < writer.of - 1) {
    pushAnomaly(anomalies, { type: 'G1b', txns: [writer.txn, reader.index], explanation: `${describeTxn(reader)} read ${formatKey(key)} as ${shown}: ${formatValue(value)} is not the last value T${writer.txn} wrote to ${formatKey(key)} (an intermediate read), ${describeTxn(source)}` });
  }
  return true;
}

/** What both data types' edge builders work from and add to. */
interface EdgeInputs {
  txns: readonly Txn[];
  graph: DependencyGraph;
  /** Every write, by key and value. */
  writers: Map<string, Map<string, Writer>>;
  /** Each key as written, by its id. */
  keys: Map<string, TxnKey>;
  writerOf: (key: string, value: unknown) => Writer | undefined;
  anomalies: DirectAnomaly[];
}

function listAppendEdges({ txns, graph, writers, keys, writerOf, anomalies }: EdgeInputs, committed: Uint8Array): void {
  // The longest read of each key, and which transaction read it.
  const longest = new Map<string, { list: unknown[]; reader: number }>();
  for (const txn of txns) {
    if (txn.outcome !== 'ok') continue;
    for (const [f, key, raw] of txn.ops) {
      const value = raw === null ? [] : raw;
      if (f !== 'r' || !Array.isArray(value)) continue;
      const k = keyId(key);
      keys.set(k, key);
      const best = longest.get(k);
      if (!best || value.length > best.list.length) longest.set(k, { list: value, reader: txn.index });
    }
  }
  // Each key's order: the longest read; the position of each element in it.
  const position = new Map<string, Map<string, number>>();
  const broken = new Set<string>();
  for (const [k, { list, reader }] of longest) {
    const at = new Map<string, number>();
    list.forEach((element, i) => {
      if (at.has(valueId(element))) {
        broken.add(k);
        pushAnomaly(anomalies, { type: 'duplicate-elements', txns: [reader], explanation: `${describeTxn(txns[reader]!)} read ${formatKey(keys.get(k)!)} as ${formatValue(list)}, which holds ${formatValue(element)} twice` });
      } else at.set(valueId(element), i);
    });
    position.set(k, at);
  }
  // Every read must be a prefix of the longest; each read is judged for aborted, intermediate and garbage elements.
  const readsByKey = new Map<string, { txn: Txn; value: unknown[] }[]>();
  for (const txn of txns) {
    if (txn.outcome !== 'ok') continue;
    for (const [f, key, raw] of txn.ops) {
      const value = raw === null ? [] : raw;
      if (f !== 'r' || !Array.isArray(value)) continue;
      const k = keyId(key);
      let list = readsByKey.get(k);
      if (!list) readsByKey.set(k, (list = []));
      list.push({ txn, value });
      const order = longest.get(k)!.list;
      const mismatch = value.findIndex((element, i) => valueId(element) !== valueId(order[i]));
      if (mismatch !== -1) {
        broken.add(k);
        pushAnomaly(anomalies, {
          type: 'incompatible-order',
          txns: [txn.index, longest.get(k)!.reader],
          explanation: `${describeTxn(txn)} read ${formatKey(key)} as ${formatValue(value)}, but ${describeTxn(txns[longest.get(k)!.reader]!)} read it as ${formatValue(order)}: neither list extends the other, so the appends have no one order`,
        });
      }
      // The version the read observed is its last element another transaction appended.
      let observed = value.length - 1;
      while (observed >= 0 && writerOf(k, value[observed])?.txn === txn.index) observed--;
      value.forEach((element, i) => judgeReadOf(txns, txn, key, element, writerOf(k, element), anomalies, formatValue(value), i === observed));
    }
  }
  for (const [k, byValue] of writers) {
    if (broken.has(k)) continue;
    const key = keys.get(k)!;
    const order = longest.get(k)?.list ?? [];
    const at = position.get(k) ?? new Map<string, number>();
    // The writers of the order's elements in turn; the appends no read holds come after them all.
    const chain: number[] = [];
    for (const element of order) {
      const writer = byValue.get(valueId(element));
      if (writer && txns[writer.txn]!.outcome !== 'fail') chain.push(writer.txn);
      else chain.push(-1);
    }
    for (let i = 0; i + 1 < chain.length; i++) {
      const a = chain[i]!;
      const b = chain[i + 1]!;
      if (a >= 0 && b >= 0 && a !== b) graph.add(a, b, 'ww', () => `T${a} appended ${formatValue(order[i])} to ${formatKey(key)} just before T${b} appended ${formatValue(order[i + 1])} (the longest read of ${formatKey(key)} is ${formatValue(order)})`);
    }
    const last = chain.length > 0 ? chain[chain.length - 1]! : -1;
    const unread: { txn: number; value: unknown }[] = [];
    for (const [id, writer] of byValue) {
      if (at.has(id) || !committed[writer.txn]) continue;
      unread.push({ txn: writer.txn, value: JSON.parse(id) as unknown });
    }
    for (const { txn: w, value } of unread) {
      if (last >= 0 && last !== w) graph.add(last, w, 'ww', () => `T${w} appended ${formatValue(value)} to ${formatKey(key)}, which no read holds, so after ${formatValue(order[order.length - 1])} that T${last} appended`);
    }
    // Reads: wr from the writer of the last element another transaction appended; rw to the writer of the next one (and to every unread append).
    for (const { txn, value } of readsByKey.get(k) ?? []) {
      let end = value.length;
      while (end > 0 && byValue.get(valueId(value[end - 1]))?.txn === txn.index) end--;
      if (end > 0) {
        const w = byValue.get(valueId(value[end - 1]));
        if (w && txns[w.txn]!.outcome !== 'fail') graph.add(w.txn, txn.index, 'wr', () => `T${txn.index} read ${formatKey(key)} as ${formatValue(value)}, ending with ${formatValue(value[end - 1])}, which T${w.txn} appended`);
      }
      const nextWriter = end < order.length ? byValue.get(valueId(order[end])) : undefined;
      if (nextWriter && nextWriter.txn !== txn.index && txns[nextWriter.txn]!.outcome !== 'fail') {
        graph.add(txn.index, nextWriter.txn, 'rw', () => `T${txn.index} read ${formatKey(key)} as ${formatValue(value)}, without ${formatValue(order[end])}, which T${nextWriter.txn} appended next`);
      }
      if (end === value.length) {
        for (const { txn: w, value: missing } of unread) {
          if (w !== txn.index) graph.add(txn.index, w, 'rw', () => `T${txn.index} read ${formatKey(key)} as ${formatValue(value)}, without ${formatValue(missing)}, which T${w} appended (no read ever held it)`);
        }
      }
    }
  }
}

function registerEdges({ txns, graph, writers, keys, writerOf, anomalies }: EdgeInputs, realtime_versions: boolean): void {
  /** Per key: version pairs known in order (earlier → later), as value ids, with why. nil is "null". */
  const before = new Map<string, Map<string, Map<string, string>>>();
  const order = (k: string, earlier: string, later: string, why: string) => {
    if (earlier === later) return;
    let byEarlier = before.get(k);
    if (!byEarlier) before.set(k, (byEarlier = new Map()));
    let laters = byEarlier.get(earlier);
    if (!laters) byEarlier.set(earlier, (laters = new Map()));
    if (!laters.has(later)) laters.set(later, why);
  };
  // External reads: (txn, key, value) where the transaction had not written the key before reading it.
  const reads: { txn: Txn; key: TxnKey; k: string; value: unknown }[] = [];
  for (const txn of txns) {
    const wrote = new Map<string, unknown>();
    const read = new Map<string, unknown>();
    for (const [f, key, value] of txn.ops) {
      const k = keyId(key);
      keys.set(k, key);
      if (f === 'r') {
        if (txn.outcome !== 'ok') continue;
        if (!wrote.has(k) && !read.has(k)) {
          reads.push({ txn, key, k, value });
          read.set(k, value);
        }
      } else {
        if (txn.outcome === 'fail') continue;
        // Writes follow reads, and a transaction's writes of one key are in its order.
        if (wrote.has(k)) order(k, valueId(wrote.get(k)), valueId(value), `T${txn.index} wrote ${formatValue(wrote.get(k))} and then ${formatValue(value)} to ${formatKey(key)}`);
        else if (read.has(k)) order(k, valueId(read.get(k) ?? null), valueId(value), `T${txn.index} read ${formatKey(key)} as ${formatValue(read.get(k))} and then wrote ${formatValue(value)}`);
        wrote.set(k, value);
      }
    }
  }
  // The initial state comes first.
  for (const [k, byValue] of writers) for (const id of byValue.keys()) order(k, 'null', id, `every key starts as nil`);
  if (realtime_versions) {
    // A write that finished before a read began, of a key the read saw with another value: on a linearizable key, that write came first.
    const writesByKey = new Map<string, { value: string; txn: Txn }[]>();
    for (const txn of txns) {
      if (txn.outcome !== 'ok' || txn.return_ms === null) continue;
      const last = new Map<string, unknown>();
      for (const [f, key, value] of txn.ops) if (f === 'w') last.set(keyId(key), value);
      for (const [k, value] of last) {
        let list = writesByKey.get(k);
        if (!list) writesByKey.set(k, (list = []));
        list.push({ value: valueId(value), txn });
      }
    }
    for (const list of writesByKey.values()) list.sort((a, b) => a.txn.return_ms! - b.txn.return_ms!);
    for (const { txn, key, k, value } of reads) {
      const seen = valueId(value);
      if (seen === 'null') continue;
      for (const write of writesByKey.get(k) ?? []) {
        if (write.txn.return_ms! >= txn.call_ms) break;
        if (write.value !== seen && write.txn.index !== txn.index) order(k, write.value, seen, `T${write.txn.index} wrote ${formatKey(key)} = ${formatValue(JSON.parse(write.value))} and finished before T${txn.index} began, which read ${formatValue(value)}: on a linearizable key, ${formatValue(JSON.parse(write.value))} came first`);
      }
    }
  }
  // Edges: ww between the writers of ordered versions; wr from a version's writer to its readers; rw from a version's readers to the writers of later versions.
  const readersOf = new Map<string, Map<string, Txn[]>>();
  for (const { txn, key, k, value } of reads) {
    const writer = value === null ? undefined : writerOf(k, value);
    if (value !== null && !judgeReadOf(txns, txn, key, value, writer, anomalies, formatValue(value))) continue;
    if (writer && writer.txn !== txn.index) graph.add(writer.txn, txn.index, 'wr', () => `T${txn.index} read ${formatKey(key)} as ${formatValue(value)}, which T${writer.txn} wrote`);
    let byValue = readersOf.get(k);
    if (!byValue) readersOf.set(k, (byValue = new Map()));
    const id = valueId(value);
    let list = byValue.get(id);
    if (!list) byValue.set(id, (list = []));
    list.push(txn);
  }
  for (const [k, byEarlier] of before) {
    const key = keys.get(k)!;
    for (const [earlier, laters] of byEarlier) {
      const earlierWriter = earlier === 'null' ? undefined : writers.get(k)?.get(earlier);
      for (const [later, why] of laters) {
        const laterWriter = writers.get(k)?.get(later);
        if (!laterWriter || txns[laterWriter.txn]!.outcome === 'fail') continue;
        if (earlierWriter && txns[earlierWriter.txn]!.outcome !== 'fail' && earlierWriter.txn !== laterWriter.txn) {
          graph.add(earlierWriter.txn, laterWriter.txn, 'ww', () => `${formatKey(key)} = ${formatValue(JSON.parse(earlier))} (T${earlierWriter.txn}) came before ${formatValue(JSON.parse(later))} (T${laterWriter.txn}): ${why}`);
        }
        for (const reader of readersOf.get(k)?.get(earlier) ?? []) {
          if (reader.index !== laterWriter.txn) graph.add(reader.index, laterWriter.txn, 'rw', () => `T${reader.index} read ${formatKey(key)} as ${formatValue(JSON.parse(earlier))}, which T${laterWriter.txn}'s ${formatValue(JSON.parse(later))} came after (${why})`);
        }
      }
    }
  }
}

/**
 * Real-time edges, reduced: each transaction gets an edge from every transaction that finished
 * before it began and is not already followed by another such one (a path covers the rest).
 */
function realtimeEdges(txns: readonly Txn[], graph: DependencyGraph): void {
  const events: { at: number; kind: 0 | 1; txn: Txn }[] = [];
  for (const txn of txns) {
    if (txn.outcome === 'fail') continue;
    events.push({ at: txn.call_ms, kind: 1, txn });
    if (txn.outcome === 'ok' && txn.return_ms !== null) events.push({ at: txn.return_ms, kind: 0, txn });
  }
  // Completions before invocations at the same moment would claim an order the clock cannot show: invocations first.
  events.sort((a, b) => a.at - b.at || b.kind - a.kind);
  let frontier = new Set<number>();
  const predecessors = new Map<number, number[]>();
  for (const event of events) {
    if (event.kind === 1) {
      predecessors.set(event.txn.index, [...frontier]);
      for (const before of frontier) graph.add(before, event.txn.index, 'rt', () => `T${before} finished (${(txns[before]!.return_ms! / 1000).toFixed(3)} s) before T${event.txn.index} began (${(event.txn.call_ms / 1000).toFixed(3)} s)`);
    } else {
      const covered = new Set(predecessors.get(event.txn.index) ?? []);
      frontier = new Set([...frontier].filter((t) => !covered.has(t)));
      frontier.add(event.txn.index);
    }
  }
}

/** Each client's transactions in the order it ran them. */
function processEdges(txns: readonly Txn[], graph: DependencyGraph): void {
  const last = new Map<string, Txn>();
  for (const txn of [...txns].filter((t) => t.outcome !== 'fail').sort((a, b) => a.call_ms - b.call_ms)) {
    const before = last.get(txn.client);
    if (before) graph.add(before.index, txn.index, 'process', () => `T${before.index} and then T${txn.index} ran on client ${txn.client}`);
    last.set(txn.client, txn);
  }
}
