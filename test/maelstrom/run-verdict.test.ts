import { describe, expect, it } from 'vitest';
import type { Verdict } from '../../src/maelstrom/exit-codes.js';
import type { CheckOutcome, NetStats } from '../../src/maelstrom/run/result.js';
import type { RunOutcome } from '../../src/maelstrom/run/run.js';
import { availabilityCheck, budgetCheck, combineVerdicts, judgeRun, reportedCheck } from '../../src/maelstrom/run/verdict.js';

const verdicts: Verdict[] = ['valid', 'unknown', 'invalid'];

function net(servers_msgs_per_op: number | null): NetStats {
  const counts = { send_count: 0, recv_count: 0, msg_count: 0, msgs_per_op: null };
  return { all: { ...counts, msgs_per_op: servers_msgs_per_op }, clients: counts, servers: { ...counts, msgs_per_op: servers_msgs_per_op } };
}

const stable = (median: number, max: number) => ({ '0': 1, '0.5': median, '0.95': max, '0.99': max, '1': max });

function outcome(check: RunOutcome['check'], extra: Partial<RunOutcome> = {}): RunOutcome {
  return {
    entries: [],
    started_at_ms: 0,
    main_phase_end_ms: 1000,
    end_ms: 1000,
    check,
    net: net(null),
    operations: [],
    availability: 1,
    timeline: [],
    faults: [],
    failures: [],
    problems: [],
    check_error: null,
    history_error: null,
    ...extra,
  };
}

describe('combineVerdicts', () => {
  it('takes the worst (invalid over unknown over valid) for every list of up to four verdicts', () => {
    const lists: Verdict[][] = [[]];
    for (let length = 1; length <= 4; length++) {
      for (const prefix of lists.filter((l) => l.length === length - 1)) for (const v of verdicts) lists.push([...prefix, v]);
    }
    expect(lists).toHaveLength(1 + 3 + 9 + 27 + 81);
    for (const list of lists) {
      const expected = list.includes('invalid') ? 'invalid' : list.includes('unknown') ? 'unknown' : 'valid';
      expect(combineVerdicts(list), list.join(',')).toBe(expected);
    }
  });
});

describe('availabilityCheck', () => {
  it('asks nothing when no availability was asked', () => {
    expect(availabilityCheck(null, 0.2)).toBeNull();
  });

  it("'total' needs every operation ok", () => {
    expect(availabilityCheck('total', 1)).toMatchObject({ name: 'availability', result: 'valid' });
    const short = availabilityCheck('total', 0.999)!;
    expect(short.result).toBe('invalid');
    expect(short.text).toMatch(/every one must/);
  });

  it('a fraction needs at least that fraction ok, the bound itself included', () => {
    expect(availabilityCheck(0.9, 0.9)!.result).toBe('valid');
    expect(availabilityCheck(0.9, 0.95)!.result).toBe('valid');
    const short = availabilityCheck(0.9, 0.85)!;
    expect(short.result).toBe('invalid');
    expect(short.text).toBe('85.0% of operations succeeded; at least 90.0% must');
  });

  it('is unknown when no operation was invoked', () => {
    expect(availabilityCheck(0.5, null)).toMatchObject({ result: 'unknown' });
    expect(availabilityCheck('total', null)).toMatchObject({ result: 'unknown' });
  });
});

describe('budgetCheck', () => {
  const setCheck = (median: number, max: number): CheckOutcome => ({ name: 'broadcast', result: 'valid', text: 'valid', details: { stable_latencies_ms: stable(median, max) } });

  it('sets nothing when the lab sets no budget', () => {
    expect(budgetCheck({}, net(50), setCheck(1, 2))).toBeNull();
  });

  it('is within budget only strictly below each limit', () => {
    const within = budgetCheck({ msgs_per_op_max: 30, stable_latency_ms_median_max: 400, stable_latency_ms_max_max: 600 }, net(29.9), setCheck(399, 599))!;
    expect(within.result).toBe('valid');
    expect(within.text).toMatch(/^within budget: 29\.9 messages per operation/);
    const atLimit = budgetCheck({ msgs_per_op_max: 30 }, net(30), undefined)!;
    expect(atLimit.result).toBe('invalid');
    expect(atLimit.text).toBe('over budget: 30.0 messages per operation between servers (budget: below 30)');
  });

  it('is over budget when any one limit is passed, naming only what is over', () => {
    const over = budgetCheck({ msgs_per_op_max: 30, stable_latency_ms_median_max: 400, stable_latency_ms_max_max: 600 }, net(12), setCheck(380, 1900))!;
    expect(over.result).toBe('invalid');
    expect(over.text).toMatch(/^over budget: max stable latency/);
    expect(over.text).not.toMatch(/messages per operation|median/);
    expect(over.details).toMatchObject({ over: [expect.stringMatching(/^max/)], within: [expect.stringMatching(/messages/), expect.stringMatching(/^median/)] });
  });

  it('is over budget when there are no figures to hold to the limits', () => {
    const none = budgetCheck({ msgs_per_op_max: 30, stable_latency_ms_median_max: 400 }, net(null), { name: 'broadcast', result: 'unknown', text: '', details: { stable_latencies_ms: null } })!;
    expect(none.result).toBe('invalid');
    expect(none.text).toMatch(/no operations, so no messages per operation/);
    expect(none.text).toMatch(/no median stable latency/);
  });
});

