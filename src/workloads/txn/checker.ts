/**
 * The transactional checker of txn-list-append and txn-rw-register, in the
 * spirit of Elle and written here: version orders from the reads
 * (analysis.ts), dependency edges, cycles classified as anomalies
 * (cycles.ts), and for each consistency model whether the history rules it
 * out (models.ts). Every anomaly comes with its transactions and each edge
 * of its cycle in words. A search that runs out of its time says unknown
 * with what it found.
 *
 * rw-register: what a read shows is one value, so version orders come only
 * from what the history proves (see analysis.ts); an anomaly that needs an
 * order the history does not show is not found (as in Elle). For the
 * strict-serializable model the keys are linearizable, so real time orders
 * versions too: a cycle found only with that order is reported in its
 * -realtime form, ruling out strict-serializable alone.
 */
import { analyze, anomaly_examples_max, type DirectAnomaly } from './analysis.js';
import { cycle_anomaly_types, findCycles, type CycleAnomaly, type CycleAnomalyType } from './cycles.js';
import { describeTxn, type Txn, type TxnWorkload } from './history.js';
import { canonicalModel, judgeModels, model_anomalies, needsProcess, needsRealtime, type AnomalyType, type ModelJudgement } from './models.js';

export const txn_check_timeout_ms_default = 10_000;

export interface AnomalyReport {
  count: number;
  /** The first few, each a paragraph in words. */
  examples: string[];
  /** The transactions of the first one (for the report's graph and timeline). */
  txns: number[];
  /** Those transactions' positions among the history's operation lines, where known. */
  lines: (number | null)[];
  /** The first cycle's edges, for the report's graph. */
  cycle?: { from: number; to: number; kind: string; why: string }[];
}

export interface TxnCheckResult {
  result: 'valid' | 'invalid' | 'unknown';
  reason?: string;
  workload: TxnWorkload;
  txn_count: number;
  ok: number;
  failed: number;
  indeterminate: number;
  anomalies: Partial<Record<AnomalyType, AnomalyReport>>;
  /** The models asked for, as given. */
  requested: string[];
  /** Asked-for names the checker does not judge. */
  not_judged: string[];
  models: ModelJudgement;
  /** The cycle search stopped at its deadline. */
  incomplete: boolean;
  elapsed_ms: number;
  text: string;
}

export interface TxnCheckOptions {
  models?: readonly string[];
  timeout_ms?: number;
  now_ms?: () => number;
}

function explainCycle(cycle: CycleAnomaly, txns: readonly Txn[]): string {
  const involved = [...new Set(cycle.edges.map((e) => e.from))];
  const path = [...cycle.edges.map((e) => `T${e.from}`), `T${cycle.edges[0]!.from}`].join(' → ');
  const lines = [`${path}`, ...involved.map((t) => `  ${describeTxn(txns[t]!)}`), ...cycle.edges.map((e) => `  T${e.from} →${e.kind} T${e.to}: ${e.why}`)];
  return lines.join('\n');
}

const type_words: Record<AnomalyType, string> = {
  G0: 'write cycle: the transactions wrote the same keys in contradictory orders',
  G1a: 'aborted read: a committed transaction read a failed one\'s write',
  G1b: 'intermediate read: a transaction read a value its writer later overwrote in the same transaction',
  G1c: 'circular information flow: each transaction saw or overwrote the next one\'s writes',
  'G-single': 'read skew: a cycle with one anti-dependency (a read that missed a write the cycle puts before it)',
  'G2-item': 'write skew: a cycle with two or more anti-dependencies',
  'G0-realtime': 'write cycle once real time is counted',
  'G1c-realtime': 'circular information flow once real time is counted',
  'G-single-realtime': 'one anti-dependency and real time make a cycle (a stale read)',
  'G2-item-realtime': 'anti-dependencies and real time make a cycle',
  'G0-process': "write cycle once each client's order is counted",
  'G1c-process': "circular information flow once each client's order is counted",
  'G-single-process': "one anti-dependency and a client's own order make a cycle",
  'G2-item-process': "anti-dependencies and a client's own order make a cycle",
  internal: 'internal inconsistency: a transaction read something other than its own earlier reads and writes',
  'incompatible-order': 'incompatible orders: two reads of a list neither of which extends the other',
  'duplicate-elements': 'an element appears twice in one read of a list',
  'garbage-read': 'a read of a value no transaction wrote',
};

