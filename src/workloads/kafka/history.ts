/**
 * Histories of Maelstrom's kafka workload: a header line naming the workload,
 * then one JSON line per completed client operation (RunHistoryEntry's
 * fields), in the order they completed:
 *
 *   {"type":"workload","workload":"kafka"}
 *   {"client":"c1","node":"n1","f":"send","value":{"key":"3","msg":7},"result":12,"call_ms":4.1,"return_ms":6.3,"outcome":"ok"}
 *   {"client":"c2","node":"n2","f":"poll","value":{"offsets":{"3":10}},"result":{"3":[[10,5],[12,7]]},"call_ms":7,"return_ms":9.5,"outcome":"ok"}
 *   {"client":"c2","node":"n2","f":"assign","value":{"keys":["3","4"]},"result":{"committed":{"3":12},"positions":{"3":13,"4":0}},"call_ms":10,"return_ms":11,"outcome":"ok"}
 *   {"client":"c4","node":"n1","f":"crash","call_ms":12,"return_ms":null,"outcome":"unknown"}
 *
 * By `f`:
 * - send: `value` {key, msg} is what was sent; `result` the offset send_ok gave (ok only).
 * - poll: `value` {offsets} is where the client asked each key to start; `result` is poll_ok's msgs,
 *   key → [[offset, msg], …]. The client commits what it polled right after (Maelstrom's client does
 *   both in one operation), so the outcome is the pair's: a poll whose commit then failed keeps the
 *   msgs it got in `result` (they still say what the log held), but is not ok.
 * - commit_offsets: `value` {offsets}; no result.
 * - list_committed_offsets: `value` {keys}; `result` the offsets it answered.
 * - assign: `value` {keys, seek_to_beginning?}; `result` {committed, positions}: what
 *   list_committed_offsets answered (absent with seek_to_beginning, which asks nothing), and the
 *   positions the client polls from next: a key it already held keeps its position, another starts
 *   at its committed offset, or 0 (all at 0 with seek_to_beginning).
 * - crash: the client is thrown away (outcome unknown), as Jepsen's kafka test crashes its clients now
 *   and then; the next operation runs as a new client with no keys assigned.
 * Keys are strings (JSON object keys), offsets whole numbers, msgs any JSON value (the generator's are
 * whole numbers unique within their key). Times are ms since the run began; return_ms is null when no
 * answer came; `final` marks the final phase's operations.
 *
 * This module turns such lines into columns (typed arrays, one row per operation and one per message
 * a poll returned) so a history of a million messages checks in bounded memory.
 */
import { forEachHistoryRecord } from '../../lib/history-lines.js';

export const kafka_functions = ['send', 'poll', 'commit_offsets', 'list_committed_offsets', 'assign', 'crash'] as const;
export type KafkaFunction = (typeof kafka_functions)[number];

/** What a send sends. */
export interface SendValue {
  key: string;
  msg: unknown;
}
/** key → [[offset, msg], …], as poll_ok carries it. */
export type PolledMsgs = Record<string, [number, unknown][]>;

/** A history line longer than this is refused (a poll of many messages is long, but not this long). */
export const kafka_line_chars_max = 64 * 1024 * 1024;
/** Operations a history may hold. */
export const kafka_ops_max = 10_000_000;

const outcome_codes = { ok: 0, fail: 1, unknown: 2 } as const;
export type OutcomeCode = 0 | 1 | 2;
export const outcome_ok: OutcomeCode = 0;
export const outcome_fail: OutcomeCode = 1;
export const outcome_unknown: OutcomeCode = 2;

const function_codes: Record<KafkaFunction, number> = { send: 0, poll: 1, commit_offsets: 2, list_committed_offsets: 3, assign: 4, crash: 5 };
export const f_send = 0;
export const f_poll = 1;
export const f_assign = 4;

/** A growable column of numbers. */
class Column<A extends Float64Array | Int32Array | Uint8Array> {
  length = 0;
  constructor(
    public data: A,
    private readonly make: (n: number) => A,
  ) {}
  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = this.make(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }
}
const f64 = () => new Column(new Float64Array(1024), (n) => new Float64Array(n));
const i32 = () => new Column(new Int32Array(1024), (n) => new Int32Array(n));
const u8 = () => new Column(new Uint8Array(1024), (n) => new Uint8Array(n));

