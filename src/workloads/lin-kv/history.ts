/**
 * Key-value operation histories for the linearizability checker.
 *
 * A history file is JSONL: one completed client operation per line, e.g.
 *   {"client":"c3","f":"write","key":"k1","value":5,"call_ms":12.5,"return_ms":14.0,"outcome":"ok"}
 *   {"client":"c1","f":"read","key":"k1","result":null,"call_ms":13.0,"return_ms":13.9,"outcome":"ok"}
 *   {"client":"c2","f":"cas","key":"k1","from":5,"to":6,"call_ms":15,"return_ms":16,"outcome":"fail","error":22}
 *   {"client":"c4","f":"delete","key":"k1","call_ms":17,"return_ms":null,"outcome":"unknown"}
 * Blank lines are skipped and fields not named here are ignored, so a load
 * generator may add its own (node, error text, …).
 *
 * A line with "type": "keys" declares keys instead of recording an operation:
 *   {"type":"keys","keys":["r5d1c-k0","r5d1c-k1"],"fresh":true}
 * fresh: true says the keys did not exist when the history began, so each starts
 * absent; fresh: false says they may have held anything. A history that declares
 * keys gives every key it does not declare fresh an unknown initial value. A
 * history with no declaration at all (hand-written, or from before declarations
 * existed) has every key start absent.
 */
import { UserError } from '../../lib/util/errors.js';

/** Register values are JSON scalars; 1 and "1" are different values. */
export type Value = number | string;

export type OperationFunction = 'read' | 'write' | 'cas' | 'delete';

/**
 * ok: took effect exactly once between call and return.
 * fail: definitely did not take effect (a cas failing with error 22 still observed
 *       a value other than `from`; a read or cas failing with error 20, the key absent).
 * unknown: indefinite (timeout, crash): took effect once at some time after its call, or never.
 */
export type Outcome = 'ok' | 'fail' | 'unknown';

interface OperationFields {
  client: string;
  key: string;
  call_ms: number;
  /** null for outcome unknown (the operation may take effect arbitrarily late). */
  return_ms: number | null;
  outcome: Outcome;
  /** Maelstrom error code of a failed operation, when the client knows it (20 key absent, 22 precondition failed, …). */
  error?: number;
  /** 1-based line in the history file; set by parseHistory. */
  line?: number;
}

export interface ReadOperation extends OperationFields {
  f: 'read';
  /** The value read when outcome is ok; null means the key was absent. Ignored for other outcomes. */
  result?: Value | null;
}

export interface WriteOperation extends OperationFields {
  f: 'write';
  value: Value;
}

export interface CasOperation extends OperationFields {
  f: 'cas';
  from: Value;
  to: Value;
}

export interface DeleteOperation extends OperationFields {
  f: 'delete';
}

export type Operation = ReadOperation | WriteOperation | CasOperation | DeleteOperation;

/** How a key's register starts: absent (the key is new) or holding some value nobody has observed yet. */
export type InitialState = 'absent' | 'unknown';

export interface KeyDeclaration {
  keys: string[];
  /** The keys did not exist when the history began. */
  fresh: boolean;
  /** 1-based line in the history file. */
  line?: number;
}

export interface ParsedHistory {
  ops: Operation[];
  declarations: KeyDeclaration[];
}

/** Maelstrom error codes the checker gives meaning to. */
export const error_code_key_does_not_exist = 20;
export const error_code_precondition_failed = 22;

/** Longest history line accepted, in characters; longer lines are almost certainly not operations. */
export const history_line_chars_max = 65_536;
/** Most operations one history may hold. */
export const history_ops_max = 5_000_000;

const operation_functions: readonly string[] = ['read', 'write', 'cas', 'delete'];
const outcomes: readonly string[] = ['ok', 'fail', 'unknown'];

function isValue(value: unknown): value is Value {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

/**
 * Checks one decoded record and returns it as an Operation, or throws an Error
 * whose message says what is wrong (without location; callers add it).
 */
function toOperation(record: unknown): Operation {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw new Error('expected a JSON object');
  }
  const r = record as Record<string, unknown>;
  const { client, f, key, call_ms, return_ms, outcome, error } = r;
  if (typeof client !== 'string' || client === '') throw new Error('"client" must be a non-empty string');
  if (typeof f !== 'string' || !operation_functions.includes(f)) {
    throw new Error(`"f" must be one of ${operation_functions.join(', ')} (got ${JSON.stringify(f)})`);
  }
  if (typeof key !== 'string') throw new Error('"key" must be a string');
  if (typeof call_ms !== 'number' || !Number.isFinite(call_ms)) throw new Error('"call_ms" must be a finite number');
  if (typeof outcome !== 'string' || !outcomes.includes(outcome)) {
    throw new Error(`"outcome" must be one of ${outcomes.join(', ')} (got ${JSON.stringify(outcome)})`);
  }
  if (outcome === 'unknown') {
    // An indefinite operation has no meaningful return; a number (when the client gave up) is tolerated and ignored.
    if (return_ms !== null && return_ms !== undefined && (typeof return_ms !== 'number' || !Number.isFinite(return_ms))) {
      throw new Error('"return_ms" must be null or a finite number for outcome unknown');
    }
  } else {
    if (typeof return_ms !== 'number' || !Number.isFinite(return_ms)) {
      throw new Error(`"return_ms" must be a finite number for outcome ${outcome}`);
    }
    if (return_ms < call_ms) throw new Error(`"return_ms" (${return_ms}) is before "call_ms" (${call_ms})`);
  }
  if (error !== undefined && error !== null && (typeof error !== 'number' || !Number.isInteger(error))) {
    throw new Error('"error" must be an integer error code');
  }
  const fields: OperationFields = {
    client,
    key,
    call_ms,
    return_ms: outcome === 'unknown' ? null : (return_ms as number),
    outcome: outcome as Outcome,
  };
  if (typeof error === 'number') fields.error = error;

  switch (f) {
    case 'read': {
      const { result } = r;
      if (outcome === 'ok') {
        if (result !== null && !isValue(result)) throw new Error('"result" of an ok read must be a number, a string or null (absent)');
        return { ...fields, f, result };
      }
      if (result !== undefined && result !== null && !isValue(result)) throw new Error('"result" must be a number, a string or null');
      return result === undefined ? { ...fields, f } : { ...fields, f, result };
    }
    case 'write': {
      if (!isValue(r.value)) throw new Error('"value" of a write must be a number or a string');
      return { ...fields, f, value: r.value };
    }
    case 'cas': {
      if (!isValue(r.from)) throw new Error('"from" of a cas must be a number or a string');
      if (!isValue(r.to)) throw new Error('"to" of a cas must be a number or a string');
      return { ...fields, f, from: r.from, to: r.to };
    }
    default:
      return { ...fields, f: 'delete' };
  }
}

