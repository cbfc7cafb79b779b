import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ClusterStatus } from '../../../src/lib/control/api.js';
import type { ClientTransport } from '../../../src/lib/plugin.js';
import type { MessageBody } from '../../../src/lib/protocol/messages.js';
import { MaelstromRun, type RunHost } from '../../../src/maelstrom/run/run.js';
import { checkKafkaFile, type KafkaCheckDetails } from '../../../src/workloads/kafka/checker.js';

/**
 * `dslab test -w kafka`'s runner against a kafka kept in this process (no
 * network, no node processes): a correct one, and one that acknowledges every
 * message but never returns offset 1 of a key once later offsets exist.
 */
function memoryKafka(options: { hide_offset_1: boolean }) {
  const logs = new Map<string, unknown[]>();
  const committed = new Map<string, number>();
  let sends = 0;
  const answer = (body: MessageBody): MessageBody => {
    switch (body.type) {
      case 'send': {
        const log = logs.get(body.key as string) ?? [];
        logs.set(body.key as string, log);
        log.push(body.msg);
        sends++;
        return { type: 'send_ok', offset: log.length - 1 };
      }
      case 'poll': {
        const msgs: Record<string, [number, unknown][]> = {};
        for (const [key, from] of Object.entries(body.offsets as Record<string, number>)) {
          const log = logs.get(key) ?? [];
          msgs[key] = log.map((msg, offset) => [offset, msg] as [number, unknown]).filter(([offset]) => offset >= from && !(options.hide_offset_1 && offset === 1 && log.length > 2));
        }
        return { type: 'poll_ok', msgs };
      }
      case 'commit_offsets':
        for (const [key, offset] of Object.entries(body.offsets as Record<string, number>)) committed.set(key, Math.max(committed.get(key) ?? 0, offset));
        return { type: 'commit_offsets_ok' };
      case 'list_committed_offsets':
        return { type: 'list_committed_offsets_ok', offsets: Object.fromEntries((body.keys as string[]).filter((k) => committed.has(k)).map((k) => [k, committed.get(k)!])) };
      default:
        return { type: 'error', code: 10, text: `unsupported: ${body.type}` };
    }
  };
  const transport: ClientTransport = {
    request: async (_client, _dest, body) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return answer(body);
    },
    leader: () => null,
    upNodes: () => ['n1'],
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
  const status = { nodes: [{ id: 'n1', status: 'up' }], faults: [], active_faults: {}, links: [] } as unknown as ClusterStatus;
  const host: RunHost = {
    transport,
    apply: async () => ({ ok: true, description: 'nothing' }) as never,
    status: () => status,
    events: { subscribe: () => () => {}, emit: () => undefined },
  };
  return { host, sends: () => sends };
}

const dir = mkdtempSync(path.join(tmpdir(), 'dslab-kafka-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(hide_offset_1: boolean, name: string) {
  const kafka = memoryKafka({ hide_offset_1 });
  const history_file = path.join(dir, `${name}.jsonl`);
  const outcome = await new MaelstromRun(kafka.host, {
    workload: 'kafka',
    nodes: ['n1'],
    concurrency: 2,
    time_limit_s: 1.5,
    rate_per_s: 200,
    latency_ms: 0,
    nemesis: [],
    nemesis_interval_s: 10,
    key_count: 2,
    max_writes_per_key: 3,
    seed: 7,
    recovery_wait_s: 0,
    history_file,
  }).run();
  return { outcome, history_file, sends: kafka.sends() };
}

describe('dslab test -w kafka on an in-memory kafka', () => {
  it('finds a correct kafka valid, every final client having polled to the end of every key', async () => {
    const { outcome, history_file, sends } = await run(false, 'correct');
    expect(sends).toBeGreaterThan(20);
    expect(outcome.check.result).toBe('valid');
    const f = (name: string) => outcome.entries.filter((e) => e.f === name && !e.final);
    expect(f('send').length).toBeGreaterThan(20);
    // --max-writes-per-key: no key took more than 3 sends; the pool moved on to fresh keys.
    const sendsPerKey = new Map<string, number>();
    for (const e of f('send')) sendsPerKey.set((e.value as { key: string }).key, (sendsPerKey.get((e.value as { key: string }).key) ?? 0) + 1);
    expect(Math.max(...sendsPerKey.values())).toBeLessThanOrEqual(3);
    expect(sendsPerKey.size).toBeGreaterThan(4);
    expect(f('poll').some((e) => e.outcome === 'ok' && Object.values(e.result as object).some((pairs) => (pairs as unknown[]).length > 0))).toBe(true);
    // The final phase: fresh clients assign every key from the beginning and poll.
    const final = outcome.entries.filter((e) => e.final);
    expect(final.filter((e) => e.f === 'assign').length).toBeGreaterThanOrEqual(2);
    expect(final.some((e) => e.f === 'poll' && e.outcome === 'ok')).toBe(true);
    const finalClients = new Set(final.map((e) => e.client));
    expect(finalClients.size).toBeGreaterThanOrEqual(2);
    const lastOffset = new Map<string, number>();
    for (const e of f('send')) if (e.outcome === 'ok') lastOffset.set((e.value as { key: string }).key, Math.max(lastOffset.get((e.value as { key: string }).key) ?? -1, e.result as number));
    for (const client of finalClients) {
      const reached = new Map<string, number>();
      for (const e of final) if (e.client === client && e.f === 'poll' && e.outcome === 'ok') for (const [key, pairs] of Object.entries(e.result as Record<string, [number, unknown][]>)) for (const [offset] of pairs) reached.set(key, Math.max(reached.get(key) ?? -1, offset));
      for (const [key, offset] of lastOffset) expect(reached.get(key), `${client} on key ${key}`).toBeGreaterThanOrEqual(offset);
    }
    expect(outcome.problems).toEqual([]);
    // The history file says the same to `dslab check`.
    const lines = readFileSync(history_file, 'utf8').trim().split('\n');
    expect(JSON.parse(lines[0]!)).toEqual({ type: 'workload', workload: 'kafka' });
    expect(lines.length).toBe(outcome.entries.length + 1);
    expect(checkKafkaFile(history_file).result).toBe('valid');
  }, 60_000);

  it('finds a kafka that hides an acknowledged message invalid, naming lost writes', async () => {
    const { outcome } = await run(true, 'lossy');
    expect(outcome.check.result).toBe('invalid');
    const kinds = (outcome.check.details as KafkaCheckDetails).anomalies.map((a) => a.kind);
    expect(kinds).toContain('lost-write');
    expect(outcome.check.text).toMatch(/lost writes/);
  }, 60_000);
});
