/**
 * What `dslab test` does for each of Maelstrom's workloads: the operations
 * its generator draws, how one is sent (once, Maelstrom's client semantics),
 * whether the run ends with a final read per client, and which checker judges
 * the history. The workloads' own modules hold the clients and checkers; this
 * puts them in one shape for the runner.
 */
import type { ClientTransport, HistoryFileCheck } from '../../lib/plugin.js';
import type { Rng } from '../../lib/util/prng.js';
import { broadcast_operations } from '../../workloads/broadcast/client.js';
import { checkCounterFile } from '../../workloads/counter/checker.js';
import { g_set_operations } from '../../workloads/g-set/client.js';
import { counterOperations } from '../../workloads/pn-counter/client.js';
import { checkSetFile } from '../../workloads/set/checker.js';
import { performOperation, type AddReadWorkload } from '../../workloads/single-send/generator.js';
import { historyEntry } from '../../workloads/single-send/history.js';
import { sendOnce, type SingleSendKind } from '../../workloads/single-send/send.js';
import { checkLinKvEntries } from './lin-kv-check.js';
import { checkTxnLines } from '../../workloads/txn/check-file.js';
import { key_count_default, TxnGenerator } from '../../workloads/txn/generator.js';
import type { FinalPhaseContext } from './final-phase.js';
import { kafkaDriver } from './kafka-driver.js';
import type { MaelstromWorkload } from '../options.js';
import type { RunHistoryEntry } from './result.js';

/** One operation a client is to perform: its function and what it sends. */
export interface RunOperation {
  f: string;
  value?: unknown;
}

export interface OperationSource {
  next(): RunOperation;
}

/** The settings a driver's generator and checker read. */
export interface DriverSettings {
  nodes: readonly string[];
  concurrency: number;
  key_count: number | null;
  max_txn_length: number;
  max_writes_per_key: number;
  /** The models the transactional workloads are checked against. */
  consistency_models: readonly string[];
}

export interface WorkloadDriver {
  workload: MaelstromWorkload;
  /** The run's operations, one source shared by every client (so elements and keys stay unique where they must). */
  operations(rng: Rng, settings: DriverSettings): OperationSource;
  /** Performs `op` once as `client` on `node` and returns its history line (times relative to origin_ms). */
  perform(transport: ClientTransport, client: string, node: string, op: RunOperation, timeout_ms: number, origin_ms: number, final: boolean): Promise<RunHistoryEntry>;
  /** After healing, each client performs this once (Maelstrom's final generator); absent: no final phase. */
  final_operation?: RunOperation;
  /** Instead of final_operation: the workload's own final phase after healing (kafka polls until caught up). */
  final_phase?(ctx: FinalPhaseContext): Promise<void>;
  /** Judges the history file the run wrote (and its entries, for drivers that need them in memory). */
  check(history_file: string, entries: readonly RunHistoryEntry[], check_timeout_ms: number, settings: DriverSettings): HistoryFileCheck;
  /** The operations whose latencies the verdict quotes first ("add", "echo"). */
  headline_functions: readonly string[];
}

/** Broadcast, g-set and the counters: adds and reads, sent once each (src/workloads/single-send). */
function addReadDriver(workload: MaelstromWorkload, operations: AddReadWorkload, check: (file: string) => HistoryFileCheck): WorkloadDriver {
  return {
    workload,
    operations: (rng) => operations.operations(rng),
    perform: (transport, client, node, op, timeout_ms, origin_ms, final) =>
      performOperation(operations, transport, client, node, op.f === 'add' ? { f: 'add', value: op.value } : { f: 'read' }, timeout_ms, origin_ms, final),
    final_operation: { f: 'read' },
    check: (file) => check(file),
    headline_functions: ['add', 'read'],
  };
}

/** A request sent once, recorded as `f` with what it sent and what the reply's `field` held. */
async function sendRecorded(
  transport: ClientTransport,
  client: string,
  node: string,
  request: { f: string; body: Record<string, unknown>; expect: string; kind: SingleSendKind; field?: string; value?: unknown },
  timeout_ms: number,
  origin_ms: number,
): Promise<RunHistoryEntry> {
  const done = await sendOnce(transport, client, node, { type: request.body.type as string, ...request.body }, request.expect, request.kind, timeout_ms);
  return historyEntry(client, request.f, done, origin_ms, {
    ...(request.value !== undefined ? { value: request.value } : {}),
    ...(request.field ? { answer: done.reply?.[request.field] } : {}),
  });
}