/**
 * Msgs as numbers: a whole number from 0 to 2^53 stands for itself; any other JSON value gets a
 * negative code (−1 for the first such value seen, −2 for the next), its text kept once.
 */
export class MsgCodes {
  private readonly codes = new Map<string, number>();
  private readonly texts: string[] = [];
  code(msg: unknown): number {
    if (typeof msg === 'number' && Number.isSafeInteger(msg) && msg >= 0) return msg;
    const text = JSON.stringify(msg) ?? 'null';
    let code = this.codes.get(text);
    if (code === undefined) {
      this.texts.push(text);
      code = -this.texts.length;
      this.codes.set(text, code);
    }
    return code;
  }
  text(code: number): string {
    return code >= 0 ? String(code) : this.texts[-code - 1]!;
  }
}

/** A history as columns. Row i of the op columns is the i-th operation; polls' messages are rows of the pair columns. */
export class KafkaHistory {
  readonly keys = new Map<string, number>();
  readonly key_names: string[] = [];
  readonly msgs = new MsgCodes();
  readonly clients = new Map<string, number>();
  readonly client_names: string[] = [];
  /** Per operation. */
  readonly op_client = i32();
  readonly op_f = u8();
  readonly op_outcome = u8();
  readonly op_call = f64();
  /** NaN: no answer. */
  readonly op_return = f64();
  readonly op_final = u8();
  /** A send's key, or −1. */
  readonly op_key = i32();
  /** A send's msg code. */
  readonly op_msg = f64();
  /** A send's offset (ok sends), else NaN. */
  readonly op_offset = f64();
  /** A poll's first pair row (pairs of one poll are contiguous, grouped by key); the next row's start ends it. */
  readonly op_pair_start = i32();
  /** An assign's keys, by operation row (assigns are few). */
  readonly assign_keys = new Map<number, number[]>();
  /** What list_committed_offsets answered an ok assign: key → offset, by operation row. */
  readonly assign_committed = new Map<number, Map<number, number>>();
  /** Per message a poll returned. */
  readonly pair_key = i32();
  readonly pair_offset = f64();
  readonly pair_msg = f64();
  /** Where each operation came from (its 1-based line, or position among records), for examples. */
  readonly op_line = i32();

  get op_count(): number {
    return this.op_f.length;
  }

  keyId(name: string): number {
    let id = this.keys.get(name);
    if (id === undefined) {
      id = this.key_names.length;
      this.key_names.push(name);
      this.keys.set(name, id);
    }
    return id;
  }

  private clientId(name: string): number {
    let id = this.clients.get(name);
    if (id === undefined) {
      id = this.client_names.length;
      this.client_names.push(name);
      this.clients.set(name, id);
    }
    return id;
  }

  pairEnd(op: number): number {
    return op + 1 < this.op_count ? this.op_pair_start.data[op + 1]! : this.pair_key.length;
  }

