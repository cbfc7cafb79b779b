/**
 * znode operation histories, as `dslab zk load --history` writes them and the znode checker
 * (checker.ts) reads them. JSONL:
 *   {"type":"workload","workload":"zk"}                               first line: whose history this is (`dslab check` dispatches on it)
 *   {"type":"znodes","parent":"/zl-3f9a","paths":["/zl-3f9a/p0"],"fresh":true}   the znodes the load used; fresh: none existed before
 *   {"client":"c2001","session":"s1","server":"n2","f":"set_data","path":"/zl-3f9a/p0","data":"w7","version":0,
 *    "call_ms":12.5,"return_ms":14,"outcome":"ok","stat":{"czxid":"1:3","mzxid":"1:9","pzxid":"1:3","version":1,"cversion":0,"numChildren":0}}
 * f is create, set_data, delete (writes: data, version (absent = any)), get_data (data read), exists (stat null: absent),
 * get_children (children, and the parent's stat). outcome: ok; fail (a definite ZooKeeper error, named in `error`);
 * unknown (it may or may not have happened: ConnectionLoss in flight, no answer).
 */
import { UserError } from '../../lib/util/errors.js';

export const zk_history_workload = 'zk';

export type ZkFunction = 'create' | 'set_data' | 'delete' | 'get_data' | 'exists' | 'get_children';
export const zk_write_functions: readonly ZkFunction[] = ['create', 'set_data', 'delete'];
const zk_functions: readonly string[] = ['create', 'set_data', 'delete', 'get_data', 'exists', 'get_children'];

/** The stat fields a history keeps (zxids as epoch:counter). */
export interface HistoryStat {
  czxid: string;
  mzxid: string;
  pzxid: string;
  version: number;
  cversion?: number;
  numChildren?: number;
}

export interface ZkOperation {
  client: string;
  session: string;
  /** The server the session was connected to when the call began, if any. */
  server?: string | null;
  f: ZkFunction;
  path: string;
  /** Written (create, set_data) or read (get_data ok). */
  data?: string;
  /** The version condition of a set_data or delete; absent or -1: any. */
  version?: number;
  call_ms: number;
  return_ms: number | null;
  outcome: 'ok' | 'fail' | 'unknown';
  /** ZooKeeper's error name of a fail (NoNode, NodeExists, BadVersion, …). */
  error?: string;
  /** The stat returned: create/set_data's new one, get_data's, exists' (null: absent), get_children's parent's. */
  stat?: HistoryStat | null;
  children?: string[];
  line?: number;
}

export interface ZnodeDeclaration {
  parent: string;
  paths: string[];
  fresh: boolean;
}

export interface ParsedZkHistory {
  ops: ZkOperation[];
  declarations: ZnodeDeclaration[];
}

/** Longest line read, in characters. */
export const zk_history_line_chars_max = 65_536;
/** Most operations one history may hold. */
export const zk_history_ops_max = 2_000_000;

/** A zxid "epoch:counter" as one number that orders like the zxid (exact while the epoch is below 2^21). */
export function zxidNumber(text: string): number {
  const match = /^(\d+):(\d+)$/.exec(text);
  if (!match) throw new Error(`not a zxid (epoch:counter): ${JSON.stringify(text)}`);
  return Number(match[1]) * 2 ** 32 + Number(match[2]);
}

function toStat(value: unknown, what: string): HistoryStat {
  if (typeof value !== 'object' || value === null) throw new Error(`${what} must be a stat object`);
  const s = value as Record<string, unknown>;
  for (const field of ['czxid', 'mzxid', 'pzxid'] as const) {
    if (typeof s[field] !== 'string') throw new Error(`${what}.${field} must be a zxid string`);
    zxidNumber(s[field]);
  }
  if (typeof s.version !== 'number' || !Number.isInteger(s.version)) throw new Error(`${what}.version must be an integer`);
  return s as unknown as HistoryStat;
}

