/**
 * The metastable scenario's counting and judging, on fabricated runs (scenario-fixture.ts): what each
 * second counts, when a run stayed degraded or recovered, the retry amplification, and the verdict in
 * words. The real runs are in test/breaker/scenario-run.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { degraded_goodput_pct, depCapacityPerS, describeScenario, judgeArm, latencySpikeAction, loadRatePerS, metastable_plan, metastableArms, perSecond, recovered_goodput_pct } from '../../src/systems/breaker/scenario.js';
import { controlActionSchema } from '../../src/lib/control/api.js';
import { UserError } from '../../src/lib/util/errors.js';
import { breaker } from '../../src/systems/breaker/plugin.js';
import { runMetastableScenario } from '../../src/systems/breaker/scenario.js';
import { breaker_workload } from '../../src/workloads/breaker/plugin.js';
import { b_back_from_s, fabricate, fixtureArm, origin_ms, queueOf, rate_per_s, seconds, shape_a, shape_b, spike } from './scenario-fixture.js';

describe('perSecond', () => {
  it('counts requests offered by when they left and answers by when they came', () => {
    const record = {
      requests: [
        { sent_ms: origin_ms + 100, answered_ms: origin_ms + 1200, outcome: 'ok' },
        { sent_ms: origin_ms + 900, answered_ms: origin_ms + 950, outcome: 'short_circuited' },
        { sent_ms: origin_ms + 1500, answered_ms: origin_ms + 2100, outcome: 'timeout' },
        { sent_ms: origin_ms + 1600, answered_ms: origin_ms + 2200, outcome: 'rejected' },
        { sent_ms: origin_ms + 1700, answered_ms: null, outcome: 'timeout' },
        { sent_ms: origin_ms + 1800, answered_ms: origin_ms + 1900, outcome: 'bad_request' },
        // Before the load began and after the last second: in no row.
        { sent_ms: origin_ms - 10, answered_ms: origin_ms - 5, outcome: 'ok' },
        { sent_ms: origin_ms + 2999, answered_ms: origin_ms + 3001, outcome: 'ok' },
      ],
      calls: [{ sent_ms: origin_ms + 100 }, { sent_ms: origin_ms + 600 }, { sent_ms: origin_ms + 1500 }, { sent_ms: origin_ms + 5000 }],
    };
    const rows = perSecond(record, [], origin_ms, 3);
    expect(rows.map((r) => r.offered)).toEqual([2, 4, 1]);
    expect(rows.map((r) => r.ok)).toEqual([0, 1, 0]);
    expect(rows.map((r) => r.short_circuited)).toEqual([1, 0, 0]);
    // A timeout and a rejection answered in second 2; the bad request is the client's fault, not a failure.
    expect(rows.map((r) => r.failed)).toEqual([0, 0, 2]);
    expect(rows.map((r) => r.calls)).toEqual([2, 1, 0]);
  });

  it("gives each second d1's last reported queue, carried over a second with no report", () => {
    const queue = [
      { at_ms: origin_ms + 2500, queue: 30 },
      { at_ms: origin_ms + 200, queue: 5 },
      { at_ms: origin_ms + 900, queue: 7 },
    ];
    expect(perSecond({ requests: [], calls: [] }, queue, origin_ms, 4).map((r) => r.queue)).toEqual([7, 7, 30, 30]);
    expect(perSecond({ requests: [], calls: [] }, [], origin_ms, 2).map((r) => r.queue)).toEqual([null, null]);
  });
});

describe('judgeArm', () => {
  it('finds run A degraded in every second after the heal, its queue growing, 4 calls per request', () => {
    const a = fixtureArm(metastableArms(metastable_plan)[0]!, shape_a).figures;
    // Answers come 25 ms after their request: the last few of second 3 fall into the spike's first second.
    expect(a.before_goodput_pct!).toBeGreaterThan(99);
    expect(a.after_goodput_pct).toBe(0);
    expect(a.stayed_degraded).toBe(true);
    expect(a.recovered_after_s).toBeNull();
    expect(a.queue_at_end!).toBeGreaterThan(a.queue_at_heal!);
    expect(a.amplification).toBe(4);
    expect(a.offered).toBe(rate_per_s * seconds);
  });

  it('finds run B recovered from the first second that stayed good, counted from the heal', () => {
    const b = fixtureArm(metastableArms(metastable_plan)[1]!, shape_b).figures;
    expect(b.stayed_degraded).toBe(false);
    expect(b.recovered_after_s).toBe(Math.round((b_back_from_s - spike.to_s) * 10) / 10);
    // Short-circuited seconds send nothing to d1: fewer calls than requests from the spike on.
    expect(b.amplification!).toBeLessThan(1);
  });

  it('does not call a run degraded when one second after the heal reached the threshold', () => {
    const blip = (second: number) => (second === 12 ? { outcome: 'ok' as const, latency_ms: 25, calls: 1 } : shape_a(second));
    const rows = perSecond(fabricate(blip), queueOf('A'), origin_ms, seconds);
    const figures = judgeArm(rows, spike);
    expect(figures.stayed_degraded).toBe(false);
    // One good second in the middle is no recovery either: the seconds after it are bad again.
    expect(figures.recovered_after_s).toBeNull();
  });

  it('counts recovery from after the last bad second, not the first good one', () => {
    const relapse = (second: number) => (second === 13 ? { outcome: 'failed' as const, latency_ms: 25, calls: 1 } : shape_b(second));
    const figures = judgeArm(perSecond(fabricate(relapse), queueOf('B'), origin_ms, seconds), spike);
    expect(figures.recovered_after_s).toBe(Math.round((14 - spike.to_s) * 10) / 10);
  });

  it('holds the thresholds apart: degraded below one share, recovered at or above a higher one', () => {
    expect(degraded_goodput_pct).toBeLessThan(recovered_goodput_pct);
  });
});

describe('describeScenario', () => {
  const [spec_a, spec_b] = metastableArms(metastable_plan);
  const a = fixtureArm(spec_a!, shape_a);
  const b = fixtureArm(spec_b!, shape_b);

  it('says A stayed down and B recovered, with the numbers side by side', () => {
    const verdict = describeScenario(metastable_plan, [a, b]);
    expect(verdict.shown).toBe(true);
    expect(verdict.summary[0]).toMatch(/^A \(naive retries.*stayed degraded after the spike ended: goodput 0% of offered after it/);
    expect(verdict.summary[1]).toMatch(new RegExp(`^B \\(.*recovered ${b.figures.recovered_after_s} s after the spike ended`));
    expect(verdict.summary.at(-1)).toContain(`multiplied calls to d1 by 4 in A and ${b.figures.amplification} in B`);
  });

  it('says it was not shown when A came back too', () => {
    const verdict = describeScenario(metastable_plan, [b, b].map((arm, i) => ({ ...arm, name: i === 0 ? ('A' as const) : ('B' as const) })));
    expect(verdict.shown).toBe(false);
    expect(verdict.summary.at(-1)).toMatch(/^not shown this time: A did not stay degraded/);
  });
});

describe('the plan', () => {
  it('loads d1 near its capacity', () => {
    expect(depCapacityPerS(metastable_plan)).toBe(200);
    expect(loadRatePerS(metastable_plan)).toBe(160);
  });

  it('differs between the runs only in the breaker and the retry budget', () => {
    const [a, b] = metastableArms(metastable_plan);
    expect(a!.options.breaker_enabled).toBe(false);
    expect(a!.options.breaker_retry_budget_pct).toBeNull();
    expect(b!.options.breaker_enabled).toBe(true);
    expect(b!.options.breaker_retry_budget_pct).toBeGreaterThan(0);
    const shared = (options: Record<string, unknown>) => Object.fromEntries(Object.entries(options).filter(([key]) => key in a!.options && !['breaker_enabled', 'breaker_retry_budget_pct'].includes(key)));
    expect(shared(b!.options)).toEqual(shared(a!.options));
    expect(a!.options.breaker_retries_max).toBe(metastable_plan.retries_max);
  });

  it("slows d1 with the control API's fail action", () => {
    expect(controlActionSchema.safeParse(latencySpikeAction('d1', 1000)).success).toBe(true);
  });
});

describe('runMetastableScenario', () => {
  it('refuses a folder it cannot make in one line, before any cluster starts', async () => {
    const run = runMetastableScenario({ system: breaker, workloads: [breaker_workload], cwd: '/tmp', dir: '/dev/null/metastable' });
    await expect(run).rejects.toThrow(UserError);
    await expect(run).rejects.toThrow(/^cannot make the scenario's folder \/dev\/null\/metastable: /);
  });
});
