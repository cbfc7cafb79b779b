/**
 * A realistic run for the report's tests: an invalid broadcast run on five
 * nodes with a partition and a kill, two failure points, a few thousand
 * history lines and a trace, written into a run folder as the runner leaves it.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TraceRecord } from '../../src/lib/report/trace-file.js';
import { parseTestArgs } from '../../src/maelstrom/options.js';
import { type FailurePoint, type RunHistoryEntry, run_files, test_run_format, type TestRunResult } from '../../src/maelstrom/run/result.js';

/** When the fabricated run began, in epoch ms. */
export const t0 = 1_700_000_000_000;
/** Text a node put in a message that would end a <script> element and run its own, if the page let it. */
export const hostile_text = '</script><script>alert(1)</script>';

export const partition = { from_ms: 5000, to_ms: 9000 };
export const kill = { from_ms: 12_000, to_ms: 13_000, node: 'n3' };
export const main_phase_end_ms = 20_000;
export const end_ms = 31_000;
export const history_ops = 3000;
/** ms between operations' calls. */
const call_step_ms = 6;
/** ms between node-to-node gossip messages in the trace, and between client requests. */
const gossip_step_ms = 40;
const client_step_ms = 100;

export const failures: FailurePoint[] = [
  { at_ms: 6020, description: 'broadcast of 17 acknowledged by n1, never seen by any read after healing', endpoints: ['c12', 'n1'] },
  { at_ms: 12_510, description: `n3 answered error 13 with "${hostile_text}"`, endpoints: ['n3', 'c13'] },
];

function plan(): TestRunResult['plan'] {
  const parsed = parseTestArgs(['-w', 'broadcast', '--bin', './node.py', '--node-count', '5', '--time-limit', '20', '--rate', '100', '--latency', '100', '--nemesis', 'partition,kill']);
  if (parsed.kind !== 'plan') throw new Error('the fixture plan did not parse');
  return parsed.plan;
}

const inPartition = (ms: number) => ms >= partition.from_ms && ms < partition.to_ms;
const inKill = (ms: number) => ms >= kill.from_ms && ms < kill.to_ms;

export function fixtureHistory(): RunHistoryEntry[] {
  const entries: RunHistoryEntry[] = [];
  for (let i = 0; i < history_ops; i++) {
    const call_ms = 5 + i * call_step_ms;
    const node = `n${i % 5}`;
    const client = `c${11 + (i % 5)}`;
    const f = i % 3 === 0 ? 'read' : 'add';
    const latency = 1 + ((i * 37) % 220);
    if (inKill(call_ms) && node === kill.node) {
      entries.push({ client, node, f, value: i, call_ms, return_ms: null, outcome: 'unknown', error: 0 });
    } else if (inPartition(call_ms) && i % 4 === 0) {
      entries.push({ client, node, f, value: i, call_ms, return_ms: call_ms + latency, outcome: 'fail', error: 11 });
    } else {
      entries.push({ client, node, f, value: f === 'add' ? i : undefined, result: f === 'read' ? [1, 2, 3] : undefined, call_ms, return_ms: call_ms + latency, outcome: 'ok' });
    }
  }
  for (let c = 0; c < 5; c++) {
    const call_ms = end_ms - 500 + c * 10;
    entries.push({ client: `c${11 + c}`, node: `n${c}`, f: 'read', result: [1, 2], call_ms, return_ms: call_ms + 3, outcome: 'ok', final: true });
  }
  return entries;
}

/** The trace: node-to-node gossip (dropped across the partition, and to or from n3 while it is down) and clients' requests and replies. */
export function fixtureTrace(): TraceRecord[] {
  const records: TraceRecord[] = [];
  let msg_id = 0;
  for (let ms = 0; ms < end_ms; ms += gossip_step_ms) {
    const k = ms / gossip_step_ms;
    const src = `n${k % 5}`;
    const dest = `n${(k + 2) % 5}`;
    const crossesPartition = inPartition(ms) && (src === 'n0' || src === 'n1') !== (dest === 'n0' || dest === 'n1');
    const fate = crossesPartition ? 'dropped:partition' : inKill(ms) && (src === kill.node || dest === kill.node) ? 'dropped:loss' : 'delivered';
    records.push({ t: t0 + ms, fate, msg: { src, dest, body: { type: 'gossip', msg_id: ++msg_id, messages: [k] } } });
  }
  for (let ms = 10; ms < end_ms; ms += client_step_ms) {
    const k = Math.round(ms / client_step_ms);
    const client = `c${11 + (k % 5)}`;
    const node = `n${k % 5}`;
    const id = ++msg_id;
    records.push({ t: t0 + ms, fate: 'delivered', msg: { src: client, dest: node, body: { type: 'broadcast', msg_id: id, message: k } } });
    // n3's answer while killed is the error a node would give; it carries text that must stay text.
    const body = inKill(ms) && node === kill.node ? { type: 'error', in_reply_to: id, code: 13, text: hostile_text } : { type: 'broadcast_ok', in_reply_to: id };
    records.push({ t: t0 + ms + 2, fate: 'delivered', msg: { src: node, dest: client, body } });
  }
  return records.sort((a, b) => a.t - b.t);
}