  /** Adds one history record (a parsed line or a RunHistoryEntry); throws an Error saying what is wrong with it. */
  add(record: unknown, line: number): void {
    if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new Error('expected a JSON object');
    const r = record as Record<string, unknown>;
    const { client, f, call_ms, return_ms, outcome, value, result, final } = r;
    if (typeof client !== 'string' || client === '') throw new Error('"client" must be a non-empty string');
    if (typeof f !== 'string' || !(kafka_functions as readonly string[]).includes(f)) throw new Error(`"f" must be one of ${kafka_functions.join(', ')} (got ${JSON.stringify(f)})`);
    if (typeof call_ms !== 'number' || !Number.isFinite(call_ms)) throw new Error('"call_ms" must be a finite number');
    if (outcome !== 'ok' && outcome !== 'fail' && outcome !== 'unknown') throw new Error(`"outcome" must be one of ok, fail, unknown (got ${JSON.stringify(outcome)})`);
    if (return_ms !== null && return_ms !== undefined && (typeof return_ms !== 'number' || !Number.isFinite(return_ms))) throw new Error('"return_ms" must be null or a finite number');
    if (outcome !== 'unknown' && typeof return_ms !== 'number') throw new Error(`"return_ms" must be a finite number for outcome ${outcome}`);
    const op = this.op_count;
    this.op_client.push(this.clientId(client));
    this.op_f.push(function_codes[f as KafkaFunction]);
    this.op_outcome.push(outcome_codes[outcome]);
    this.op_call.push(call_ms);
    this.op_return.push(typeof return_ms === 'number' && outcome !== 'unknown' ? return_ms : NaN);
    this.op_final.push(final === true ? 1 : 0);
    this.op_pair_start.push(this.pair_key.length);
    this.op_line.push(line);
    let key = -1;
    let msg = 0;
    let offset = NaN;
    if (f === 'send') {
      const v = value as Partial<SendValue> | undefined;
      if (typeof v !== 'object' || v === null || typeof v.key !== 'string') throw new Error('a send\'s "value" must be {"key": string, "msg": …}');
      key = this.keyId(v.key);
      msg = this.msgs.code(v.msg);
      if (outcome === 'ok') {
        if (typeof result !== 'number' || !Number.isSafeInteger(result)) throw new Error('an ok send\'s "result" must be the whole-number offset send_ok gave');
        offset = result;
      }
    } else if (f === 'poll' && result !== undefined) {
      this.addPolled(result);
    } else if (f === 'assign') {
      const v = value as { keys?: unknown } | undefined;
      if (typeof v !== 'object' || v === null || !Array.isArray(v.keys) || !v.keys.every((k) => typeof k === 'string')) throw new Error('an assign\'s "value" must be {"keys": [string, …]}');
      this.assign_keys.set(op, (v.keys as string[]).map((k) => this.keyId(k)));
      const committed = (result as { committed?: unknown } | undefined)?.committed;
      if (outcome === 'ok' && committed !== undefined) {
        if (typeof committed !== 'object' || committed === null || Array.isArray(committed) || !Object.values(committed).every((o) => typeof o === 'number' && Number.isSafeInteger(o))) throw new Error('an assign\'s "result.committed" must be {key: offset}');
        this.assign_committed.set(op, new Map(Object.entries(committed as Record<string, number>).map(([k, o]) => [this.keyId(k), o])));
      }
    }
    this.op_key.push(key);
    this.op_msg.push(msg);
    this.op_offset.push(offset);
  }

  private addPolled(result: unknown): void {
    if (typeof result !== 'object' || result === null || Array.isArray(result)) throw new Error('a poll\'s "result" must be poll_ok\'s msgs: {key: [[offset, msg], …]}');
    for (const [name, pairs] of Object.entries(result as Record<string, unknown>)) {
      if (!Array.isArray(pairs)) throw new Error(`a poll's msgs for key ${JSON.stringify(name)} must be a list of [offset, msg] pairs`);
      const key = this.keyId(name);
      for (const pair of pairs) {
        if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'number' || !Number.isSafeInteger(pair[0])) throw new Error(`a poll's msgs for key ${JSON.stringify(name)} hold ${JSON.stringify(pair)}, not an [offset, msg] pair`);
        this.pair_key.push(key);
        this.pair_offset.push(pair[0]);
        this.pair_msg.push(this.msgs.code(pair[1]));
      }
    }
  }
}

/** Columns from records in memory (the run's entries); a bad record is an Error naming its position. */
export function historyFromRecords(records: Iterable<unknown>): KafkaHistory {
  const history = new KafkaHistory();
  let index = 0;
  for (const record of records) {
    index++;
    try {
      history.add(record, index);
    } catch (error) {
      throw new Error(`operation ${index}: ${(error as Error).message}`);
    }
  }
  return history;
}

/** Columns from a history file's lines (the header and blank lines skipped); a bad line is a UserError naming it. */
export function historyFromLines(lines: Iterable<string>): KafkaHistory {
  const history = new KafkaHistory();
  forEachHistoryRecord(lines, { line_chars_max: kafka_line_chars_max, records_max: kafka_ops_max }, (record, line) => history.add(record, line));
  return history;
}
