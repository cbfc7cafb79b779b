import { describe, expect, it } from 'vitest';
import { checkOptions } from '../../src/lib/plugin.js';
import { RespError } from '../../src/lib/proxy/resp.js';
import { Node, RpcError } from '../../src/lib/runtime/node.js';
import { resolveResilienceConfig } from '../../src/systems/breaker/core/index.js';
import { Dependency, arrival } from '../../src/systems/breaker/dependency.js';
import { type DependencyCall, dslabCallOf } from '../../src/systems/breaker/dependency-client.js';
import { readBreakerOptions, readBreakerPlantedBug } from '../../src/systems/breaker/options.js';
import { breaker, breakerOptionsFromFlags, inFlagWords } from '../../src/systems/breaker/plugin.js';
import { redisAddress, redisCallOf, redisCommand } from '../../src/systems/breaker/redis-dependency.js';
import { BreakerService, callResultOf, failureOutcome, quantile, replyBody } from '../../src/systems/breaker/service.js';
import type { ServicePlantedBug } from '../../src/systems/breaker/options.js';
import { waitFor } from '../helpers/cli.js';

/** The options `up` would pass for these flags, checked by the plugin's schema as the registry checks them. */
function upOptions(flags: Record<string, unknown>): Record<string, unknown> {
  return checkOptions(breaker, breaker.optionsFromFlags(flags));
}