export function fixtureResult(dir: string, history: readonly RunHistoryEntry[]): TestRunResult {
  const count = (f: string, outcome?: RunHistoryEntry['outcome']) => history.filter((e) => e.f === f && (outcome === undefined || e.outcome === outcome)).length;
  const quantiles = { '0': 1, '0.5': 110, '0.95': 209, '0.99': 218, '1': 220 };
  const seconds = new Map<number, { ok: number; fail: number; unknown: number }>();
  for (const e of history) {
    const second = Math.floor((e.return_ms ?? e.call_ms) / 1000);
    const s = seconds.get(second) ?? { ok: 0, fail: 0, unknown: 0 };
    s[e.outcome] += 1;
    seconds.set(second, s);
  }
  const net = (send: number, per: number | null) => ({ send_count: send, recv_count: send - 40, msg_count: send, msgs_per_op: per });
  return {
    format: test_run_format,
    plan: plan(),
    seed: 7,
    run_index: 1,
    started_at_ms: t0,
    main_phase_end_ms,
    end_ms,
    nodes: ['n0', 'n1', 'n2', 'n3', 'n4'],
    verdict: 'invalid',
    headline: '3 of 2000 broadcasts were lost: 17, 203, 388, never seen by any read after healing',
    reasons: ['msgs-per-op 41.2 (servers)', 'median stable latency 380 ms, max 1.9 s'],
    warnings: ['--nemesis kill: a dslab extension, not in Maelstrom'],
    checks: [
      { name: 'set', result: 'invalid', text: `3 lost: 17, 203, 388\nn3 said: ${hostile_text}`, details: {} },
      { name: 'availability', result: 'valid', text: 'not checked', details: {} },
    ],
    operations: ['add', 'read'].map((f) => ({ f, count: count(f), ok: count(f, 'ok'), fail: count(f, 'fail'), unknown: count(f, 'unknown'), latency_ms: quantiles })),
    availability: history.filter((e) => e.outcome === 'ok').length / history.length,
    net: { all: net(9000, 3), clients: net(6000, null), servers: net(3000, 1) },
    faults: [
      { kind: 'partition', description: 'partition {n0,n1} | {n2,n3,n4}', start_ms: partition.from_ms, end_ms: partition.to_ms, source: 'nemesis' },
      { kind: 'kill', description: 'killed n3', start_ms: kill.from_ms, end_ms: kill.to_ms, source: 'nemesis' },
      // A description is drawn from the page's JSON block: hostile text must come through it as text.
      { kind: 'other', description: `latency from a dslab command: ${hostile_text}`, start_ms: 15_000, end_ms: null, source: 'cli' },
    ],
    failures,
    timeline: [...seconds.entries()].map(([second, s]) => ({ second, ...s, latency_ms_median: 110, latency_ms_max: 220 })),
    dir,
    files: {
      results: path.join(dir, run_files.results),
      history: path.join(dir, run_files.history),
      trace: path.join(dir, run_files.trace),
      report: path.join(dir, run_files.report),
      node_logs: path.join(dir, run_files.node_logs),
    },
  };
}

/** Writes results.json, history.jsonl (header first) and trace.jsonl into `dir`, as the runner does. */
export function writeFixtureRun(dir: string): { result: TestRunResult; history: RunHistoryEntry[]; trace: TraceRecord[] } {
  const history = fixtureHistory();
  const trace = fixtureTrace();
  const result = fixtureResult(dir, history);
  writeFileSync(path.join(dir, run_files.results), JSON.stringify(result, null, 2));
  writeFileSync(path.join(dir, run_files.history), [JSON.stringify({ type: 'workload', workload: 'broadcast' }), ...history.map((e) => JSON.stringify(e))].join('\n') + '\n');
  writeFileSync(path.join(dir, run_files.trace), trace.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return { result, history, trace };
}
