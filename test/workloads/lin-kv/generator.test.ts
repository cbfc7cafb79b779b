import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkHistoryFile, formatCheckResult } from '../../../src/workloads/lin-kv/check-file.js';
import { formatLoadProgress, formatLoadSummary } from '../../../src/cli/format/load.js';
import type { MessageBody } from '../../../src/lib/protocol/messages.js';
import { KvClient, type KvTransport } from '../../../src/workloads/lin-kv/client.js';
import { IndefiniteError, UserError } from '../../../src/lib/util/errors.js';
import { createRng } from '../../../src/lib/util/prng.js';
import type { LoadStats } from '../../../src/lib/load-stats.js';
import { history_declared_keys_per_line, Workload, type LoadOptions, type OperationMix } from '../../../src/workloads/lin-kv/generator.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-load-');

/**
 * A fake single-node cluster holding a real key-value map, so every history it
 * produces is linearizable. It keeps its data between workloads, like a cluster.
 * Every 13th cas is refused with error 14 (abort: a definite failure), and every
 * 11th write is applied but never answered, however often the client retries.
 */
class FakeStore {
  readonly data = new Map<string, unknown>();
  aborted = 0;
  private cas = 0;
  private writes = 0;
  private readonly timedOut = new Set<string>();
  private clock_ms = 0;

  transport(): KvTransport {
    return {
      request: async (_client, _dest, body) => this.answer(body),
      leader: () => 'n1',
      upNodes: () => ['n1'],
      now: () => this.clock_ms,
      sleep: async (ms) => {
        this.clock_ms += ms;
      },
    };
  }

  private answer(body: MessageBody): MessageBody {
    this.clock_ms += 1;
    const key = String(body.key);
    switch (body.type) {
      case 'read':
        return this.data.has(key) ? { type: 'read_ok', value: this.data.get(key) } : { type: 'error', code: 20, text: 'no such key' };
      case 'write': {
        // A retry of the unanswered write is not applied again (a later one would reorder it).
        const attempt = `${String(body.client)}/${String(body.seq)}`;
        if (this.timedOut.has(attempt)) throw new IndefiniteError('timed out');
        this.data.set(key, body.value);
        if (++this.writes % 11 === 0) {
          this.timedOut.add(attempt);
          throw new IndefiniteError('timed out');
        }
        return { type: 'write_ok' };
      }
      case 'cas':
        if (++this.cas % 13 === 0) {
          this.aborted++;
          return { type: 'error', code: 14, text: 'aborted' };
        }
        if (!this.data.has(key)) return { type: 'error', code: 20, text: 'no such key' };
        if (this.data.get(key) !== body.from) return { type: 'error', code: 22, text: 'from does not match' };
        this.data.set(key, body.to);
        return { type: 'cas_ok' };
      default:
        throw new Error(`unexpected ${body.type}`);
    }
  }
}

async function runLoad(store: FakeStore, options: Partial<LoadOptions> & { history_path: string }, seed = 1): Promise<{ stats: LoadStats; load: Workload }> {
  const transport = store.transport();
  const clients = Array.from({ length: 4 }, (_, i) => new KvClient(transport, `c${i + 1}`, true, `c${i + 1}@${seed}`));
  const load = new Workload(clients, { clients: 4, rate_per_s: 1_000, duration_ms: 300, keys: 3, key_prefix: null, ...options }, createRng(seed));
  load.start();
  return { stats: await load.done, load };
}

const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);

describe('load outcomes', () => {
  it('counts a cas whose from did not match as mismatched and a missing key as not found, apart from real failures', async () => {
    const store = new FakeStore();
    const history = path.join(tempDir(), 'h.jsonl');
    const { stats } = await runLoad(store, { history_path: history });
    const cas = stats.by_function.cas!;
    expect(cas.mismatched).toBeGreaterThan(0);
    expect(cas.not_found).toBeGreaterThan(0);
    // Only the aborted cas ops are failures; the timed-out writes are unknown.
    expect(cas.fail).toBe(store.aborted);
    expect(stats.fail).toBe(store.aborted);
    expect(stats.unknown).toBe(stats.by_function.write!.unknown);
    expect(stats.unknown).toBeGreaterThan(0);
    expect(stats.ok + stats.not_found + stats.mismatched + stats.fail + stats.unknown).toBe(stats.completed);
    // The latency now, of the answers of the last seconds (all of this short load's): what the dashboard shows while it runs.
    expect(stats.recent_latency_ms).toEqual({ p50: expect.any(Number), p99: expect.any(Number) });
    expect(stats.recent_latency_ms!.p99).toBeGreaterThanOrEqual(stats.recent_latency_ms!.p50);

    // In the history a mismatched cas is a definite failure with its code, for the checker.
    const ops = lines(history).filter((line) => line.f === 'cas' && line.outcome === 'fail');
    expect(ops.filter((op) => op.error === 22)).toHaveLength(cas.mismatched);
    expect(ops.filter((op) => op.error === 14)).toHaveLength(store.aborted);
    expect(checkHistoryFile(history, 10_000).result).toBe('valid');

    const summary = formatLoadSummary(stats);
    const header = summary.split('\n').find((line) => line.startsWith('OP'))!.split(/\s{2,}/);
    const casRow = summary.split('\n').find((line) => line.startsWith('cas'))!.split(/\s+/);
    expect(header).toEqual(['OP', 'OK', 'NOT FOUND', 'MISMATCHED', 'FAILED', 'UNKNOWN']);
    expect(casRow).toEqual(['cas', String(cas.ok), String(cas.not_found), String(cas.mismatched), String(cas.fail), String(cas.unknown)]);
    expect(formatLoadProgress(stats)).toContain(`mismatched ${stats.mismatched}; failed ${stats.fail}, unknown ${stats.unknown}`);
  });
});

