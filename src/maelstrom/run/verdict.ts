/**
 * The run's verdict, as a person reads it first: valid, invalid or unknown,
 * one sentence saying why, then the reasons, from the workload's checker,
 * the availability asked for, the budgets a lab sets, and the run itself.
 * Checks combine as Jepsen's do: any invalid makes the run invalid, else any
 * unknown makes it unknown.
 */
import { formatDurationMs } from '../../lib/util/units.js';
import type { KafkaAnomaly } from '../../workloads/kafka/checker.js';
import type { Verdict } from '../exit-codes.js';
import type { TestPlan } from '../options.js';
import type { CheckOutcome, NetStats, Quantiles } from './result.js';
import type { RunOutcome } from './run.js';

/** Budgets a lab sets beyond correctness (Maelstrom's efficiency challenge). */
export interface RunBudgets {
  /** The servers' messages per operation must be below this. */
  msgs_per_op_max?: number;
  /** Median and max stable latency of the set workloads must be below these. */
  stable_latency_ms_median_max?: number;
  stable_latency_ms_max_max?: number;
  /** Anomalies the workload's checker reports without judging that this lab judges (kafka's committed offsets). */
  judge_reported?: readonly string[];
}

export interface Judgement {
  verdict: Verdict;
  headline: string;
  reasons: string[];
  checks: CheckOutcome[];
}

const rank: Record<Verdict, number> = { valid: 0, unknown: 1, invalid: 2 };

export function combineVerdicts(verdicts: readonly Verdict[]): Verdict {
  return verdicts.reduce<Verdict>((worst, v) => (rank[v] > rank[worst] ? v : worst), 'valid');
}

/** The availability check: the ok fraction of operations invoked against what --availability asks. */
export function availabilityCheck(required: TestPlan['availability'], availability: number | null): CheckOutcome | null {
  if (required === null) return null;
  const needed = required === 'total' ? 1 : required;
  const percent = (x: number) => `${(x * 100).toFixed(x === 1 ? 0 : 1)}%`;
  if (availability === null) return { name: 'availability', result: 'unknown', text: 'no operation was invoked, so availability cannot be judged', details: { required } };
  const met = availability >= needed;
  const text = `${percent(availability)} of operations succeeded; ${required === 'total' ? 'every one must' : `at least ${percent(needed)} must`}`;
  return { name: 'availability', result: met ? 'valid' : 'invalid', text, details: { availability, required } };
}

/** The stable latencies the set checker found, when it found any. */
export function stableLatencies(check: CheckOutcome | undefined): Quantiles | null {
  const q = check?.details.stable_latencies_ms as Quantiles | null | undefined;
  return q ?? null;
}

/** The budget check: messages per operation and stable latencies under the lab's limits. */
export function budgetCheck(budgets: RunBudgets, net: NetStats, workload_check: CheckOutcome | undefined): CheckOutcome | null {
  const over: string[] = [];
  const within: string[] = [];
  const servers = net.servers.msgs_per_op;
  if (budgets.msgs_per_op_max !== undefined) {
    const text = servers === null ? `no operations, so no messages per operation (budget: below ${budgets.msgs_per_op_max})` : `${servers.toFixed(1)} messages per operation between servers (budget: below ${budgets.msgs_per_op_max})`;
    (servers !== null && servers < budgets.msgs_per_op_max ? within : over).push(text);
  }
  const q = stableLatencies(workload_check);
  const latencyBudget = (label: string, value: number | undefined, max: number | undefined) => {
    if (max === undefined) return;
    if (value === undefined) over.push(`no ${label} stable latency (nothing became stable; budget: below ${formatDurationMs(max)})`);
    else (value < max ? within : over).push(`${label} stable latency ${formatDurationMs(value)} (budget: below ${formatDurationMs(max)})`);
  };
  latencyBudget('median', q?.['0.5'], budgets.stable_latency_ms_median_max);
  latencyBudget('max', q?.['1'], budgets.stable_latency_ms_max_max);
  if (over.length === 0 && within.length === 0) return null;
  if (over.length > 0) return { name: 'budget', result: 'invalid', text: `over budget: ${over.join('; ')}`, details: { over, within } };
  return { name: 'budget', result: 'valid', text: `within budget: ${within.join('; ')}`, details: { over, within } };
}

/** The check of the reported anomalies a lab judges: invalid when the checker found any of `kinds`. */
export function reportedCheck(kinds: readonly string[], workload_check: CheckOutcome): CheckOutcome | null {
  if (kinds.length === 0) return null;
  const anomalies = Array.isArray(workload_check.details.anomalies) ? (workload_check.details.anomalies as KafkaAnomaly[]) : [];
  const judged = anomalies.filter((a) => kinds.includes(a.kind));
  if (judged.length === 0) return { name: 'lab', result: 'valid', text: `none of ${kinds.join(', ')} (judged by this lab)`, details: { kinds } };
  const text = judged.map((a) => `${a.count} ${a.kind}: ${a.examples.join('; ')}${a.count > a.examples.length ? '; …' : ''}`).join('; ');
  return { name: 'lab', result: 'invalid', text: `judged by this lab: ${text}`, details: { kinds, found: judged } };
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.replace(/^(valid|invalid|unknown): /, '');
}

/** Figures worth a line in the headline of a valid run: messages per operation, stable latencies. */
function figures(outcome: RunOutcome, workload_check: CheckOutcome): string {
  const parts: string[] = [];
  const servers = outcome.net.servers.msgs_per_op;
  if (servers !== null) parts.push(`msgs-per-op ${servers.toFixed(1)} (servers)`);
  const q = stableLatencies(workload_check);
  if (q) parts.push(`median stable latency ${formatDurationMs(q['0.5'])}, max ${formatDurationMs(q['1'])}`);
  return parts.join('; ');
}

export function judgeRun(plan: Pick<TestPlan, 'workload' | 'availability'>, outcome: RunOutcome, budgets: RunBudgets = {}): Judgement {
  const workload_check: CheckOutcome = { name: plan.workload, result: outcome.check.result, text: outcome.check.text, details: outcome.check.details };
  const checks: CheckOutcome[] = [workload_check];
  const availability = availabilityCheck(plan.availability, outcome.availability);
  if (availability) checks.push(availability);
  const budget = budgetCheck(budgets, outcome.net, workload_check);
  if (budget) checks.push(budget);
  const reported = reportedCheck(budgets.judge_reported ?? [], workload_check);
  if (reported) checks.push(reported);
  if (outcome.problems.length > 0) {
    // A run that could not do what it set out to (a fault not applied, a history not written in full) cannot vouch for the result.
    // A history cut short was judged on what was written: the verdict may miss what was not.
    checks.push({ name: 'run', result: outcome.check_error || outcome.history_error ? 'unknown' : 'valid', text: outcome.problems.join('; '), details: { problems: outcome.problems } });
  }
  const verdict = combineVerdicts(checks.map((c) => c.result));
  const failing = checks.filter((c) => c.result === verdict && verdict !== 'valid');
  const reasons = failing.map((c) => `${c.name}: ${firstLine(c.text)}`);
  for (const problem of outcome.problems) if (!reasons.some((r) => r.includes(problem))) reasons.push(`note: ${problem}`);
  let headline: string;
  if (verdict === 'valid') {
    const extra = figures(outcome, workload_check);
    headline = `valid: ${firstLine(workload_check.text)}${extra ? `; ${extra}` : ''}`;
  } else headline = `${verdict}: ${failing.map((c) => firstLine(c.text)).join('; ')}`;
  return { verdict, headline, reasons, checks };
}
