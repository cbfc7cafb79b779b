/**
 * The node protocol: one JSON envelope per line on a node's stdin/stdout,
 * compatible with Maelstrom's. See DESIGN.md "Node protocol".
 */

export interface MessageBody {
  type: string;
  msg_id?: number;
  in_reply_to?: number;
  [field: string]: unknown;
}

export interface Envelope {
  src: string;
  dest: string;
  body: MessageBody;
}

/** Maelstrom's error codes. */
export const error_codes = {
  timeout: 0,
  node_not_found: 1,
  not_supported: 10,
  temporarily_unavailable: 11,
  malformed_request: 12,
  crash: 13,
  abort: 14,
  key_does_not_exist: 20,
  key_already_exists: 21,
  precondition_failed: 22,
  txn_conflict: 30,
} as const;

/** The name of a Maelstrom error code ("not supported" for 10), or null for a code Maelstrom does not define. */
export function errorCodeName(code: unknown): string | null {
  const entry = Object.entries(error_codes).find(([, value]) => value === code);
  return entry ? entry[0].replaceAll('_', ' ') : null;
}

/** Errors after which the operation certainly did not happen (Maelstrom's "definite" errors). */
export const definite_error_codes: ReadonlySet<number> = new Set([1, 10, 11, 12, 14, 20, 21, 22, 30]);

/** The pseudo-destination for dslab extensions (state reports, applied entries). */
export const supervisor_address = 'dslab';

/**
 * The extension that tells a node a peer's process exited: the node asks for it with
 * `"dslab_connection_closed": true` in its init_ok, and then gets
 * `{"src":"dslab","body":{"type":"dslab_connection_closed","peer":ID}}` for each node it had exchanged
 * messages with whose process exits, as a TCP peer sees the connection close.
 */
export const connection_closed_extension = 'dslab_connection_closed';

/**
 * Application faults (`dslab fail NODE --errors 50% --latency 800ms --hang`): a node that can fail
 * on purpose says so with `"dslab_fail": true` in its init_ok, and then gets
 * `{"src":"dslab","body":{"type":"dslab_fail","errors_pct":P,"latency_ms":L,"hang":B}}` whenever the
 * fault changes (all zero and false: cleared), and again after a restart.
 */
export const fail_extension = 'dslab_fail';

/** A node's sentence for the event log (`{"type":"dslab_note","text":…}` to dslab): "s2 opened: …". */
export const note_extension = 'dslab_note';

/** Longest line accepted from a node; longer ones are discarded and counted. */
export const line_bytes_max = 1024 * 1024;

export type ParseResult = { ok: true; envelope: Envelope } | { ok: false; reason: string };

/** Why a line on stdout that is not JSON is wrong, said once wherever it is reported: a debug print on stdout is the usual culprit. */
export const stdout_protocol_hint = '(stdout carries only protocol messages, one JSON object per line; write logs to stderr)';

/** The reasons for a line that is not a JSON object at all; any other reason names the envelope field that is wrong. */
export const not_json_reasons: readonly string[] = ['not JSON', 'not a JSON object'];

/** What a value is, for a message saying why it is not what a field needs: "missing", "null", "a number", "an array". */
function kindOf(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Why `field` holding `value` is not a `wanted` ("src is null", "body.type is missing", "dest is a number, not a string"). */
function wrongField(field: string, value: unknown, wanted: 'string' | 'object'): string {
  const kind = kindOf(value);
  return kind === 'missing' || kind === 'null' ? `${field} is ${kind}` : `${field} is ${kind}, not ${wanted === 'object' ? 'an object' : 'a string'}`;
}

/**
 * Validates one line of node output: JSON, then the envelope's fields, naming
 * the first field that is wrong. Cheap: it runs for every routed message.
 */
export function parseEnvelope(line: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'not a JSON object' };
  const candidate = value as Record<string, unknown>;
  if (typeof candidate.src !== 'string') return { ok: false, reason: wrongField('src', candidate.src, 'string') };
  if (typeof candidate.dest !== 'string') return { ok: false, reason: wrongField('dest', candidate.dest, 'string') };
  const body = candidate.body as Record<string, unknown> | undefined;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, reason: wrongField('body', body, 'object') };
  if (typeof body.type !== 'string') return { ok: false, reason: wrongField('body.type', body.type, 'string') };
  return { ok: true, envelope: candidate as unknown as Envelope };
}

/** Client ids are this and a number: c0 (the supervisor's), c1, … */
export const client_id_prefix = 'c';

export function isClientId(id: string): boolean {
  return /^c\d+$/.test(id);
}

/** The most nodes one cluster runs (n1..n25). */
export const nodes_max = 25;

export function nodeIdsFor(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `n${i + 1}`);
}