describe('breaker flags and options', () => {
  it('turns each flag into its breaker_ option', () => {
    expect(
      upOptions({
        dependency: 'redis',
        preset: 'hystrix',
        'no-breaker': true,
        window: '20s',
        'window-buckets': 20,
        'min-calls': 5,
        'failure-rate': '40%',
        'slow-rate': '80%',
        'slow-call': '300ms',
        'open-wait': '3s',
        'half-open-calls': 2,
        'call-timeout': '750ms',
        bulkhead: '4',
        'bulkhead-queue': 6,
        'queue-wait': '50ms',
        retries: 3,
        backoff: '10ms',
        'backoff-max': '2s',
        jitter: 'none',
        'retry-budget': '20%',
        fallback: true,
        capacity: 2,
        'service-time': '40ms',
        'dependency-queue': 100,
      }),
    ).toEqual({
      breaker_dependency: 'redis',
      breaker_preset: 'hystrix',
      breaker_enabled: false,
      breaker_window_kind: 'time',
      breaker_window_ms: 20_000,
      breaker_window_buckets: 20,
      breaker_min_calls: 5,
      breaker_failure_rate_pct: 40,
      breaker_slow_rate_pct: 80,
      breaker_slow_call_ms: 300,
      breaker_open_wait_ms: 3000,
      breaker_half_open_calls: 2,
      breaker_call_timeout_ms: 750,
      breaker_bulkhead_kind: 'queue',
      breaker_bulkhead_max: 4,
      breaker_bulkhead_queue_max: 6,
      breaker_bulkhead_queue_wait_ms: 50,
      breaker_retries_max: 3,
      breaker_backoff_ms_base: 10,
      breaker_backoff_ms_max: 2000,
      breaker_jitter: 'none',
      breaker_retry_budget_pct: 20,
      breaker_fallback: true,
      breaker_dep_capacity: 2,
      breaker_dep_service_ms: 40,
      breaker_dep_queue_max: 100,
    });
  });

  it('reads --window as a time window with a unit and a count window without one, and --bulkhead and --retry-budget none', () => {
    expect(upOptions({ window: '100' })).toEqual({ breaker_window_kind: 'count', breaker_window_calls: 100 });
    expect(upOptions({ bulkhead: 'none' })).toEqual({ breaker_bulkhead_kind: 'none' });
    expect(upOptions({ bulkhead: '3' })).toEqual({ breaker_bulkhead_kind: 'semaphore', breaker_bulkhead_max: 3 });
    expect(upOptions({ 'retry-budget': 'none' })).toEqual({ breaker_retry_budget_pct: null });
    expect(upOptions({})).toEqual({});
  });

  it('refuses bad values in words that name the flag', () => {
    expect(() => upOptions({ window: 'soon' })).toThrow(/^--window "soon" is neither a duration/);
    expect(() => upOptions({ 'failure-rate': '0%' })).toThrow('breaker_failure_rate_pct must be more than 0');
    expect(() => upOptions({ 'slow-call': '5' })).toThrow('bad --slow-call "5": give a unit');
    expect(() => upOptions({ bulkhead: 'many' })).toThrow('--bulkhead "many": give the calls');
    expect(() => upOptions({ bulkhead: 'none', 'bulkhead-queue': 3 })).toThrow('--bulkhead none and --bulkhead-queue contradict each other');
    expect(() => upOptions({ 'retry-budget': '120%' })).toThrow('bad --retry-budget "120%": must be at most 100%');
    // Fine alone, not together: the core's complaint, in the flags' words.
    expect(() => upOptions({ window: '10', 'min-calls': 20 })).toThrow(/^--min-calls \(20\) is more than a count window of 10 calls holds/);
    expect(inFlagWords('breaker_backoff_ms_max (5) is below breaker_backoff_ms_base (10)')).toBe('--backoff-max (5) is below --backoff (10)');
  });

  it('runs d1 or redis1 beside the services as --dependency says', () => {
    expect(breaker.groupsFor!({}).map((g) => g.name)).toEqual(['services', 'dependency']);
    expect(breaker.groupsFor!({ breaker_dependency: 'redis' }).map((g) => g.name)).toEqual(['services', 'redis']);
  });

  it('reads the options a node is started with, falling back to the defaults for what is missing or malformed', () => {
    const options = readBreakerOptions({ DSLAB_OPTIONS: JSON.stringify({ breaker_dep_capacity: 3, breaker_min_calls: 4, breaker_dep_service_ms: -1 }) });
    expect(options.dep).toEqual({ capacity: 3, service_ms: 20, queue_max: 10_000 });
    expect(options.resilience.breaker.min_calls).toBe(4);
    expect(options.dependency).toBe('dslab');
    expect(readBreakerOptions({ DSLAB_OPTIONS: 'not json' }).resilience).toEqual(resolveResilienceConfig({}));
    expect(readBreakerPlantedBug({ DSLAB_BREAKER_PLANTED_BUG: 'bulkhead_leaks_on_timeout' })).toBe('bulkhead_leaks_on_timeout');
    expect(readBreakerPlantedBug({})).toBeNull();
    expect(() => readBreakerPlantedBug({ DSLAB_BREAKER_PLANTED_BUG: 'nope' })).toThrow(/names no planted bug/);
  });

  it('has a flag for every option the schema takes that a user sets (the rest are lab settings)', () => {
    const from_flags = new Set(Object.keys(breakerOptionsFromFlags({ dependency: 'dslab', preset: 'dslab', 'no-breaker': true, window: '10s', 'window-buckets': 1, 'min-calls': 1, 'failure-rate': '1%', 'slow-rate': '1%', 'slow-call': '1s', 'open-wait': '1s', 'half-open-calls': 1, 'call-timeout': '1s', bulkhead: '1', 'bulkhead-queue': 1, 'queue-wait': '1s', retries: 1, backoff: '1s', 'backoff-max': '1s', jitter: 'full', 'retry-budget': '1%', fallback: true, capacity: 1, 'service-time': '1s', 'dependency-queue': 1 })));
    const schema_only = Object.keys((breaker.options as unknown as { shape?: Record<string, unknown> }).shape ?? {}).filter((name) => !from_flags.has(name));
    expect(schema_only.sort()).toEqual(['breaker_retry_budget_min_per_s', 'breaker_retry_budget_window_ms', 'breaker_window_calls'].sort());
  });
});