/** Validates an operation built in code (not parsed); throws an Error saying what is wrong. */
export function validateOperation(op: Operation): void {
  toOperation(op);
}

function toDeclaration(record: Record<string, unknown>): KeyDeclaration {
  const { keys, fresh } = record;
  if (!Array.isArray(keys) || !keys.every((key) => typeof key === 'string')) throw new Error('"keys" of a keys line must be an array of strings');
  if (typeof fresh !== 'boolean') throw new Error('"fresh" of a keys line must be true or false');
  return { keys: keys as string[], fresh };
}

/**
 * How each key of a history starts: absent if declared fresh, unknown if the history
 * declares keys but not this one fresh, absent for every key if it declares none.
 */
export function initialStates(declarations: readonly KeyDeclaration[]): (key: string) => InitialState {
  if (declarations.length === 0) return () => 'absent';
  const fresh = new Set<string>();
  for (const declaration of declarations) if (declaration.fresh) for (const key of declaration.keys) fresh.add(key);
  return (key) => (fresh.has(key) ? 'absent' : 'unknown');
}

/** Parses a JSONL history. Throws a UserError naming the 1-based line of the first bad line. */
export function parseHistory(text: string): ParsedHistory {
  const ops: Operation[] = [];
  const declarations: KeyDeclaration[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = index + 1;
    const source = lines[index]!.trim();
    if (source === '') continue;
    if (source.length > history_line_chars_max) {
      throw new UserError(`history line ${line}: longer than ${history_line_chars_max} characters`);
    }
    if (ops.length >= history_ops_max) throw new UserError(`history line ${line}: more than ${history_ops_max} operations`);
    let record: unknown;
    try {
      record = JSON.parse(source);
    } catch {
      throw new UserError(`history line ${line}: not valid JSON: ${source.length > 80 ? `${source.slice(0, 80)}…` : source}`);
    }
    try {
      // The header line naming the workload (lib/plugin.ts history_header_type) records no operation.
      if (typeof record === 'object' && record !== null && (record as Record<string, unknown>).type === 'workload') continue;
      if (typeof record === 'object' && record !== null && (record as Record<string, unknown>).type === 'keys') {
        declarations.push({ ...toDeclaration(record as Record<string, unknown>), line });
      } else {
        ops.push({ ...toOperation(record), line });
      }
    } catch (error) {
      throw new UserError(`history line ${line}: ${(error as Error).message}`);
    }
  }
  return { ops, declarations };
}

/** Formats a value so 1 and "1" stay distinguishable; null reads as "absent". */
export function formatValue(value: Value | null | undefined): string {
  if (value === null || value === undefined) return 'absent';
  return JSON.stringify(value);
}

function formatMs(ms: number): string {
  return Number.isInteger(ms) ? String(ms) : ms.toFixed(1);
}

/**
 * One line describing an operation, e.g.
 *   line 12: c3 cas k1 from 3 to 4 → fail (error 22), 101.5–104 ms
 *   c1 read k1 → absent, 5–7 ms
 *   c4 write k2 9 → unknown, 20 ms–∞
 */
export function formatOperation(op: Operation): string {
  let action: string;
  switch (op.f) {
    case 'read':
      action = op.outcome === 'ok' ? `read ${op.key} → ${formatValue(op.result)}` : `read ${op.key} → ${op.outcome}`;
      break;
    case 'write':
      action = `write ${op.key} ${formatValue(op.value)} → ${op.outcome}`;
      break;
    case 'cas':
      action = `cas ${op.key} from ${formatValue(op.from)} to ${formatValue(op.to)} → ${op.outcome}`;
      break;
    case 'delete':
      action = `delete ${op.key} → ${op.outcome}`;
      break;
  }
  const error = op.outcome === 'fail' && op.error !== undefined ? ` (error ${op.error})` : '';
  const span = op.return_ms === null || op.outcome === 'unknown' ? `${formatMs(op.call_ms)} ms–∞` : `${formatMs(op.call_ms)}–${formatMs(op.return_ms)} ms`;
  const prefix = op.line === undefined ? '' : `line ${op.line}: `;
  return `${prefix}${op.client} ${action}${error}, ${span}`;
}
