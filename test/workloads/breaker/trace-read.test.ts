import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../../src/lib/util/prng.js';
import type { ResilienceConfig } from '../../../src/systems/breaker/core/index.js';
import type { CallRecord, RequestRecord } from '../../../src/systems/breaker/record.js';
import { BreakerRecordBuilder, readBreakerRecord, readBreakerTrace, replyOutcome, type BreakerMembers } from '../../../src/systems/breaker/trace-read.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-breaker-trace-');
const members: BreakerMembers = { services: ['s1', 's2'], dependency: 'd1' };
// The reader carries the config through untouched: any object stands for it here.
const config = { preset: 'dslab' } as unknown as ResilienceConfig;

/** One trace line as the router writes it. */
function line(t: number, src: string, dest: string, body: Record<string, unknown>, fate = 'delivered'): string {
  return JSON.stringify({ t, fate, msg: { src, dest, body } });
}

function traceFile(lines: string[], tail = ''): string {
  const file = path.join(tempDir(), 'trace.jsonl');
  writeFileSync(file, lines.join('\n') + '\n' + tail);
  return file;
}

describe('reading a breaker trace', () => {
  it('matches replies to their requests by requester, answerer and msg_id, in any order', () => {
    const file = traceFile([
      line(1000, 'c1', 's1', { type: 'call', key: 'k1', msg_id: 1 }),
      line(1001, 'c2', 's2', { type: 'call', key: 'k2', msg_id: 1 }),
      line(1002, 'c1', 's1', { type: 'call', key: 'k3', msg_id: 2 }),
      line(1003, 's1', 'd1', { type: 'work', key: 'k1', msg_id: 7, attempt: 1 }),
      line(1004, 's2', 'd1', { type: 'work', key: 'k2', msg_id: 7, attempt: 1 }),
      // The second request is answered first, and s2's call before s1's (same msg_id 7, another link).
      line(1010, 's1', 'c1', { type: 'error', code: 11, outcome: 'short_circuited', attempts: 0, in_reply_to: 2 }),
      line(1020, 'd1', 's2', { type: 'error', code: 13, text: 'injected failure', in_reply_to: 7 }),
      line(1030, 'd1', 's1', { type: 'work_ok', in_reply_to: 7 }),
      line(1040, 's2', 'c2', { type: 'error', code: 13, outcome: 'failed', attempts: 1, in_reply_to: 1 }),
      line(1050, 's1', 'c1', { type: 'call_ok', outcome: 'ok', attempts: 1, breaker: 'closed', in_reply_to: 1 }),
    ]);
    const record = readBreakerTrace(file, members, config);
    expect(record.requests).toEqual<RequestRecord[]>([
      { service: 's1', client: 'c1', sent_ms: 1000, answered_ms: 1050, outcome: 'ok', attempts: 1 },
      { service: 's2', client: 'c2', sent_ms: 1001, answered_ms: 1040, outcome: 'failed', attempts: 1 },
      // attempts 0: refused before any call (the checker times such short circuits on their own).
      { service: 's1', client: 'c1', sent_ms: 1002, answered_ms: 1010, outcome: 'short_circuited', attempts: 0 },
    ]);
    expect(record.calls).toEqual<CallRecord[]>([
      { service: 's1', sent_ms: 1003, answered_ms: 1030, result: 'success', attempt: 1 },
      { service: 's2', sent_ms: 1004, answered_ms: 1020, result: 'failure', attempt: 1 },
    ]);
    expect(record).toMatchObject({ services: ['s1', 's2'], dependency: 'd1', start_ms: 1000, end_ms: 1050, config });
    expect(record.omitted).toBeUndefined();
  });

  it('keeps unanswered requests as timeout and unanswered calls as unanswered; a reply the router dropped never arrived', () => {
    const file = traceFile([
      line(0, 'c1', 's1', { type: 'call', key: 'k1', msg_id: 1 }),
      line(1, 'c1', 's1', { type: 'call', key: 'k2', msg_id: 2 }),
      line(2, 's1', 'd1', { type: 'work', key: 'k1', msg_id: 1 }),
      line(3, 's1', 'd1', { type: 'work', key: 'k2', msg_id: 2, attempt: 1 }),
      line(4, 'd1', 's1', { type: 'work_ok', in_reply_to: 2 }, 'dropped:loss'),
      line(5, 's1', 'c1', { type: 'call_ok', outcome: 'ok', in_reply_to: 2 }, 'dropped:partition'),
    ]);
    const record = readBreakerTrace(file, members, config);
    expect(record.requests.map((r) => [r.answered_ms, r.outcome])).toEqual([
      [null, 'timeout'],
      [null, 'timeout'],
    ]);
    expect(record.calls.map((c) => [c.answered_ms, c.result, c.attempt])).toEqual([
      [null, 'unanswered', null],
      [null, 'unanswered', 1],
    ]);
  });

  it('counts a duplicated message once, a bad request refused by the dependency as ignored, and takes outcomes from replies', () => {
    const file = traceFile([
      line(0, 'c1', 's1', { type: 'call', key: 'k1', msg_id: 1, bad: true }, 'duplicated'),
      line(0, 'c1', 's1', { type: 'call', key: 'k1', msg_id: 1, bad: true }),
      line(1, 's1', 'd1', { type: 'work', key: 'k1', msg_id: 1, bad: true, attempt: 1 }, 'duplicated'),
      line(2, 'd1', 's1', { type: 'error', code: 12, in_reply_to: 1 }),
      line(3, 'd1', 's1', { type: 'error', code: 12, in_reply_to: 1 }),
      line(4, 's1', 'c1', { type: 'error', code: 12, outcome: 'bad_request', in_reply_to: 1 }),
    ]);
    const record = readBreakerTrace(file, members, config);
    expect(record.requests).toHaveLength(1);
    expect(record.requests[0]).toMatchObject({ outcome: 'bad_request', answered_ms: 4 });
    expect(record.calls).toEqual([{ service: 's1', sent_ms: 1, answered_ms: 2, result: 'ignored', attempt: 1 }]);
    expect(replyOutcome({ type: 'call_ok', outcome: 'fallback' })).toBe('fallback');
    expect(replyOutcome({ type: 'error', outcome: 'rejected' })).toBe('rejected');
    // Without an outcome (or with a word the spec does not have) the reply's type decides.
    expect(replyOutcome({ type: 'call_ok' })).toBe('ok');
    expect(replyOutcome({ type: 'error', code: 13 })).toBe('failed');
    expect(replyOutcome({ type: 'error', outcome: 'timeout' })).toBe('failed');
    expect(replyOutcome({ type: 'error', outcome: 'melted' })).toBe('failed');
  });

  it('reads breaker states from traced state reports and faults from traced dslab_fail, all-clear included', () => {
    const file = traceFile([
      line(100, 's1', 'dslab', { type: 'dslab_state', breaker: 'closed', error_pct: 0 }, 'state'),
      line(150, 'd1', 'dslab', { type: 'dslab_state', queue: 3 }, 'state'),
      line(200, 'dslab', 'd1', { type: 'dslab_fail', errors_pct: 100, latency_ms: 0, hang: false }),
      line(300, 's1', 'dslab', { type: 'dslab_state', breaker: 'open', error_pct: 100 }, 'state'),
      line(400, 'dslab', 'd1', { type: 'dslab_fail', errors_pct: 0, latency_ms: 0, hang: false }),
      line(500, 's2', 'dslab', { type: 'dslab_state', breaker: 'half_open' }, 'state'),
    ]);
    const record = readBreakerTrace(file, members, config);
    expect(record.states).toEqual([
      { node: 's1', at_ms: 100, breaker: 'closed' },
      { node: 's1', at_ms: 300, breaker: 'open' },
      { node: 's2', at_ms: 500, breaker: 'half_open' },
    ]);
    expect(record.faults).toEqual([
      { at_ms: 200, errors_pct: 100, latency_ms: 0, hang: false },
      { at_ms: 400, errors_pct: 0, latency_ms: 0, hang: false },
    ]);
  });

  it('skips a last line cut short (a trace still being written)', () => {
    const whole = line(20, 's1', 'c1', { type: 'call_ok', outcome: 'ok', in_reply_to: 1 });
    const file = traceFile([line(10, 'c1', 's1', { type: 'call', key: 'k1', msg_id: 1 }), line(11, 'c1', 's1', { type: 'call', key: 'k2', msg_id: 2 })], whole.slice(0, whole.length - 9));
    const record = readBreakerTrace(file, members, config);
    expect(record.requests.map((r) => r.outcome)).toEqual(['timeout', 'timeout']);
    expect(record.end_ms).toBe(11);
  });

  it('reads redis calls as the link proxy traces them like d1 calls', () => {
    const file = traceFile([
      line(0, 's1', 'redis1', { type: 'work', msg_id: 1, command: 'GET' }),
      line(1, 's1', 'redis1', { type: 'work', msg_id: 2, command: 'GET' }),
      line(5, 'redis1', 's1', { type: 'error', in_reply_to: 2 }),
      line(6, 'redis1', 's1', { type: 'work_ok', in_reply_to: 1 }),
    ]);
    const record = readBreakerTrace(file, { services: ['s1'], dependency: 'redis1' }, config);
    expect(record.calls.map((c) => [c.result, c.answered_ms])).toEqual([
      ['success', 6],
      ['failure', 5],
    ]);
  });

  it('keeps at most its bounds and says what it left out; the oldest pending request past its bound stays unanswered', () => {
    const builder = new BreakerRecordBuilder(members, config, { entries_max: 3, pending_max: 2 });
    const push = (t: number, src: string, dest: string, body: Record<string, unknown>) => builder.push({ t, fate: 'delivered', msg: { src, dest, body: body as { type: string } } });
    for (let i = 1; i <= 5; i++) push(i, 'c1', 's1', { type: 'call', key: `k${i}`, msg_id: i });
    // Requests 1..3 kept; only 2 and 3 still wait (1 was given up on when 3 came).
    push(10, 's1', 'c1', { type: 'call_ok', in_reply_to: 1 });
    push(11, 's1', 'c1', { type: 'call_ok', in_reply_to: 3 });
    const record = builder.finish();
    expect(record.requests.map((r) => r.outcome)).toEqual(['timeout', 'timeout', 'ok']);
    expect(record.omitted).toEqual({ requests: 2, calls: 0, states: 0 });
  });

  it('gives back a generated run exactly: random replies out of order, losses, duplicates, unanswered calls', () => {
    const rng = createRng(23);
    const lines: { t: number; text: string }[] = [];
    const expected_requests: RequestRecord[] = [];
    const expected_calls: CallRecord[] = [];
    const outcomes = ['ok', 'fallback', 'failed', 'short_circuited', 'rejected', 'bad_request'] as const;
    const msg_ids = new Map<string, number>();
    const nextId = (link: string) => {
      const id = (msg_ids.get(link) ?? 0) + 1;
      msg_ids.set(link, id);
      return id;
    };
    for (let i = 0; i < 2000; i++) {
      const t = i * 2;
      const service = members.services[rng.int(2)]!;
      const client = `c${1 + rng.int(3)}`;
      const id = nextId(`${client}${service}`);
      lines.push({ t, text: line(t, client, service, { type: 'call', key: `k${i}`, msg_id: id }, rng.next() < 0.05 ? 'duplicated' : 'delivered') });
      const answered = rng.next() < 0.9;
      const outcome = outcomes[rng.int(outcomes.length)]!;
      const answered_ms = t + 1 + rng.int(200);
      if (answered) lines.push({ t: answered_ms, text: line(answered_ms, service, client, { type: outcome === 'ok' || outcome === 'fallback' ? 'call_ok' : 'error', outcome, in_reply_to: id }) });
      expected_requests.push({ service, client, sent_ms: t, answered_ms: answered ? answered_ms : null, outcome: answered ? outcome : 'timeout' });
      if (rng.next() < 0.7) {
        const call_id = nextId(`${service}d1`);
        const attempt = 1 + rng.int(3);
        lines.push({ t: t + 1, text: line(t + 1, service, 'd1', { type: 'work', key: `k${i}`, msg_id: call_id, attempt }) });
        const fate = rng.next();
        const reply_ms = t + 2 + rng.int(300);
        const result = fate < 0.1 ? 'unanswered' : fate < 0.2 ? 'ignored' : fate < 0.5 ? 'failure' : 'success';
        if (result !== 'unanswered') lines.push({ t: reply_ms, text: line(reply_ms, 'd1', service, result === 'success' ? { type: 'work_ok', in_reply_to: call_id } : { type: 'error', code: result === 'ignored' ? 12 : 13, in_reply_to: call_id }) });
        expected_calls.push({ service, sent_ms: t + 1, answered_ms: result === 'unanswered' ? null : reply_ms, result, attempt });
      }
    }
    // The router writes in time order; replies thus come out of the order of their requests.
    lines.sort((a, b) => a.t - b.t);
    const record = readBreakerTrace(traceFile(lines.map((l) => l.text)), members, config);
    expect(record.requests).toEqual(expected_requests);
    expect(record.calls).toEqual(expected_calls);
  });

  it('reads a cluster folder: members from cluster.json, config from its options; refuses a cluster of another system', () => {
    const dir = tempDir();
    const info = { name: 'breaker', system: 'breaker', nodes: ['s1', 's2', 'd1'], groups: [{ name: 'services', prefix: 's', nodes: ['s1', 's2'] }, { name: 'dependency', prefix: 'd', nodes: ['d1'] }], options: { breaker_preset: 'hystrix' } };
    writeFileSync(path.join(dir, 'cluster.json'), JSON.stringify(info));
    writeFileSync(path.join(dir, 'trace.jsonl'), line(5, 'c1', 's2', { type: 'call', key: 'k', msg_id: 1 }) + '\n');
    const record = readBreakerRecord(dir);
    expect(record).toMatchObject({ services: ['s1', 's2'], dependency: 'd1', requests: [{ service: 's2', outcome: 'timeout' }] });
    // The Hystrix preset's documented minimum number of calls.
    expect(record.config.breaker.min_calls).toBe(20);
    writeFileSync(path.join(dir, 'cluster.json'), JSON.stringify({ ...info, system: 'raft' }));
    expect(() => readBreakerRecord(dir)).toThrow('cluster breaker runs raft, not breaker: start one with dslab up breaker');
  });
});
