// The key-value state machine the Raft log drives. Pure and deterministic (no I/O, no clock): the same
// commands in the same order give the same results and the same snapshot on every replica.
//
// Semantics follow Maelstrom's lin-kv workload (read / write / cas, error 20 key-does-not-exist and
// 22 precondition-failed), plus delete. Every mutating command carries (client, seq); the last result
// per client is kept in the state machine itself, so a retried command that commits twice takes effect
// once and the dedupe table survives snapshots and restarts.

export const kv_error_malformed_request = 12;
export const kv_error_key_does_not_exist = 20;
export const kv_error_precondition_failed = 22;

/** Clients remembered for exactly-once; the least recently active is forgotten beyond this. */
export const kv_client_sessions_max = 10_000;

export type KvOp =
  | { type: 'read'; key: unknown }
  | { type: 'write'; key: unknown; value: unknown }
  | { type: 'cas'; key: unknown; from: unknown; to: unknown; create_if_not_exists?: boolean }
  | { type: 'delete'; key: unknown };

/** The payload of a log entry. seq grows by one per new request of a client; a retry reuses it. */
export interface KvCommand {
  client: string;
  seq: number;
  op: KvOp;
}

export type KvResult =
  | { type: 'read_ok'; value: unknown }
  | { type: 'write_ok' }
  | { type: 'cas_ok' }
  | { type: 'delete_ok' }
  | { type: 'error'; code: number; text: string };

export interface KvApplied {
  result: KvResult;
  /** The command had already taken effect (a retry); result is the one it had then. */
  duplicate: boolean;
}

export interface KvSnapshot {
  version: 1;
  /** [canonical key, key, value], sorted by canonical key. */
  data: [string, unknown, unknown][];
  /** [client, last seq, its result, last touched], sorted by client. */
  sessions: [string, number, KvResult, number][];
  touch_counter: number;
}

interface Session {
  seq: number;
  result: KvResult;
  touched: number;
}

export class KvStateMachine {
  private readonly data = new Map<string, { key: unknown; value: unknown }>();
  private readonly sessions = new Map<string, Session>();
  private touch_counter = 0;

  /** Apply one committed command. Never throws on bad input: a malformed command in the log gets
   * error 12 on every replica alike. */
  apply(command: unknown): KvApplied {
    if (!isKvCommand(command)) {
      return { result: { type: 'error', code: kv_error_malformed_request, text: 'malformed kv command' }, duplicate: false };
    }
    const session = this.sessions.get(command.client);
    if (session && command.seq <= session.seq) {
      if (command.seq === session.seq) return { result: session.result, duplicate: true };
      // An older request than the last one: its client has moved on and nobody waits for this answer.
      return { result: { type: 'error', code: 14, text: 'stale duplicate request' }, duplicate: true };
    }
    const result = this.execute(command.op);
    this.touch_counter += 1;
    this.sessions.set(command.client, { seq: command.seq, result, touched: this.touch_counter });
    if (this.sessions.size > kv_client_sessions_max) this.evictOldestSession();
    return { result, duplicate: false };
  }

  /** A read of local state (for ReadIndex reads, which do not go through the log). */
  read(key: unknown): KvResult {
    const found = this.data.get(canonicalJson(key));
    if (!found) return notFound(key);
    return { type: 'read_ok', value: found.value };
  }

  /** The value or undefined. */
  get(key: unknown): unknown {
    return this.data.get(canonicalJson(key))?.value;
  }

  get size(): number {
    return this.data.size;
  }

  snapshot(): KvSnapshot {
    const data = [...this.data.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]): [string, unknown, unknown] => [k, v.key, v.value]);
    const sessions = [...this.sessions.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([c, s]): [string, number, KvResult, number] => [c, s.seq, s.result, s.touched]);
    return { version: 1, data, sessions, touch_counter: this.touch_counter };
  }

  static restore(snapshot: KvSnapshot | null | undefined): KvStateMachine {
    const kv = new KvStateMachine();
    if (!snapshot) return kv;
    if (snapshot.version !== 1) throw new Error(`unknown kv snapshot version ${String(snapshot.version)}`);
    for (const [k, key, value] of snapshot.data) kv.data.set(k, { key, value });
    for (const [client, seq, result, touched] of snapshot.sessions) kv.sessions.set(client, { seq, result, touched });
    kv.touch_counter = snapshot.touch_counter;
    return kv;
  }

  private execute(op: KvOp): KvResult {
    const k = canonicalJson(op.key);
    const found = this.data.get(k);
    switch (op.type) {
      case 'read':
        return found ? { type: 'read_ok', value: found.value } : notFound(op.key);
      case 'write':
        this.data.set(k, { key: op.key, value: op.value });
        return { type: 'write_ok' };
      case 'cas':
        if (!found) {
          if (op.create_if_not_exists) {
            this.data.set(k, { key: op.key, value: op.to });
            return { type: 'cas_ok' };
          }
          return notFound(op.key);
        }
        if (canonicalJson(found.value) !== canonicalJson(op.from)) {
          return {
            type: 'error',
            code: kv_error_precondition_failed,
            text: `expected ${canonicalJson(op.from)}, but had ${canonicalJson(found.value)}`,
          };
        }
        this.data.set(k, { key: op.key, value: op.to });
        return { type: 'cas_ok' };
      case 'delete':
        if (!found) return notFound(op.key);
        this.data.delete(k);
        return { type: 'delete_ok' };
    }
  }

  private evictOldestSession(): void {
    let oldest: string | null = null;
    let oldest_touched = Number.POSITIVE_INFINITY;
    for (const [client, s] of this.sessions) {
      if (s.touched < oldest_touched) {
        oldest = client;
        oldest_touched = s.touched;
      }
    }
    if (oldest !== null) this.sessions.delete(oldest);
  }
}

function notFound(key: unknown): KvResult {
  return { type: 'error', code: kv_error_key_does_not_exist, text: `key ${canonicalJson(key)} does not exist` };
}

export function isKvCommand(value: unknown): value is KvCommand {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  if (typeof c['client'] !== 'string' || !Number.isSafeInteger(c['seq'])) return false;
  const op = c['op'] as Record<string, unknown> | null | undefined;
  if (typeof op !== 'object' || op === null || !('key' in op)) return false;
  switch (op['type']) {
    case 'read':
    case 'delete':
      return true;
    case 'write':
      return 'value' in op;
    case 'cas':
      return 'from' in op && 'to' in op && (op['create_if_not_exists'] === undefined || typeof op['create_if_not_exists'] === 'boolean');
    default:
      return false;
  }
}

/** JSON with object keys sorted, so equal values have equal text (used for keys and cas comparison). */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}
