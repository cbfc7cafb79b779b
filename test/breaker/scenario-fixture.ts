/**
 * Fabricated runs of the metastable scenario for the unit and report tests: what a trace of run A
 * (naive retries, stays down) and of run B (breaker and budget, comes back) looks like, second by
 * second, made by rule rather than recorded, so a test knows what each second must count.
 */
import { type ArmResult, type ArmSpec, judgeArm, metastable_plan, metastableArms, perSecond, type QueueSample, type ScenarioRecord, type ScenarioResult, describeScenario, loadRatePerS, depCapacityPerS } from '../../src/systems/breaker/scenario.js';

export const origin_ms = 1_700_000_000_000;
export const rate_per_s = 160;
export const seconds = 19;
/** The spike, in seconds from the load's start (the heal a little after 7 s, as a real run's). */
export const spike = { from_s: 4.01, to_s: 7.02 };
/** B is back from this second on. */
export const b_back_from_s = 9;

type Shape = (second: number) => { outcome: 'ok' | 'failed' | 'short_circuited'; latency_ms: number; calls: number };

/** A record whose every second follows `shape`: rate_per_s requests spread over the second. */
export function fabricate(shape: Shape, rate = rate_per_s, total_s = seconds): ScenarioRecord {
  const requests: { sent_ms: number; answered_ms: number | null; outcome: string }[] = [];
  const calls: { sent_ms: number }[] = [];
  for (let second = 0; second < total_s; second++) {
    const { outcome, latency_ms, calls: per_request } = shape(second);
    for (let i = 0; i < rate; i++) {
      const sent_ms = origin_ms + second * 1000 + Math.floor((i * 1000) / rate);
      // An answer that would fall past the end counts as unanswered, as at the end of a real run.
      const answered = sent_ms + latency_ms;
      requests.push({ sent_ms, answered_ms: answered < origin_ms + total_s * 1000 + 500 ? answered : null, outcome });
      for (let c = 0; c < per_request; c++) calls.push({ sent_ms: sent_ms + c * 5 });
    }
  }
  return { requests, calls };
}

const healthy = { outcome: 'ok' as const, latency_ms: 25, calls: 1 };
const inSpike = (second: number) => second >= Math.floor(spike.from_s) && second < Math.ceil(spike.to_s);

/** A: fine before the spike; from the spike on every request fails after its retries (4 calls each). */
export const shape_a: Shape = (second) => (second < Math.floor(spike.from_s) ? healthy : { outcome: 'failed', latency_ms: 80, calls: 4 });
/** B: fine before; short-circuited through the spike and until it is back; fine again from b_back_from_s. */
export const shape_b: Shape = (second) => (second < Math.floor(spike.from_s) || second >= b_back_from_s ? healthy : { outcome: inSpike(second) ? 'failed' : 'short_circuited', latency_ms: 2, calls: inSpike(second) ? 1 : 0 });

/** d1's queue: A's grows by 400 a second from the spike on; B's stays small. */
export function queueOf(arm: 'A' | 'B'): QueueSample[] {
  return Array.from({ length: seconds }, (_, second) => ({ at_ms: origin_ms + second * 1000 + 500, queue: arm === 'A' && second >= 4 ? (second - 3) * 400 : 2 }));
}

export function fixtureArm(spec: ArmSpec, shape: Shape): ArmResult {
  const rows = perSecond(fabricate(shape), queueOf(spec.name), origin_ms, seconds);
  return { name: spec.name, title: spec.title, options: spec.options, spike, rows, figures: judgeArm(rows, spike), trace_file: null };
}

export function fixtureResult(dir: string): ScenarioResult {
  const [a, b] = metastableArms(metastable_plan);
  const arms = [fixtureArm(a!, shape_a), fixtureArm(b!, shape_b)];
  return { scenario: 'metastable', plan: metastable_plan, rate_per_s: loadRatePerS(metastable_plan), capacity_per_s: depCapacityPerS(metastable_plan), arms, ...describeScenario(metastable_plan, arms), dir, report_file: null };
}