/** Maelstrom's echo payloads: "Please echo " and a number below this. */
export const echo_payload_numbers = 128;

const echo_driver: WorkloadDriver = {
  workload: 'echo',
  operations: (rng) => ({ next: () => ({ f: 'echo', value: `Please echo ${rng.int(echo_payload_numbers)}` }) }),
  perform: (transport, client, node, op, timeout_ms, origin_ms) =>
    // Every timeout is indeterminate (Maelstrom treats no echo operation as idempotent).
    sendRecorded(transport, client, node, { f: 'echo', body: { type: 'echo', echo: op.value }, expect: 'echo_ok', kind: 'add', field: 'echo', value: op.value }, timeout_ms, origin_ms),
  check: (_file, entries) => checkEchoes(entries),
  headline_functions: ['echo'],
};

const unique_ids_driver: WorkloadDriver = {
  workload: 'unique-ids',
  operations: () => ({ next: () => ({ f: 'generate' }) }),
  perform: (transport, client, node, _op, timeout_ms, origin_ms) =>
    sendRecorded(transport, client, node, { f: 'generate', body: { type: 'generate' }, expect: 'generate_ok', kind: 'add', field: 'id' }, timeout_ms, origin_ms),
  check: (_file, entries) => checkUniqueIds(entries),
  headline_functions: ['generate'],
};

/** lin-kv's register values: integers below this, as Maelstrom draws them. */
export const lin_kv_values = 5;
/** Operations on one key before the generator moves to the next (Jepsen's per-key limit for independent registers). */
export const lin_kv_ops_per_key = 100;

const lin_kv_driver: WorkloadDriver = {
  workload: 'lin-kv',
  operations: (rng, settings) => {
    // Keys in turn, each for lin_kv_ops_per_key operations (with --key-count, that many keys round-robin, each for the whole run).
    let count = 0;
    return {
      next: () => {
        const key = settings.key_count !== null ? count % settings.key_count : Math.floor(count / lin_kv_ops_per_key);
        count++;
        const draw = rng.int(3);
        if (draw === 0) return { f: 'read', value: { key } };
        if (draw === 1) return { f: 'write', value: { key, value: rng.int(lin_kv_values) } };
        return { f: 'cas', value: { key, from: rng.int(lin_kv_values), to: rng.int(lin_kv_values) } };
      },
    };
  },
  perform: (transport, client, node, op, timeout_ms, origin_ms) => {
    const args = op.value as Record<string, unknown>;
    // Only a read is idempotent: its timeout is a failure; a write's or cas's is indeterminate.
    if (op.f === 'read') return sendRecorded(transport, client, node, { f: 'read', body: { type: 'read', ...args }, expect: 'read_ok', kind: 'read', field: 'value', value: args }, timeout_ms, origin_ms);
    return sendRecorded(transport, client, node, { f: op.f, body: { type: op.f, ...args }, expect: `${op.f}_ok`, kind: 'add', value: args }, timeout_ms, origin_ms);
  },
  check: (_file, entries, timeout_ms) => checkLinKvEntries(entries, timeout_ms),
  headline_functions: ['read', 'write', 'cas'],
};

/** Transactions sent once each (`txn` → `txn_ok`); every timeout is indeterminate, as no transaction is idempotent to Maelstrom. */
function txnDriver(workload: 'txn-list-append' | 'txn-rw-register'): WorkloadDriver {
  const kind = workload === 'txn-list-append' ? 'list-append' : 'rw-register';
  return {
    workload,
    operations: (rng, settings) => {
      const generator = new TxnGenerator(rng, { write: kind === 'list-append' ? 'append' : 'w', key_count: settings.key_count ?? key_count_default, max_txn_length: settings.max_txn_length, max_writes_per_key: settings.max_writes_per_key });
      return { next: () => ({ f: 'txn', value: generator.next() }) };
    },
    perform: (transport, client, node, op, timeout_ms, origin_ms) => sendRecorded(transport, client, node, { f: 'txn', body: { type: 'txn', txn: op.value }, expect: 'txn_ok', kind: 'add', field: 'txn', value: op.value }, timeout_ms, origin_ms),
    check: (_file, entries, timeout_ms, settings) => checkTxnLines(entries, kind, settings.consistency_models, timeout_ms),
    headline_functions: ['txn'],
  };
}