describe('load keys', () => {
  it('uses fresh keys each run and declares them fresh, so a second run on the same data checks valid', async () => {
    const store = new FakeStore();
    const dir = tempDir();
    const first = await runLoad(store, { history_path: path.join(dir, 'h1.jsonl') }, 1);
    const second = await runLoad(store, { history_path: path.join(dir, 'h2.jsonl') }, 1);
    expect(first.load.keys_fresh).toBe(true);
    expect(second.load.key_prefix).not.toBe(first.load.key_prefix);

    const [declaration, ...ops] = lines(path.join(dir, 'h2.jsonl'));
    expect(declaration).toEqual({ type: 'keys', keys: [0, 1, 2].map((i) => `${second.load.key_prefix}${i}`), fresh: true });
    expect(ops.every((op) => typeof op.key === 'string' && op.key.startsWith(second.load.key_prefix))).toBe(true);
    const check = checkHistoryFile(path.join(dir, 'h2.jsonl'), 10_000);
    expect(check).toMatchObject({ result: 'valid', declares_keys: true, keys_starting_absent: 3, keys_starting_unknown: 0 });
  });

  it('reuses keys under a given prefix, declares them not fresh, and the check then allows any starting value', async () => {
    const store = new FakeStore();
    const dir = tempDir();
    await runLoad(store, { history_path: path.join(dir, 'h1.jsonl'), key_prefix: 'k' });
    // Reads only, so every read sees what the first run left.
    const readsOnly: OperationMix = { read: 1, write: 0, cas: 0 };
    const second = await runLoad(store, { history_path: path.join(dir, 'h2.jsonl'), key_prefix: 'k', mix: readsOnly }, 2);
    expect(second.load).toMatchObject({ key_prefix: 'k', keys_fresh: false });
    const [declaration, ...ops] = lines(path.join(dir, 'h2.jsonl'));
    expect(declaration).toEqual({ type: 'keys', keys: ['k0', 'k1', 'k2'], fresh: false });
    expect(ops.some((op) => op.result !== null)).toBe(true);
    const check = checkHistoryFile(path.join(dir, 'h2.jsonl'), 10_000);
    expect(check).toMatchObject({ result: 'valid', keys_starting_unknown: 3 });
    expect(formatCheckResult(check)).toMatch(/^valid: linearizable .*each started with an unknown value/);

    // Without its declaration the same history reads as a fresh start, and the values read are never written.
    const undeclared = path.join(dir, 'undeclared.jsonl');
    writeFileSync(undeclared, ops.map((op) => JSON.stringify(op)).join('\n'));
    const wrong = checkHistoryFile(undeclared, 10_000);
    expect(wrong.result).toBe('invalid');
    expect(formatCheckResult(wrong)).toMatch(/ever wrote .*\nThe history declares no keys, so each key was assumed to start absent/);
  });

  it('declares many keys over several bounded lines', async () => {
    const history = path.join(tempDir(), 'h.jsonl');
    const keys = history_declared_keys_per_line * 2 + 5;
    await runLoad(new FakeStore(), { history_path: history, keys });
    const declarations = lines(history).filter((line) => line.type === 'keys');
    expect(declarations.map((line) => (line.keys as string[]).length)).toEqual([history_declared_keys_per_line, history_declared_keys_per_line, 5]);
    expect(new Set(declarations.flatMap((line) => line.keys as string[])).size).toBe(keys);
  });

  it('refuses an empty or overlong key prefix, and a history file it cannot write, before starting', () => {
    const options = { clients: 1, rate_per_s: 1, duration_ms: 100, keys: 1, history_path: null };
    expect(() => new Workload([], { ...options, key_prefix: '' }, createRng(1))).toThrow(UserError);
    expect(() => new Workload([], { ...options, key_prefix: 'x'.repeat(65) }, createRng(1))).toThrow(/at most 64/);
    // Before, the open failed later in the background and the unhandled error took the supervisor down.
    const missing = path.join(tempDir(), 'no-such-folder', 'h.jsonl');
    expect(() => new Workload([], { ...options, key_prefix: null, history_path: missing }, createRng(1))).toThrow(/^cannot write the history to .*no-such-folder.*ENOENT/);
  });
});