describe('the service\'s decisions', () => {
  it('counts a bad request neither way, and a timeout as a timeout', () => {
    expect((['success', 'bad_request', 'failure', 'timeout'] as DependencyCall[]).map(callResultOf)).toEqual(['success', 'ignored', 'failure', 'timeout']);
  });

  it('names what became of a request that did not succeed', () => {
    expect(failureOutcome('short_circuited', 1, false)).toBe('short_circuited');
    expect(failureOutcome('rejected', 1, false)).toBe('rejected');
    // A retry refused after the dependency failed the first attempt: the request failed.
    expect(failureOutcome('short_circuited', 2, false)).toBe('failed');
    expect(failureOutcome('rejected', 3, false)).toBe('failed');
    expect(failureOutcome('failed', 1, true)).toBe('fallback');
    expect(failureOutcome('short_circuited', 1, true)).toBe('fallback');
    // A bad request is the client's own mistake: no fallback hides it.
    expect(failureOutcome('bad_request', 1, true)).toBe('bad_request');
  });

  it('answers each outcome with the spec\'s reply', () => {
    expect(replyBody('ok', 2, 'closed', '')).toEqual({ type: 'call_ok', outcome: 'ok', attempts: 2, breaker: 'closed' });
    expect(replyBody('fallback', 0, 'open', 'x')).toEqual({ type: 'call_ok', outcome: 'fallback', attempts: 0, breaker: 'open' });
    expect(replyBody('short_circuited', 0, 'half_open', 'busy')).toEqual({ type: 'error', code: 11, outcome: 'short_circuited', attempts: 0, text: 'the circuit breaker is half-open: busy' });
    expect(replyBody('rejected', 0, 'closed', 'full')).toMatchObject({ type: 'error', code: 11, outcome: 'rejected', attempts: 0 });
    expect(replyBody('bad_request', 1, 'closed', 'bad')).toMatchObject({ type: 'error', code: 12, outcome: 'bad_request' });
    expect(replyBody('failed', 3, 'closed', 'attempt 3 failed')).toEqual({ type: 'error', code: 13, outcome: 'failed', attempts: 3, text: 'attempt 3 failed' });
  });

  it('takes nearest-rank quantiles', () => {
    expect(quantile([], 0.5)).toBeNull();
    expect(quantile([5], 0.99)).toBe(5);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(hundred, 0.5)).toBe(50);
    expect(quantile(hundred, 0.99)).toBe(99);
  });

  it('reads d1\'s answers: 12 is a bad request, no answer a timeout, any other error a failure', () => {
    expect(dslabCallOf(new RpcError(12, 'bad'))).toBe('bad_request');
    expect(dslabCallOf(new RpcError(0, 'd1 did not answer work within 500ms'))).toBe('timeout');
    expect(dslabCallOf(new RpcError(0, 'timeout', { type: 'error', code: 0 }))).toBe('failure');
    expect(dslabCallOf(new RpcError(13, 'injected failure'))).toBe('failure');
    expect(dslabCallOf(new RpcError(11, 'queue full'))).toBe('failure');
    expect(dslabCallOf(new Error('more than 10000 RPCs in flight'))).toBe('failure');
  });

  it('reads redis\'s answers: -ERR and -WRONGTYPE are bad requests, other errors failures', () => {
    expect(redisCallOf(null)).toBe('success');
    expect(redisCallOf('value')).toBe('success');
    expect(redisCallOf(new RespError("ERR wrong number of arguments for 'get' command"))).toBe('bad_request');
    expect(redisCallOf(new RespError('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe('bad_request');
    expect(redisCallOf(new RespError('BUSY injected failure'))).toBe('failure');
    expect(redisCallOf(new RespError('LOADING'))).toBe('failure');
    expect(redisCommand('k1', false)).toEqual(['GET', 'dslab:breaker:k1']);
    expect(redisCommand('k1', true)).toEqual(['GET']);
    expect(redisAddress({ dslab_servers: { redis1: { kind: 'redis', group: 'redis', address: '127.0.0.1:7001' } } })).toBe('127.0.0.1:7001');
    expect(redisAddress({})).toBeNull();
  });
});

/** A node on a fake stdio: lines in, the messages it wrote out. */
function harness(id: string) {
  const written: { src: string; dest: string; body: Record<string, unknown> }[] = [];
  const node = new Node({
    write: (text) => {
      for (const line of text.split('\n')) if (line) written.push(JSON.parse(line));
    },
    log: () => undefined,
    exit: () => undefined,
    now: () => Date.now(),
  });
  let msg_id = 100;
  const deliver = (src: string, body: Record<string, unknown>) => node.handleLine(JSON.stringify({ src, dest: id, body: { msg_id: msg_id++, ...body } }));
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  return { node, written, deliver, settle };
}

describe('the reference service on the node runtime', () => {
  const config = resolveResilienceConfig({ breaker_min_calls: 3, breaker_retries_max: 0, breaker_open_wait_ms: 60_000 });

  async function service(results: DependencyCall[], planted_bug: ServicePlantedBug | null = null) {
    const h = harness('s1');
    const calls: number[] = [];
    const dependency = { call: async (_key: string, _bad: boolean, attempt: number) => (calls.push(attempt), results.shift() ?? 'success') };
    await h.deliver('c0', { type: 'init', node_id: 's1', node_ids: ['s1'] });
    const s = new BreakerService(h.node, config, dependency, planted_bug, () => 0.5);
    h.node.on('call', () => undefined);
    return { ...h, s, calls };
  }

  it('opens after the window\'s failures, then short-circuits without calling, with a note for the event log', async () => {
    const { s, deliver, written, calls, settle } = await service(['failure', 'failure', 'failure']);
    s.start();
    for (let i = 0; i < 4; i++) await deliver('c1', { type: 'call', key: 'k' });
    await settle();
    const replies = written.filter((m) => m.dest === 'c1').map((m) => m.body.outcome);
    expect(replies).toEqual(['failed', 'failed', 'failed', 'short_circuited']);
    expect(calls).toHaveLength(3);
    expect(written.some((m) => m.dest === 'dslab' && m.body.type === 'dslab_note' && /^opened: 3 of 3 calls failed/.test(String(m.body.text)))).toBe(true);
    expect(written.filter((m) => m.body.type === 'dslab_state').at(-1)!.body).toMatchObject({ breaker: 'open' });
  });

  it('gives the bulkhead permit back after a timeout, unless the planted bug keeps it', async () => {
    const fixed = await service(['timeout']);
    fixed.s.start();
    await fixed.deliver('c1', { type: 'call', key: 'k' });
    await fixed.settle();
    expect(fixed.s.bulkhead.in_use).toBe(0);
    const leaky = await service(['timeout', 'success'], 'bulkhead_leaks_on_timeout');
    leaky.s.start();
    await leaky.deliver('c1', { type: 'call', key: 'k' });
    await leaky.deliver('c1', { type: 'call', key: 'k' });
    await leaky.settle();
    expect(leaky.s.bulkhead.in_use).toBe(1);
    expect(leaky.written.filter((m) => m.dest === 'c1').map((m) => m.body.outcome)).toEqual(['failed', 'ok']);
  });
});

describe('d1', () => {
  it('decides at arrival: hang drops, bad is refused, injected errors fail fast, a full queue refuses, the rest are served', () => {
    const none = { errors_pct: 0, latency_ms: 0, hang: false };
    expect(arrival({ bad: true }, { ...none, hang: true }, 0, 10, 0)).toBe('drop');
    expect(arrival({ bad: true }, none, 0, 10, 0)).toBe('refuse_bad');
    expect(arrival({ bad: false }, { ...none, errors_pct: 50 }, 0, 10, 0.49)).toBe('fail');
    expect(arrival({ bad: false }, { ...none, errors_pct: 50 }, 0, 10, 0.5)).toBe('serve');
    expect(arrival({ bad: false }, none, 10, 10, 0)).toBe('queue_full');
    expect(arrival({ bad: false }, { ...none, latency_ms: 800 }, 9, 10, 0)).toBe('serve');
  });

  it('serves capacity requests at once, queues the rest in order up to its bound, and refuses past it', async () => {
    const { node, written, deliver, settle } = harness('d1');
    const d1 = new Dependency(node, { capacity: 1, service_ms: 5, queue_max: 1 });
    d1.start();
    await deliver('c0', { type: 'init', node_id: 'd1', node_ids: ['d1'] });
    for (let i = 0; i < 3; i++) await deliver('s1', { type: 'work', key: `k${i}`, attempt: 1 });
    await settle();
    expect(written.filter((m) => m.dest === 's1').map((m) => [m.body.in_reply_to, m.body.type, m.body.code])).toEqual([[103, 'error', 11]]);
    await waitFor('d1 to answer the two requests it took', () => written.filter((m) => m.dest === 's1').length >= 3);
    expect(written.filter((m) => m.dest === 's1').map((m) => [m.body.in_reply_to, m.body.type])).toEqual([[103, 'error'], [101, 'work_ok'], [102, 'work_ok']]);
    expect(written[0]!.body).toMatchObject({ type: 'init_ok', dslab_fail: true });
  });

  it('takes its application fault from dslab and reports it', async () => {
    const { node, written, deliver, settle } = harness('d1');
    new Dependency(node, { capacity: 1, service_ms: 5, queue_max: 1 }).start();
    await deliver('c0', { type: 'init', node_id: 'd1', node_ids: ['d1'] });
    await deliver('dslab', { type: 'dslab_fail', errors_pct: 100, latency_ms: 0, hang: false });
    await deliver('s1', { type: 'work', key: 'k', attempt: 1 });
    await settle();
    expect(written.find((m) => m.dest === 's1')!.body).toMatchObject({ type: 'error', code: 13, text: 'injected failure' });
    expect(written.filter((m) => m.body.type === 'dslab_state').at(-1)!.body).toMatchObject({ fail: 'errors 100%' });
  });
});
