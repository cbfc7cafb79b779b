/**
 * The key-value API shared by lin-kv, seq-kv and lww-kv (Maelstrom's lin-kv
 * workload messages): parsing and validating requests, comparing JSON values,
 * and what one operation does to one key's value. The services differ only in
 * which state they apply it to.
 *
 *   read  {key}                                   -> read_ok {value}  | error 20
 *   write {key, value}                            -> write_ok
 *   cas   {key, from, to, create_if_not_exists?}  -> cas_ok | error 20 (absent) | error 22 (value != from)
 *
 * Keys and values are any JSON; two are the same when their JSON is the same
 * with object fields sorted (so 1 and "1" differ, and {a,b} equals {b,a}).
 */
import { error_codes, type MessageBody } from '../protocol/messages.js';
import { errorBody, malformed, notSupported } from './service.js';

/** Distinct keys one service holds; a write of a new key beyond this fails with error 14. */
export const service_keys_max = 10_000;
/** Largest key, as canonical JSON in bytes. */
export const service_key_bytes_max = 1024;
/** Largest value, as canonical JSON in bytes (a node's line is at most 1 MiB anyway). */
export const service_value_bytes_max = 512 * 1024;
/** Keys and values one service holds at once, including the old versions seq-kv keeps; beyond this writes fail with error 14. */
export const service_store_bytes_max = 64 * 1024 * 1024;
/** Deepest nesting of arrays and objects in a key or value. */
export const service_value_depth_max = 64;

export const kv_request_types = ['read', 'write', 'cas'] as const;

/** A JSON value with its canonical text (its identity) and size. */
export interface StoredValue {
  readonly json: unknown;
  readonly id: string;
  readonly bytes: number;
}

export type KvRequest =
  | { f: 'read'; key: StoredValue }
  | { f: 'write'; key: StoredValue; value: StoredValue }
  | { f: 'cas'; key: StoredValue; from: StoredValue; to: StoredValue; create_if_not_exists: boolean };

export type ParsedKvRequest = { ok: true; request: KvRequest } | { ok: false; error: MessageBody };

/** Validates a read, write or cas body; anything else is an error body to send back. */
export function parseKvRequest(service: string, body: MessageBody): ParsedKvRequest {
  const type = body.type;
  if (type !== 'read' && type !== 'write' && type !== 'cas') return { ok: false, error: notSupported(service, type, kv_request_types) };
  const fail = (text: string): ParsedKvRequest => ({ ok: false, error: malformed(service, text) });
  const field = (name: string, bytes_max: number): StoredValue | string => {
    if (!(name in body) || body[name] === undefined) return `${type} needs a "${name}" field`;
    const stored = storedValue(body[name]);
    if (typeof stored === 'string') return `"${name}" ${stored}`;
    if (stored.bytes > bytes_max) return `"${name}" is ${stored.bytes} bytes of JSON, more than the ${bytes_max} allowed`;
    return stored;
  };
  const key = field('key', service_key_bytes_max);
  if (typeof key === 'string') return fail(key);
  if (type === 'read') return { ok: true, request: { f: 'read', key } };
  if (type === 'write') {
    const value = field('value', service_value_bytes_max);
    if (typeof value === 'string') return fail(value);
    return { ok: true, request: { f: 'write', key, value } };
  }
  const from = field('from', service_value_bytes_max);
  if (typeof from === 'string') return fail(from);
  const to = field('to', service_value_bytes_max);
  if (typeof to === 'string') return fail(to);
  const create = body.create_if_not_exists;
  if (create !== undefined && create !== null && typeof create !== 'boolean') return fail('"create_if_not_exists" must be true or false');
  return { ok: true, request: { f: 'cas', key, from, to, create_if_not_exists: create === true } };
}

/** The canonical form of a JSON value, or why it cannot be stored. */
export function storedValue(json: unknown): StoredValue | string {
  const parts: string[] = [];
  const problem = canonical(json, 0, parts);
  if (problem) return problem;
  const id = parts.join('');
  return { json, id, bytes: Buffer.byteLength(id) };
}

function canonical(value: unknown, depth: number, out: string[]): string | null {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') {
    out.push(JSON.stringify(value));
    return null;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'is not a JSON number';
    out.push(JSON.stringify(value));
    return null;
  }
  if (typeof value !== 'object') return 'is not JSON';
  if (depth >= service_value_depth_max) return `is nested more than ${service_value_depth_max} levels deep`;
  if (Array.isArray(value)) {
    out.push('[');
    for (const [i, item] of value.entries()) {
      if (i > 0) out.push(',');
      const problem = canonical(item, depth + 1, out);
      if (problem) return problem;
    }
    out.push(']');
    return null;
  }
  const record = value as Record<string, unknown>;
  out.push('{');
  for (const [i, name] of Object.keys(record).sort().entries()) {
    if (i > 0) out.push(',');
    out.push(JSON.stringify(name), ':');
    const problem = canonical(record[name], depth + 1, out);
    if (problem) return problem;
  }
  out.push('}');
  return null;
}

/** What an operation does to one key: the reply, and the key's new value when the operation writes one. */
export interface KvEffect {
  reply: MessageBody;
  /** Set when the operation writes (even a value equal to the current one); absent for reads and failures. */
  next?: StoredValue;
}

/** Applies one operation to a key whose current value is `current` (undefined: the key does not exist). */
export function applyKv(request: KvRequest, current: StoredValue | undefined): KvEffect {
  switch (request.f) {
    case 'read':
      return current ? { reply: { type: 'read_ok', value: current.json } } : { reply: keyMissing() };
    case 'write':
      return { reply: { type: 'write_ok' }, next: request.value };
    case 'cas':
      if (!current) return request.create_if_not_exists ? { reply: { type: 'cas_ok' }, next: request.to } : { reply: keyMissing() };
      if (current.id !== request.from.id) {
        return { reply: errorBody(error_codes.precondition_failed, `current value ${current.id} is not ${request.from.id}`) };
      }
      return { reply: { type: 'cas_ok' }, next: request.to };
  }
}

/** True when the effect leaves the key as it was (a read, a failure, or writing the value it already has). */
export function changesNothing(effect: KvEffect, current: StoredValue | undefined): boolean {
  return !effect.next || (current !== undefined && current.id === effect.next.id);
}

function keyMissing(): MessageBody {
  return errorBody(error_codes.key_does_not_exist, 'key does not exist');
}

export function storeFull(service: string, what: string): MessageBody {
  return errorBody(error_codes.abort, `${service} is full: ${what}`);
}