describe('judgeRun', () => {
  const plan = { workload: 'broadcast' as const, availability: null };

  it('a valid run: the headline starts "valid:" with the checker\'s first line and the figures', () => {
    const judged = judgeRun(plan, outcome({ result: 'valid', text: 'valid: all 40 broadcasts stable\n  more', details: { stable_latencies_ms: stable(380, 1900) } }, { net: net(12.34) }));
    expect(judged.verdict).toBe('valid');
    expect(judged.headline.startsWith('valid: all 40 broadcasts stable; msgs-per-op 12.3 (servers); median stable latency')).toBe(true);
    expect(judged.reasons).toEqual([]);
  });

  it('an invalid checker: the headline starts "invalid:" and names the first line of its words (without its own verdict word)', () => {
    const judged = judgeRun(plan, outcome({ result: 'invalid', text: 'invalid: 3 of 412 broadcasts were lost\n  lost: 17, 203, 388', details: {} }));
    expect(judged.verdict).toBe('invalid');
    expect(judged.headline).toBe('invalid: 3 of 412 broadcasts were lost');
    expect(judged.reasons).toEqual(['broadcast: 3 of 412 broadcasts were lost']);
  });

  it('the worst check decides, and only checks with that verdict are named', () => {
    const judged = judgeRun({ workload: 'broadcast', availability: 'total' }, outcome({ result: 'unknown', text: 'no final read succeeded', details: {} }, { availability: 0.5 }));
    expect(judged.verdict).toBe('invalid');
    expect(judged.headline).toBe('invalid: 50.0% of operations succeeded; every one must');
    expect(judged.checks.map((c) => [c.name, c.result])).toEqual([
      ['broadcast', 'unknown'],
      ['availability', 'invalid'],
    ]);
  });

  it('an over-budget run is invalid even when the checker finds it valid', () => {
    const judged = judgeRun(plan, outcome({ result: 'valid', text: 'valid: fine', details: {} }, { net: net(41.2) }), { msgs_per_op_max: 30 });
    expect(judged.verdict).toBe('invalid');
    expect(judged.headline).toMatch(/^invalid: over budget: 41\.2 messages per operation/);
  });

  it('an unknown run says so first, and the run\'s problems are noted', () => {
    const judged = judgeRun(plan, outcome({ result: 'unknown', text: 'the history could not be checked: boom', details: {} }, { problems: ['the nemesis could not start a partition: refused'], check_error: 'boom' }));
    expect(judged.verdict).toBe('unknown');
    expect(judged.headline.startsWith('unknown: the history could not be checked: boom')).toBe(true);
    expect(judged.reasons.join('\n')).toMatch(/the nemesis could not start a partition: refused/);
  });
});

describe('a run whose history was cut short', () => {
  it('is unknown even when the checker judged what was written valid', () => {
    const judged = judgeRun({ workload: 'broadcast', availability: null }, outcome({ result: 'valid', text: 'valid: fine', details: {} }, { problems: ['the history could not be written in full: ENOSPC'], history_error: 'ENOSPC' }));
    expect(judged.verdict).toBe('unknown');
    expect(judged.headline).toMatch(/^unknown: the history could not be written in full/);
  });
});

describe('reported anomalies a lab judges', () => {
  const kafka = (kinds: string[]): RunOutcome['check'] => ({
    result: 'valid',
    text: 'all 10 acknowledged sends were polled',
    details: { anomalies: kinds.map((kind) => ({ kind, count: 2, examples: [`${kind} example`] })) },
  });

  it('judges nothing unless the lab names kinds', () => {
    expect(reportedCheck([], { name: 'kafka', ...kafka(['committed-lost']) })).toBeNull();
    expect(judgeRun({ workload: 'kafka', availability: null }, outcome(kafka(['committed-lost']))).verdict).toBe('valid');
  });

  it('makes a run invalid when the checker reported a kind the lab judges, quoting its examples', () => {
    const judged = judgeRun({ workload: 'kafka', availability: null }, outcome(kafka(['committed-ahead', 'committed-lost'])), { judge_reported: ['committed-lost'] });
    expect(judged.verdict).toBe('invalid');
    expect(judged.headline).toBe('invalid: judged by this lab: 2 committed-lost: committed-lost example; …');
    expect(judgeRun({ workload: 'kafka', availability: null }, outcome(kafka(['committed-ahead'])), { judge_reported: ['committed-lost'] }).verdict).toBe('valid');
  });
});
