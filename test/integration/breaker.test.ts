import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readClusterInfo } from '../../src/lib/cluster/paths.js';
import type { ClusterEvent } from '../../src/lib/control/api.js';
import { ControlClient, type Follower } from '../../src/lib/control/client.js';
import type { MessageBody } from '../../src/lib/protocol/messages.js';
import { cleanup, type CliResult, dslab, makeWorkdir, waitFor } from '../helpers/cli.js';

// The file's two clusters are independent of each other, so their blocks run side by side (their starts
// and waits overlap: describe.concurrent); within a block the tests run in order (it.sequential) on its cluster.

/** A command refused with exit code 1 and one line saying why. */
function expectRefused(result: CliResult, args: readonly string[], message: RegExp): void {
  expect(result.exitCode, args.join(' ')).toBe(1);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr.trim()).toMatch(message);
}

/**
 * The breaker system end to end: two services calling d1 through their breakers, with a small window
 * (4 calls) and a short open wait so a handful of calls opens and closes a breaker. No retries, so each
 * failed request is one failed call. The tests run in order on one cluster; each leaves d1 healed.
 */
describe.concurrent('the breaker system', () => {
  let cwd: string;
  let client: ControlClient;
  let follower: Follower;
  const notes: string[] = [];
  const cli = (...args: string[]) => dslab(cwd, ...args);
  const call = async (service: string, extra: Record<string, unknown> = {}) => (await client.act({ type: 'send', dest: service, body: { type: 'call', key: 'k1', ...extra }, timeout_ms: 10_000 })).reply as MessageBody;
  const state = async (node: string) => (await client.status()).nodes.find((n) => n.id === node)!.state;

  beforeAll(async () => {
    cwd = makeWorkdir();
    const up = await cli('up', 'breaker', '--services', '2', '--detach', '--init-timeout', '60s', '--min-calls', '4', '--open-wait', '2s', '--call-timeout', '500ms', '--retries', '0');
    expect(up.exitCode, up.stderr).toBe(0);
    client = new ControlClient(readClusterInfo(path.join(cwd, '.dslab', 'breaker', 'cluster.json'))!);
    follower = client.follow((event: ClusterEvent) => {
      if (event.type === 'node_note') notes.push(`${event.node} ${event.text}`);
    }, { history: true });
    await follower.ready;
  }, 120_000);

  afterAll(async () => {
    follower?.stop();
    client?.close();
    await cleanup(cwd);
  }, 60_000);

  it.sequential('answers a call through a service from d1, and refuses a bad request without blaming d1', async () => {
    expect(await call('s1')).toMatchObject({ type: 'call_ok', outcome: 'ok', attempts: 1, breaker: 'closed' });
    expect(await call('s1', { bad: true })).toMatchObject({ type: 'error', code: 12, outcome: 'bad_request' });
    await waitFor('d1 to report what it served', async () => (await state('d1')).role === 'dependency' && (await state('s1')).breaker === 'closed');
  });

  it.sequential('opens the breaker when d1 fails every call, short-circuits calls while open, and closes after heal', async () => {
    const fail = await cli('fail', 'd1', '--errors', '100%');
    expect(fail.exitCode, fail.stderr).toBe(0);
    expect(fail.stdout.trim()).toBe('d1 failing: errors 100%');
    expect((await client.status()).faults).toContain('d1 failing: errors 100%');
    expect(await call('s1')).toMatchObject({ type: 'error', code: 13, outcome: 'failed', attempts: 1 });
    await waitFor('s1 to open its breaker', async () => {
      if ((await state('s1')).breaker === 'open') return true;
      await call('s1');
      return false;
    });
    await waitFor('the opening in the event log', () => notes.some((note) => /^s1 opened: \d+ of \d+ calls failed in the last 10 s/.test(note)));
    // Open for 2 s: a call now is refused by s1 itself (or, past the wait, is a trial that fails and reopens it).
    const refused = await call('s1');
    if (refused.outcome !== 'short_circuited') expect(notes.some((note) => note.startsWith('s1 reopened'))).toBe(true);
    else expect(refused).toMatchObject({ type: 'error', code: 11 });
    // s2 made no calls: its breaker is its own.
    expect((await state('s2')).breaker).toBe('closed');

    const heal = await cli('heal');
    expect(heal.stdout).toContain('d1 no longer failing');
    expect((await client.status()).faults).toEqual([]);
    await waitFor('s1 to close again', async () => {
      const reply = await call('s1');
      return reply.outcome === 'ok' && (await state('s1')).breaker === 'closed';
    }, 30_000);
    await waitFor('the closing in the event log', () => notes.some((note) => note.startsWith('s1 closed')));
  });

  it.sequential('times out calls to a hanging d1, and a restarted d1 still hangs until heal', async () => {
    expect((await cli('fail', 'd1', '--hang')).stdout.trim()).toBe('d1 failing: hangs');
    const reply = await call('s2');
    expect(reply).toMatchObject({ type: 'error', code: 13, outcome: 'failed' });
    expect(String(reply.text)).toContain('timed out after 500 ms');
    expect((await cli('kill', 'd1')).exitCode).toBe(0);
    expect((await cli('restart', 'd1')).exitCode).toBe(0);
    await waitFor('the restarted d1 to report the hang it was given again', async () => (await state('d1')).fail === 'hangs');
    expect(await call('s2')).toMatchObject({ outcome: 'failed' });
    await cli('heal');
    await waitFor('d1 to report no fault', async () => (await state('d1')).fail === null);
    expect(await call('s2')).toMatchObject({ type: 'call_ok', outcome: 'ok' });
  });

  it.sequential('traces every state report and every application fault sent', () => {
    const records = readFileSync(path.join(cwd, '.dslab', 'breaker', 'trace.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { fate: string; msg: { src: string; dest: string; body: MessageBody } });
    const states = records.filter((r) => r.fate === 'state');
    expect(states.some((r) => r.msg.src === 's1' && r.msg.body.breaker === 'open')).toBe(true);
    expect(states.every((r) => r.msg.body.type === 'dslab_state')).toBe(true);
    const fails = records.filter((r) => r.msg.body.type === 'dslab_fail').map((r) => ({ fate: r.fate, dest: r.msg.dest, errors_pct: r.msg.body.errors_pct, hang: r.msg.body.hang }));
    expect(fails).toContainEqual({ fate: 'delivered', dest: 'd1', errors_pct: 100, hang: false });
    // The all-clear of each heal is traced too.
    expect(fails.filter((f) => f.errors_pct === 0 && f.hang === false).length).toBeGreaterThanOrEqual(2);
  });

  // Neither refusal test changes the cluster: each runs its commands at once.
  it.sequential('refuses fail on a node that takes no application faults, and bad fail flags, in one line', async () => {
    const refusals = [
      [['fail', 's1', '--errors', '50%'], /^dslab: s1 takes no application faults: its init_ok did not declare dslab_fail: true$/],
      [['fail', 'd1'], /^dslab: say how the node fails: --errors PERCENT, --latency DURATION or --hang/],
      [['fail', 'd1', '--errors', '150%'], /^dslab: bad --errors "150%": must be at most 100%$/],
      [['fail', 'd1', '--latency', '5'], /^dslab: bad --latency "5": give a unit/],
      [['fail', 'nosuch', '--hang'], /^dslab: unknown node "nosuch"/],
    ] as const;
    const results = await Promise.all(refusals.map(([args]) => cli(...args)));
    refusals.forEach(([args, message], i) => expectRefused(results[i]!, args, message));
  });

  it.sequential('refuses bad breaker flags at up in one line', async () => {
    const refusals = [
      [['--failure-rate', '0%'], /^dslab: --failure-rate must be more than 0$/],
      [['--window', 'soon'], /^dslab: --window "soon" is neither a duration/],
      [['--retry-budget', 'lots'], /^dslab: bad --retry-budget "lots"/],
      [['--window', '10', '--min-calls', '20'], /^dslab: --min-calls \(20\) is more than a count window of 10 calls holds/],
    ] as const;
    const results = await Promise.all(refusals.map(([args]) => cli('up', 'breaker', '--name', 'refused', '--detach', ...args)));
    refusals.forEach(([args, message], i) => expectRefused(results[i]!, args, message));
  });
});

/** The same services calling a real redis-server through their link proxies, which frame, trace and fail its commands. */
describe.concurrent('the breaker system on redis', () => {
  let cwd: string;
  let client: ControlClient;
  const cli = (...args: string[]) => dslab(cwd, ...args);
  const call = async (extra: Record<string, unknown> = {}) => (await client.act({ type: 'send', dest: 's1', body: { type: 'call', key: 'k1', ...extra }, timeout_ms: 10_000 })).reply as MessageBody;

  beforeAll(async () => {
    cwd = makeWorkdir();
    const up = await cli('up', 'breaker', '--services', '1', '--dependency', 'redis', '--detach', '--init-timeout', '60s', '--min-calls', '100', '--call-timeout', '500ms', '--retries', '0');
    expect(up.exitCode, up.stderr).toBe(0);
    client = new ControlClient(readClusterInfo(path.join(cwd, '.dslab', 'breaker', 'cluster.json'))!);
  }, 120_000);

  afterAll(async () => {
    client?.close();
    await cleanup(cwd);
  }, 60_000);

  it.sequential('calls redis1, and its proxy applies dslab fail and traces each command and reply', async () => {
    expect(await call()).toMatchObject({ type: 'call_ok', outcome: 'ok' });
    expect(await call({ bad: true })).toMatchObject({ type: 'error', code: 12, outcome: 'bad_request' });
    expect((await cli('fail', 'redis1', '--errors', '100%')).stdout.trim()).toBe('redis1 failing: errors 100%');
    expect(await call()).toMatchObject({ type: 'error', code: 13, outcome: 'failed' });
    expect((await cli('fail', 'redis1', '--hang')).exitCode).toBe(0);
    expect(String((await call()).text)).toContain('timed out after 500 ms');
    expect((await cli('heal')).stdout).toContain('redis1 no longer failing');
    expect(await call()).toMatchObject({ type: 'call_ok', outcome: 'ok' });
    const records = await waitFor('the last reply in the trace', () => {
      const lines = readFileSync(path.join(cwd, '.dslab', 'breaker', 'trace.jsonl'), 'utf8').split('\n').filter(Boolean);
      const parsed = lines.map((line) => JSON.parse(line) as { msg: { src: string; dest: string; body: MessageBody } }).map((r) => r.msg);
      const redis = parsed.filter((m) => m.src === 'redis1' || m.dest === 'redis1');
      return redis.filter((m) => m.src === 'redis1').length >= 4 ? redis : undefined;
    });
    expect(records.map((m) => (m.src === 'redis1' ? `${String(m.body.type)}${m.body.code === undefined ? '' : ` ${String(m.body.code)}`}` : m.body.type === 'work' ? `work ${String(m.body.command)}` : `${String(m.body.type)} ${String(m.body.errors_pct)}% ${String(m.body.hang)}`))).toEqual([
      'work GET',
      'work_ok',
      'work GET',
      'error 12',
      'dslab_fail 100% false',
      'work GET',
      'error 13',
      'dslab_fail 0% true',
      'work GET',
      'dslab_fail 0% false',
      'work GET',
      'work_ok',
    ]);
  });
});