function toOperation(r: Record<string, unknown>): ZkOperation {
  const { client, session, f, path, call_ms, return_ms, outcome } = r;
  if (typeof client !== 'string' || client === '') throw new Error('"client" must be a non-empty string');
  if (typeof session !== 'string' || session === '') throw new Error('"session" must be a non-empty string');
  if (typeof f !== 'string' || !zk_functions.includes(f)) throw new Error(`"f" must be one of ${zk_functions.join(', ')} (got ${JSON.stringify(f)})`);
  if (typeof path !== 'string' || !path.startsWith('/')) throw new Error('"path" must be a znode path');
  if (typeof call_ms !== 'number' || !Number.isFinite(call_ms)) throw new Error('"call_ms" must be a finite number');
  if (outcome !== 'ok' && outcome !== 'fail' && outcome !== 'unknown') throw new Error(`"outcome" must be ok, fail or unknown (got ${JSON.stringify(outcome)})`);
  if (outcome !== 'unknown' && (typeof return_ms !== 'number' || return_ms < call_ms)) throw new Error(`"return_ms" must be a number not before "call_ms" for outcome ${outcome}`);
  const op: ZkOperation = { client, session, f: f as ZkFunction, path, call_ms, return_ms: outcome === 'unknown' ? null : (return_ms as number), outcome };
  if (typeof r.server === 'string') op.server = r.server;
  if (r.data !== undefined) {
    if (typeof r.data !== 'string') throw new Error('"data" must be a string');
    op.data = r.data;
  }
  if (r.version !== undefined && r.version !== null) {
    if (typeof r.version !== 'number' || !Number.isInteger(r.version)) throw new Error('"version" must be an integer');
    op.version = r.version;
  }
  if (outcome === 'fail') {
    if (typeof r.error !== 'string' || r.error === '') throw new Error('a failed operation needs "error": its ZooKeeper error name');
    op.error = r.error;
  }
  if (outcome === 'ok') {
    if (f === 'exists') op.stat = r.stat === null || r.stat === undefined ? null : toStat(r.stat, '"stat"');
    else if (f !== 'delete') op.stat = toStat(r.stat, '"stat"');
    if ((f === 'create' || f === 'set_data' || f === 'get_data') && op.data === undefined) throw new Error(`an ok ${f} needs "data"`);
    if (f === 'get_children') {
      if (!Array.isArray(r.children) || !r.children.every((c) => typeof c === 'string')) throw new Error('"children" must be an array of names');
      op.children = r.children as string[];
    }
  } else if ((f === 'create' || f === 'set_data') && op.data === undefined) throw new Error(`a ${f} needs "data"`);
  return op;
}

/** Parses a zk history; a UserError names the first bad line. */
export function parseZkHistory(text: string): ParsedZkHistory {
  const ops: ZkOperation[] = [];
  const declarations: ZnodeDeclaration[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const source = lines[index]!.trim();
    if (source === '') continue;
    const line = index + 1;
    if (source.length > zk_history_line_chars_max) throw new UserError(`history line ${line}: longer than ${zk_history_line_chars_max} characters`);
    if (ops.length >= zk_history_ops_max) throw new UserError(`history line ${line}: more than ${zk_history_ops_max} operations`);
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(source) as Record<string, unknown>;
    } catch {
      throw new UserError(`history line ${line}: not valid JSON`);
    }
    try {
      if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new Error('expected a JSON object');
      if (record.type === 'workload') continue;
      if (record.type === 'znodes') {
        const { parent, paths, fresh } = record;
        if (typeof parent !== 'string' || !Array.isArray(paths) || !paths.every((p) => typeof p === 'string') || typeof fresh !== 'boolean') {
          throw new Error('a znodes line needs "parent", "paths" (strings) and "fresh"');
        }
        declarations.push({ parent, paths: paths as string[], fresh });
        continue;
      }
      ops.push({ ...toOperation(record), line });
    } catch (error) {
      throw new UserError(`history line ${line}: ${(error as Error).message}`);
    }
  }
  return { ops, declarations };
}

function formatMs(ms: number): string {
  return Number.isInteger(ms) ? String(ms) : ms.toFixed(1);
}

/** One line, e.g. "line 7: c2001 (s3 on n2) set_data /zl/p0 "w4" version 2 → ok, version 3 at 1:9, 10.5–12 ms". */
export function formatZkOperation(op: ZkOperation): string {
  const where = `${op.client} (${op.session}${op.server ? ` on ${op.server}` : ''})`;
  let action: string = `${op.f} ${op.path}`;
  if ((op.f === 'create' || op.f === 'set_data') && op.data !== undefined) action += ` ${JSON.stringify(op.data)}`;
  if ((op.f === 'set_data' || op.f === 'delete') && op.version !== undefined && op.version !== -1) action += ` version ${op.version}`;
  let result: string;
  if (op.outcome === 'fail') result = op.error ?? 'fail';
  else if (op.outcome === 'unknown') result = 'unknown';
  else if (op.f === 'exists' && !op.stat) result = 'absent';
  else if (op.stat) {
    const read = op.f === 'get_data' ? ` ${JSON.stringify(op.data)}` : op.f === 'get_children' ? ` [${(op.children ?? []).join(',')}]` : '';
    result = `ok${read}, version ${op.stat.version} at ${op.stat.mzxid}`;
  } else result = 'ok';
  const span = op.return_ms === null ? `${formatMs(op.call_ms)} ms–∞` : `${formatMs(op.call_ms)}–${formatMs(op.return_ms)} ms`;
  return `${op.line === undefined ? '' : `line ${op.line}: `}${where} ${action} → ${result}, ${span}`;
}
