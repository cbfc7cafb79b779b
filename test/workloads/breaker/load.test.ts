import { describe, expect, it } from 'vitest';
import type { NewClusterEvent } from '../../../src/lib/control/api.js';
import { loadCells } from '../../../src/lib/dashboard/layout.js';
import { describeLoadTally, type LoadStats } from '../../../src/lib/load-stats.js';
import type { ClientTransport, WorkloadHost } from '../../../src/lib/plugin.js';
import type { MessageBody } from '../../../src/lib/protocol/messages.js';
import { IndefiniteError, UserError } from '../../../src/lib/util/errors.js';
import { createRng } from '../../../src/lib/util/prng.js';
import { breaker_workload } from '../../../src/workloads/breaker/plugin.js';
import { BreakerLoad, loadServices, type BreakerLoadOptions } from '../../../src/workloads/breaker/runtime.js';
import { formatBreakerLoadSummary } from '../../../src/workloads/breaker/summary.js';
import { waitFor } from '../../helpers/cli.js';

type Sent = { client: string; dest: string; body: MessageBody };

/** A transport whose services answer as `answer` says: a reply body, 'hang' (answered only by release()), 'timeout' or 'refuse'. */
function fakeTransport(answer: (sent: Sent, index: number) => MessageBody | 'hang' | 'timeout' | 'refuse') {
  const sent: Sent[] = [];
  const held: (() => void)[] = [];
  const transport: Pick<ClientTransport, 'request'> = {
    request(client, dest, body) {
      const message = { client, dest, body };
      const reply = answer(message, sent.length);
      sent.push(message);
      if (reply === 'refuse') return Promise.reject(new UserError(`${dest} is down`));
      if (reply === 'timeout') return new Promise((_, reject) => setTimeout(() => reject(new IndefiniteError(`${dest} did not answer`)), 5));
      if (reply === 'hang') return new Promise((resolve) => held.push(() => resolve({ type: 'call_ok', outcome: 'ok' })));
      return new Promise((resolve) => setTimeout(() => resolve(reply), 1));
    },
  };
  return { transport, sent, release: () => held.splice(0).forEach((r) => r()) };
}

const options = (overrides: Partial<BreakerLoadOptions> = {}): BreakerLoadOptions => ({ rate_per_s: 1000, duration_ms: 200, bad_pct: 0, services: ['s1', 's2', 's3'], timeout_ms: 1000, ...overrides });