export function checkTxns(txns: readonly Txn[], workload: TxnWorkload, options: TxnCheckOptions = {}): TxnCheckResult {
  const now = options.now_ms ?? (() => performance.now());
  const started = now();
  const deadline = started + (options.timeout_ms ?? txn_check_timeout_ms_default);
  const requested = [...(options.models ?? ['strict-serializable'])];
  const not_judged = requested.filter((m) => canonicalModel(m) === null);
  // Real-time and process edges are always built: the verdict names every model the history satisfies, not only those asked for.
  const base = analyze(txns, workload, { realtime_edges: true, process_edges: true });
  const search = findCycles(base.graph, { deadline_ms: deadline, now_ms: now, realtime: true, process: true });
  const anomalies: Partial<Record<AnomalyType, AnomalyReport>> = {};
  const linesOf = (indexes: readonly number[]) => indexes.map((t) => txns[t]?.line ?? null);
  const addDirect = (anomaly: DirectAnomaly) => {
    const report = (anomalies[anomaly.type] ??= { count: 0, examples: [], txns: anomaly.txns, lines: linesOf(anomaly.txns) });
    report.count++;
    if (report.examples.length < anomaly_examples_max) report.examples.push(anomaly.explanation);
  };
  for (const anomaly of base.anomalies) addDirect(anomaly);
  const addCycles = (cycles: readonly CycleAnomaly[], counts: Partial<Record<CycleAnomalyType, number>>, rename: (type: CycleAnomalyType) => CycleAnomalyType) => {
    for (const type of cycle_anomaly_types) {
      const count = counts[type];
      if (!count) continue;
      const as = rename(type);
      const report = (anomalies[as] ??= { count: 0, examples: [], txns: [], lines: [] });
      report.count += count;
      for (const cycle of cycles.filter((c) => c.type === type)) {
        if (report.examples.length >= anomaly_examples_max) break;
        if (report.examples.length === 0) {
          report.txns = [...new Set(cycle.edges.map((e) => e.from))];
          report.lines = linesOf(report.txns);
          report.cycle = cycle.edges.map(({ from, to, kind, why }) => ({ from, to, kind, why }));
        }
        report.examples.push(explainCycle(cycle, txns));
      }
    }
  };
  addCycles(search.cycles, search.counts, (type) => type);
  let incomplete = search.incomplete;
  if (workload === 'rw-register' && !incomplete) {
    // Linearizable keys order versions by real time too; what only that order shows rules out strict-serializable alone.
    const strict = analyze(txns, workload, { realtime_versions: true, realtime_edges: true, process_edges: true });
    const more = findCycles(strict.graph, { deadline_ms: deadline, now_ms: now, realtime: true, process: true });
    incomplete = more.incomplete;
    const fresh: Partial<Record<CycleAnomalyType, number>> = {};
    for (const type of cycle_anomaly_types) if (more.counts[type] && !search.counts[type]) fresh[type] = more.counts[type];
    // Every cycle found only here needed the real-time order of versions.
    addCycles(more.cycles, fresh, (type) => (type.endsWith('-realtime') ? type : (`${type.replace(/-process$/, '')}-realtime` as CycleAnomalyType)));
  }
  const found = new Set(Object.keys(anomalies) as AnomalyType[]);
  const models = judgeModels(found);
  const judged = requested.map((m) => canonicalModel(m)).filter((m): m is string => m !== null);
  const violated = judged.filter((m) => models.ruled_out[m]);
  let result: TxnCheckResult['result'];
  let reason: string | undefined;
  if (violated.length > 0) result = 'invalid';
  else if (incomplete) {
    result = 'unknown';
    reason = `the cycle search ran out of its ${Math.round((options.timeout_ms ?? txn_check_timeout_ms_default) / 1000)} s before it looked at everything`;
  } else if (judged.length === 0) {
    result = 'unknown';
    reason = `none of the models asked for (${requested.join(', ')}) is one dslab's checker judges (${Object.keys(model_anomalies).join(', ')})`;
  } else if (txns.every((t) => t.outcome !== 'ok')) {
    result = 'unknown';
    reason = 'no transaction committed, so nothing could be checked';
  } else result = 'valid';

  const counts = { ok: txns.filter((t) => t.outcome === 'ok').length, failed: txns.filter((t) => t.outcome === 'fail').length, indeterminate: txns.filter((t) => t.outcome === 'unknown').length };
  const check: TxnCheckResult = { result, ...(reason ? { reason } : {}), workload, txn_count: txns.length, ...counts, anomalies, requested, not_judged, models, incomplete, elapsed_ms: Math.round(now() - started), text: '' };
  check.text = explainCheck(check, violated);
  return check;
}

function explainCheck(check: TxnCheckResult, violated: readonly string[]): string {
  const lines: string[] = [];
  const types = Object.keys(check.anomalies) as AnomalyType[];
  if (check.result === 'valid') lines.push(`valid: ${check.requested.join(', ')} holds: no anomaly that rules ${check.requested.length === 1 ? 'it' : 'them'} out in ${check.ok} committed transactions`);
  else if (check.result === 'unknown') lines.push(`unknown: ${check.reason}`);
  else lines.push(`invalid: ${violated.map((m) => `${m} is ruled out by ${check.models.ruled_out[m]!.join(', ')}`).join('; ')}`);
  lines.push(`  ${check.txn_count} transactions: ${check.ok} ok, ${check.failed} failed, ${check.indeterminate} indeterminate; checked in ${check.elapsed_ms} ms`);
  if (check.models.satisfied.length > 0) lines.push(`  consistent with: ${check.models.satisfied.join(', ')}`);
  const ruled = Object.entries(check.models.ruled_out);
  if (ruled.length > 0) lines.push(`  ruled out: ${ruled.map(([m, a]) => `${m} (${a.join(', ')})`).join('; ')}`);
  if (check.not_judged.length > 0) lines.push(`  not judged here: ${check.not_judged.join(', ')}`);
  for (const type of types) {
    const report = check.anomalies[type]!;
    lines.push(`${type} × ${report.count}: ${type_words[type]}`);
    for (const example of report.examples.slice(0, 2)) lines.push(...example.split('\n').map((line) => `  ${line}`));
  }
  if (check.incomplete) lines.push('  the cycle search stopped at its deadline: more anomalies may exist');
  return lines.join('\n');
}