export function driverFor(workload: MaelstromWorkload): WorkloadDriver | null {
  switch (workload) {
    case 'broadcast':
      return addReadDriver('broadcast', broadcast_operations, (file) => checkSetFile(file, { noun: 'broadcast' }));
    case 'g-set':
      return addReadDriver('g-set', g_set_operations, (file) => checkSetFile(file));
    case 'g-counter':
      return addReadDriver('g-counter', counterOperations('g-counter'), checkCounterFile);
    case 'pn-counter':
      return addReadDriver('pn-counter', counterOperations('pn-counter'), checkCounterFile);
    case 'echo':
      return echo_driver;
    case 'unique-ids':
      return unique_ids_driver;
    case 'lin-kv':
      return lin_kv_driver;
    case 'txn-list-append':
    case 'txn-rw-register':
      return txnDriver(workload);
    case 'kafka':
      return kafkaDriver();
    default:
      return null;
  }
}

/** Examples a checker's words quote at most. */
export const examples_max = 5;

/** Echo: every ok reply must carry back exactly what was sent. */
export function checkEchoes(entries: readonly RunHistoryEntry[]): HistoryFileCheck {
  const ok = entries.filter((e) => e.f === 'echo' && e.outcome === 'ok');
  const wrong = ok.filter((e) => JSON.stringify(e.result) !== JSON.stringify(e.value));
  if (wrong.length > 0) {
    const examples = wrong.slice(0, examples_max).map((e) => `${e.node} answered ${JSON.stringify(e.value)} with ${JSON.stringify(e.result) ?? 'no echo field'}`);
    return { result: 'invalid', text: `${wrong.length} of ${ok.length} echoes came back different: ${examples.join('; ')}`, details: { ok: ok.length, wrong: wrong.length, examples } };
  }
  if (ok.length === 0) return { result: 'unknown', text: 'no echo came back ok, so nothing could be checked', details: { ok: 0, wrong: 0 } };
  return { result: 'valid', text: `all ${ok.length} echoes came back as sent`, details: { ok: ok.length, wrong: 0 } };
}

/** Unique ids: no id handed out twice among the ok generates (ids compared as JSON values). */
export function checkUniqueIds(entries: readonly RunHistoryEntry[]): HistoryFileCheck {
  const ok = entries.filter((e) => e.f === 'generate' && e.outcome === 'ok');
  const attempted = entries.filter((e) => e.f === 'generate').length;
  const seen = new Map<string, RunHistoryEntry>();
  const duplicates: string[] = [];
  let duplicated_count = 0;
  let missing = 0;
  for (const entry of ok) {
    if (entry.result === undefined || entry.result === null) {
      missing++;
      continue;
    }
    const key = JSON.stringify(entry.result);
    const first = seen.get(key);
    if (first) {
      duplicated_count++;
      if (duplicates.length < examples_max) duplicates.push(`${key} from ${first.node} (at ${(first.call_ms / 1000).toFixed(1)} s) and again from ${entry.node} (at ${(entry.call_ms / 1000).toFixed(1)} s)`);
    } else seen.set(key, entry);
  }
  const details = { attempted_count: attempted, acknowledged_count: ok.length, duplicated_count, missing_id_count: missing };
  if (duplicated_count > 0) return { result: 'invalid', text: `${duplicated_count} of ${ok.length} ids were handed out more than once: ${duplicates.join('; ')}`, details };
  if (missing > 0) return { result: 'invalid', text: `${missing} generate_ok replies carried no id`, details };
  if (ok.length === 0) return { result: 'unknown', text: 'no generate came back ok, so nothing could be checked', details };
  return { result: 'valid', text: `all ${ok.length} ids are distinct`, details };
}