describe('the breaker load', () => {
  it('sends rate × duration requests round the services, and counts each by the outcome its reply gives', async () => {
    const by_service: Record<string, MessageBody> = {
      s1: { type: 'call_ok', outcome: 'ok', attempts: 1 },
      s2: { type: 'error', code: 11, outcome: 'short_circuited' },
      s3: { type: 'call_ok', outcome: 'fallback' },
    };
    const { transport, sent } = fakeTransport((message) => by_service[message.dest]!);
    const load = new BreakerLoad(transport, options(), createRng(1));
    load.start();
    const stats = await load.done;
    expect(sent).toHaveLength(200);
    expect(sent.slice(0, 4).map((s) => [s.client, s.dest, s.body.type])).toEqual([
      ['c1', 's1', 'call'],
      ['c2', 's2', 'call'],
      ['c3', 's3', 'call'],
      ['c1', 's1', 'call'],
    ]);
    expect(sent.every((s) => s.body.bad === undefined && /^k\d+$/.test(String(s.body.key)))).toBe(true);
    const detail = stats.outcomes!;
    expect(detail.counts).toEqual({ ok: 67, fallback: 66, failed: 0, short_circuited: 67, rejected: 0, bad_request: 0, timeout: 0 });
    expect(detail.by_target.s2).toMatchObject({ short_circuited: 67, ok: 0 });
    expect(detail.sent).toBe(200);
    expect(detail.not_sent).toEqual({ dropped_by_load: 0, refused: 0 });
    expect(Object.keys(detail.latency_ms).sort()).toEqual(['fallback', 'ok', 'short_circuited']);
    // The tally every load keeps: only ok is ok.
    expect([stats.ok, stats.fail, stats.unknown, stats.completed, stats.offered]).toEqual([67, 133, 0, 200, 200]);
    const summary = formatBreakerLoadSummary(stats);
    expect(summary).toMatch(/^200 requests sent in /);
    expect(summary).toMatch(/short_circuited\s+67/);
  });

  it('never waits for earlier answers: with every request hanging it still sends on schedule, dropping those past the in-flight bound', async () => {
    const { transport, sent, release } = fakeTransport(() => 'hang');
    const load = new BreakerLoad(transport, options({ rate_per_s: 500 }), createRng(1), 30);
    load.start();
    await waitFor('the load to offer all 100 requests', () => load.summary().offered === 100);
    // All 100 were offered although none was answered; 30 went out, the rest were dropped, not queued.
    expect(load.summary().offered).toBe(100);
    expect(sent).toHaveLength(30);
    release();
    const stats = await load.done;
    expect(stats.outcomes!.not_sent.dropped_by_load).toBe(70);
    expect(stats.skipped).toBe(70);
    expect(stats.outcomes!.counts.ok).toBe(30);
  });

  it('records a request left unanswered as timeout, one refused before sending as not sent, and marks about --bad of them bad', async () => {
    let to_s2 = 0;
    const { transport, sent } = fakeTransport((message) => (message.dest === 's1' ? 'timeout' : to_s2++ % 2 === 0 ? 'refuse' : { type: 'error', code: 12, outcome: 'bad_request' }));
    const load = new BreakerLoad(transport, options({ services: ['s1', 's2'], bad_pct: 50, duration_ms: 400 }), createRng(7));
    load.start();
    const stats = await load.done;
    const detail = stats.outcomes!;
    expect(detail.counts.timeout).toBe(200);
    // s2 refused every other one of its 200 before it was sent.
    expect(detail.counts.bad_request).toBe(100);
    expect(detail.not_sent.refused).toBe(100);
    expect(detail.sent).toBe(300);
    expect(stats.unknown).toBe(200);
    const bad = sent.filter((s) => s.body.bad === true).length;
    expect(bad).toBeGreaterThan(140);
    expect(bad).toBeLessThan(260);
  });

  it('refuses services the cluster does not have, in one line', () => {
    expect(loadServices(undefined, ['s1', 's2'])).toEqual(['s1', 's2']);
    expect(loadServices(['s2', 's2'], ['s1', 's2'])).toEqual(['s2']);
    expect(() => loadServices(['s9'], ['s1', 's2'])).toThrow('--services: s9 is not a service of this cluster (services: s1, s2)');
  });

  it('runs as the workload operation load, one at a time, reporting start, progress and done events whose figures the dashboard shows', async () => {
    const { transport } = fakeTransport((message) => (message.dest === 's1' ? { type: 'call_ok', outcome: 'ok' } : { type: 'error', code: 11, outcome: 'rejected' }));
    const events: NewClusterEvent[] = [];
    const runtime = breaker_workload.runtime!({ transport, emit: (event: NewClusterEvent) => events.push(event), rng: createRng(1), servers: ['s1', 's2'], options: {} } as unknown as WorkloadHost);
    const run = (op: string, args: Record<string, unknown>) => runtime.operations[op]!.run(runtime.operations[op]!.args.parse(args));
    expect((await run('load', { rate_per_s: 100, duration_ms: 1500 })).description).toBe('breaker load started: 100 requests/s for 1.5s to s1, s2');
    expect(() => run('load', { rate_per_s: 100, duration_ms: 200 })).toThrow(/already running/);
    expect(() => run('load', { rate_per_s: 100, duration_ms: 200, bad_pct: 101 })).toThrow();
    await waitFor('the load\'s done event', () => events.some((e) => e.type === 'load' && e.phase === 'done'));
    const loads = events.filter((e): e is Extract<NewClusterEvent, { type: 'load' }> => e.type === 'load');
    expect(loads[0]!.phase).toBe('start');
    expect(loads.some((e) => e.phase === 'progress')).toBe(true);
    const done = loads.at(-1)!.stats as LoadStats;
    expect(done.outcomes!.counts).toMatchObject({ ok: 75, rejected: 75 });
    expect(describeLoadTally(done)).toBe('ok 75, rejected 75');
    const cells = loadCells({ running: false, stats: done, duration_ms: 1500, last_ok: 0, last_t: 0 }).map((c) => c.text).join('');
    expect(cells).toContain('ok 75');
    expect(cells).toContain('rejected 75');
    expect(cells).not.toContain('unknown');
    expect(() => run('load_stop', {})).toThrow('no breaker load is running');
  });
});
