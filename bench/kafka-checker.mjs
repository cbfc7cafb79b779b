// Benchmark of the kafka checker (src/workloads/kafka/checker.ts) on a simulated run of one
// million acknowledged sends and the polls that read them. Run `npm run build` first; then
// `node bench/kafka-checker.mjs` (add --expose-gc for steadier heap figures).
//
// The simulated run has Maelstrom's shape: a pool of 10 active keys, each retired after 16
// messages for a fresh one (so a million messages spread over 62,500 keys), clients sending
// and polling one operation at a time, each poll followed by its consumer's next position, and a
// final phase in which two fresh clients poll every key from the beginning. The checker is timed
// both ways it is used: on the run's records in memory (`dslab test`) and on the history file
// (`dslab check`), whose reading and parsing it includes.
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import { checkKafkaFile, checkKafkaRecords } from '../dist/workloads/kafka/checker.js';
import { createRng } from '../dist/lib/util/prng.js';

export const bench_messages = 1_000_000;
export const bench_active_keys = 10;
export const bench_writes_per_key = 16;
export const bench_clients = 10;
export const bench_final_clients = 2;
/** Keys one final poll answers for. */
export const bench_final_poll_keys = 1_000;
export const bench_goal_ms = 30_000;
/** Quick mode (bench/run-all.js --quick): a small run. */
export const sizes_quick = { messages: 20_000 };

/**
 * The records of a correct run: sends get the next offset of their key; each send is followed, half
 * the time, by a poll from a random consumer that returns what is new on the active keys it holds
 * (consumer i holds the pool slots i mod clients).
 */
export function simulateKafkaRun(seed, { messages = bench_messages } = {}) {
  const rng = createRng(seed);
  const records = [];
  let t = 0;
  const tick = () => (t += 0.05 + rng.next() * 0.1);
  const pool = Array.from({ length: bench_active_keys }, (_, i) => i);
  let highest = bench_active_keys - 1;
  const length = new Map();
  const read = new Map();
  const round = (ms) => Math.round(ms * 1000) / 1000;
  const pollBy = (client) => {
    const msgs = {};
    for (let slot = client % bench_clients; slot < pool.length; slot += bench_clients) {
      const key = pool[slot];
      const from = read.get(key) ?? 0;
      const to = length.get(key) ?? 0;
      if (to > from) msgs[String(key)] = Array.from({ length: to - from }, (_, i) => [from + i, from + i + 1]);
      read.set(key, to);
    }
    const call_ms = tick();
    records.push({ client: `c${client}`, node: 'n1', f: 'poll', value: { offsets: {} }, result: msgs, call_ms: round(call_ms), return_ms: round(tick()), outcome: 'ok' });
  };
  for (let m = 0; m < messages; m++) {
    const slot = rng.int(bench_active_keys);
    let key = pool[slot];
    if ((length.get(key) ?? 0) >= bench_writes_per_key && (read.get(key) ?? 0) >= bench_writes_per_key) pool[slot] = key = ++highest;
    else if ((length.get(key) ?? 0) >= bench_writes_per_key) {
      // Read it out before it is retired.
      pollBy(slot % bench_clients);
      pool[slot] = key = ++highest;
    }
    const offset = length.get(key) ?? 0;
    length.set(key, offset + 1);
    const call_ms = tick();
    records.push({ client: `c${rng.int(bench_clients)}`, node: 'n1', f: 'send', value: { key: String(key), msg: offset + 1 }, result: offset, call_ms: round(call_ms), return_ms: round(tick()), outcome: 'ok' });
    if (rng.next() < 0.5) pollBy(rng.int(bench_clients));
  }
  for (let client = 0; client < bench_clients; client++) pollBy(client);
  const keys = [...length.keys()];
  for (let f = 0; f < bench_final_clients; f++) {
    for (let start = 0; start < keys.length; start += bench_final_poll_keys) {
      const msgs = {};
      for (const key of keys.slice(start, start + bench_final_poll_keys)) msgs[String(key)] = Array.from({ length: length.get(key) }, (_, i) => [i, i + 1]);
      const call_ms = tick();
      records.push({ client: `f${f}`, node: 'n1', f: 'poll', value: { offsets: {} }, result: msgs, call_ms: round(call_ms), return_ms: round(tick()), outcome: 'ok', final: true });
    }
  }
  return records;
}

function writeHistory(file, records) {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(file);
    out.on('error', reject);
    out.write(JSON.stringify({ type: 'workload', workload: 'kafka' }) + '\n');
    let i = 0;
    const more = () => {
      while (i < records.length) {
        if (!out.write(JSON.stringify(records[i++]) + '\n')) return void out.once('drain', more);
      }
      out.end(resolve);
    };
    more();
  });
}

const mb = (bytes) => Math.round(bytes / 1024 / 1024);

function timed(check) {
  globalThis.gc?.();
  const before = process.memoryUsage();
  const started_ms = performance.now();
  const started_cpu = process.cpuUsage();
  const result = check();
  const ms = Math.round(performance.now() - started_ms);
  const cpu = process.cpuUsage(started_cpu);
  // Before any collection: the heap V8 grew to (it gives little back at once) and the typed arrays' memory.
  const after = process.memoryUsage();
  const heap_total_mb = mb(getHeapStatistics().total_heap_size);
  if (result.result !== 'valid') throw new Error(`the benchmark history checked ${result.result}: ${result.text}`);
  return { ms, cpu_ms: Math.round((cpu.user + cpu.system) / 1000), heap_before_mb: mb(before.heapUsed), heap_total_after_mb: heap_total_mb, array_buffers_mb: mb(after.arrayBuffers), rss_after_mb: mb(after.rss), details: result.details };
}

export async function measureKafkaChecker({ messages = bench_messages } = {}) {
  let records = simulateKafkaRun(1, { messages });
  const ops = records.length;
  const dir = mkdtempSync(path.join(tmpdir(), 'dslab-bench-kafka-'));
  try {
    const file = path.join(dir, 'history.jsonl');
    await writeHistory(file, records);
    const { details: _, ...memory } = timed(() => checkKafkaRecords(records, 600_000));
    records = null;
    const { details: d, ...file_figures } = timed(() => checkKafkaFile(file, 600_000));
    return { messages: d.sends_ok, ops, keys: d.keys, msgs_polled: d.msgs_polled, memory, file: file_figures };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** For bench/run-all.js: the figures and the line that says them. */
export async function benchmark(quick) {
  const figures = await measureKafkaChecker(quick ? sizes_quick : {});
  return { figures, line: describe(figures) };
}

function describe(f) {
  const side = (x) => `${x.ms} ms (CPU ${x.cpu_ms} ms), heap used before ${x.heap_before_mb} MB, heap size after ${x.heap_total_after_mb} MB + typed arrays ${x.array_buffers_mb} MB, RSS ${x.rss_after_mb} MB`;
  return `kafka checker, ${f.messages} messages on ${f.keys} keys (${f.ops} ops, ${f.msgs_polled} messages polled): records in memory ${side(f.memory)}; history file ${side(f.file)}; goal < ${bench_goal_ms} ms`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log(describe(await measureKafkaChecker()));
