/**
 * The znode checker: ZooKeeper's guarantees, as a history of `dslab zk load` can show them broken.
 *
 * 1. Writes are linearizable, znode by znode. A znode is a small register: absent, or present at a
 *    version; the last zxid known to have changed it rides along. The search is Wing & Gong's (as
 *    lin-kv's checker is, but lin-kv's compiles its register model in, so this one is its own): an
 *    operation may go next when it was called before every pending definite operation returned;
 *    every (set of operations done, znode state) explored is remembered. The model:
 *      create ok (stat)        absent → present at version 0; its czxid above the znode's last zxid
 *      create NodeExists       requires present
 *      set_data ok (stat)      requires present and the version condition; version + 1 = the returned
 *                              version; its mzxid above the znode's last zxid
 *      set_data/delete BadVersion  requires present at another version than asked
 *      set_data/delete NoNode  requires absent
 *      delete ok               requires present and the version condition → absent
 *      unknown create/set/delete  may happen once after its call (when its condition holds), or never
 *      other failures          nothing happened and nothing was observed: dropped
 *    Reads are not in this search: ZooKeeper serves them from the client's server, which may lag, so
 *    they are not linearizable, and the checker does not ask them to be.
 * 2. Each session's reads are sequentially consistent: the session moves forward through the one
 *    sequence of txns (zxid order). Every read fixes an interval of positions its state was true in
 *    (present at mzxid M: from M up to the next known write of the znode; a get_children: from the
 *    parent's pzxid up to the next known child create; absent: outside every known span when the
 *    znode surely existed); the session's own write at zxid Z puts it at Z at least. Walking each
 *    session's operations in order and keeping the lowest position the session can be at, a read
 *    whose interval lies wholly behind it saw an older state than the session had already seen (or
 *    written). A read whose data or version is not what the write with that mzxid wrote is a
 *    violation too. Writes whose outcome is unknown only widen the intervals.
 * No I/O here; the only clock read is for the time budget.
 */
import { formatZkOperation, zk_write_functions, type ZkOperation, zxidNumber } from './history.js';
import { countAtMost } from '../../lib/util/sorted.js';

/** Time budget when the caller gives none. */
export const zk_check_timeout_ms_default = 10_000;
/** The search reads the clock once per this many steps. */
const clock_check_interval_steps = 1024;
/** Most writes on one znode the search takes (its recursion is one frame per write). */
export const znode_writes_max = 5000;

export interface ZkCheckOptions {
  timeout_ms?: number;
  now_ms?: () => number;
}

export interface ZkViolation {
  /** linearizable: writes on one znode; session: one session's reads. */
  kind: 'linearizable' | 'session';
  /** The znode (or the session) judged. */
  key: string;
  explanation: string;
  ops: ZkOperation[];
  key_ops: number;
}

export interface ZkCheckResult {
  result: 'valid' | 'invalid' | 'unknown';
  reason?: string;
  znodes_checked: number;
  writes_checked: number;
  sessions_checked: number;
  reads_checked: number;
  elapsed_ms: number;
  violation?: ZkViolation;
}

// ---- writes: the znode register ---------------------------------------------------------------

interface ZState {
  present: boolean;
  version: number;
  /** The highest zxid known to have changed the znode along this order. */
  zxid: number;
}

interface WriteOp {
  op: ZkOperation;
  index: number;
  call: number;
  /** Infinity for unknown outcomes: they may happen any time after their call, or never. */
  ret: number;
  definite: boolean;
}

const anyVersion = (version: number | undefined) => version === undefined || version === -1;

/** The state after `w` when it can go next from `s`, else null. */
function stepWrite(w: ZkOperation, s: ZState): ZState | null {
  const matches = anyVersion(w.version) || s.version === w.version;
  if (w.outcome === 'unknown') {
    // When it happens, it succeeds; a failing unknown write is the same as one that never happened.
    if (w.f === 'create') return s.present ? null : { present: true, version: 0, zxid: s.zxid };
    if (!s.present || !matches) return null;
    return w.f === 'set_data' ? { ...s, version: s.version + 1 } : { present: false, version: 0, zxid: s.zxid };
  }
  if (w.outcome === 'fail') {
    switch (w.error) {
      case 'NodeExists':
        return s.present ? s : null;
      case 'NoNode':
        return s.present ? null : s;
      case 'BadVersion':
        return s.present && !matches ? s : null;
      case 'NotEmpty':
        return s.present ? s : null;
      default:
        return s;
    }
  }
  switch (w.f) {
    case 'create': {
      if (s.present) return null;
      const czxid = zxidNumber(w.stat!.czxid);
      if (czxid <= s.zxid || w.stat!.version !== 0) return null;
      return { present: true, version: 0, zxid: czxid };
    }
    case 'set_data': {
      if (!s.present || !matches || w.stat!.version !== s.version + 1) return null;
      const mzxid = zxidNumber(w.stat!.mzxid);
      if (mzxid <= s.zxid) return null;
      return { present: true, version: w.stat!.version, zxid: mzxid };
    }
    default:
      return s.present && matches ? { present: false, version: 0, zxid: s.zxid } : null;
  }
}

/** Writes that constrain nothing: failures that observed nothing. */
function dropped(w: ZkOperation): boolean {
  return w.outcome === 'fail' && !['NodeExists', 'NoNode', 'BadVersion', 'NotEmpty'].includes(w.error ?? '');
}

class OutOfTime extends Error {}

interface SearchOutcome {
  ok: boolean;
  /** At the deepest point the search reached: the definite operations none of which could go next. */
  stuck: ZkOperation[];
  done_at_deepest: number;
}

function searchZnode(writes: ZkOperation[], initial: ZState, tick: () => void): SearchOutcome {
  const ops: WriteOp[] = writes
    .map((op, i) => ({ op, index: i, call: op.call_ms, ret: op.outcome === 'unknown' ? Infinity : op.return_ms!, definite: op.outcome !== 'unknown' }))
    .sort((a, b) => a.call - b.call);
  ops.forEach((o, i) => (o.index = i));
  const done = new Uint8Array(ops.length);
  const definite_total = ops.filter((o) => o.definite).length;
  const memo = new Set<string>();
  let deepest = -1;
  let stuck: ZkOperation[] = [];

  const key = (s: ZState) => {
    let bits = '';
    for (let i = 0; i < done.length; i += 16) {
      let word = 0;
      for (let j = i; j < Math.min(done.length, i + 16); j++) word = (word << 1) | done[j]!;
      bits += String.fromCharCode(word + 32);
    }
    return `${bits}|${s.present ? s.version : '-'}|${s.zxid}`;
  };

  const visit = (s: ZState, definite_done: number, count: number): boolean => {
    if (definite_done === definite_total) return true;
    tick();
    const k = key(s);
    if (memo.has(k)) return false;
    memo.add(k);
    let bound = Infinity;
    for (const o of ops) if (!done[o.index] && o.definite && o.ret < bound) bound = o.ret;
    if (count > deepest) {
      deepest = count;
      stuck = ops.filter((o) => !done[o.index] && o.definite && o.call <= bound).map((o) => o.op);
    }
    for (const o of ops) {
      if (o.call > bound) break;
      if (done[o.index]) continue;
      const next = stepWrite(o.op, s);
      if (!next) continue;
      done[o.index] = 1;
      const found = visit(next, definite_done + (o.definite ? 1 : 0), count + 1);
      done[o.index] = 0;
      if (found) return true;
    }
    return false;
  };
  return { ok: visit(initial, 0, 0), stuck, done_at_deepest: Math.max(0, deepest) };
}

// ---- reads: each session's order ------------------------------------------------------------

interface KnownWrite {
  zxid: number;
  op: ZkOperation;
}

/** The smallest element of a sorted list above x, or Infinity. */
function nextAbove(sorted: readonly number[], x: number): number {
  const at = countAtMost(sorted, x);
  return at < sorted.length ? sorted[at]! : Infinity;
}

const zxidsOf = (stat: { czxid: string; mzxid: string; pzxid: string }) => Math.max(zxidNumber(stat.czxid), zxidNumber(stat.mzxid), zxidNumber(stat.pzxid));

function parentOf(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

const formatZxidNumber = (n: number) => (n === Infinity ? '∞' : `${Math.floor(n / 2 ** 32)}:${n % 2 ** 32}`);

function checkSessions(ops: ZkOperation[]): { violation?: ZkViolation; sessions: number; reads: number } {
  // Every ok create/set with its zxid, per znode; child creates per parent; each znode's spans of sure existence.
  const writes_by_path = new Map<string, KnownWrite[]>();
  const child_creates = new Map<string, number[]>();
  for (const op of ops) {
    if (op.outcome !== 'ok' || (op.f !== 'create' && op.f !== 'set_data')) continue;
    const zxid = zxidNumber(op.f === 'create' ? op.stat!.czxid : op.stat!.mzxid);
    const list = writes_by_path.get(op.path) ?? [];
    list.push({ zxid, op });
    writes_by_path.set(op.path, list);
    if (op.f === 'create') {
      const siblings = child_creates.get(parentOf(op.path)) ?? [];
      siblings.push(zxid);
      child_creates.set(parentOf(op.path), siblings);
    }
  }
  const deletes_by_path = new Map<string, number>();
  for (const op of ops) if (op.f === 'delete' && op.outcome !== 'fail') deletes_by_path.set(op.path, (deletes_by_path.get(op.path) ?? 0) + 1);
  const write_zxids = new Map<string, number[]>();
  const by_zxid = new Map<string, KnownWrite>();
  /** Per znode: [czxid, last known mzxid of that incarnation]: it surely existed throughout. */
  const present_spans = new Map<string, Array<[number, number]>>();
  for (const [path, list] of writes_by_path) {
    list.sort((a, b) => a.zxid - b.zxid);
    write_zxids.set(path, list.map((w) => w.zxid));
    const spans: Array<[number, number]> = [];
    for (const w of list) {
      by_zxid.set(`${path}@${w.zxid}`, w);
      if (w.op.f === 'create') spans.push([w.zxid, w.zxid]);
      else if (spans.length > 0 && zxidNumber(w.op.stat!.czxid) === spans.at(-1)![0]) spans.at(-1)![1] = w.zxid;
    }
    // Each delete ends at most one incarnation: with fewer deletes (done or maybe done) than creates, the last never ended.
    if ((deletes_by_path.get(path) ?? 0) < spans.length) spans.at(-1)![1] = Infinity;
    present_spans.set(path, spans);
  }
  for (const list of child_creates.values()) list.sort((a, b) => a - b);

  const sessions = new Map<string, ZkOperation[]>();
  for (const op of ops) {
    const list = sessions.get(op.session) ?? [];
    list.push(op);
    sessions.set(op.session, list);
  }
  let reads = 0;
  for (const [session, list] of sessions) {
    list.sort((a, b) => a.call_ms - b.call_ms);
    /** The lowest position in the txn sequence the session can be at, and the operation that put it there. */
    let low = 0;
    let low_op: ZkOperation | null = null;
    const violate = (op: ZkOperation, why: string): ZkViolation => ({
      kind: 'session',
      key: session,
      explanation: `session ${session}: ${why}`,
      ops: low_op ? [low_op, op] : [op],
      key_ops: list.length,
    });
    for (const op of list) {
      if (op.outcome !== 'ok') continue;
      if (op.f === 'create' || op.f === 'set_data') {
        const zxid = zxidNumber(op.f === 'create' ? op.stat!.czxid : op.stat!.mzxid);
        if (zxid <= low) return { violation: violate(op, `its write got zxid ${formatZxidNumber(zxid)}, not after zxid ${formatZxidNumber(low)} that it had already seen`), sessions: sessions.size, reads };
        low = zxid;
        low_op = op;
        continue;
      }
      if (op.f === 'delete') continue;
      reads++;
      let lo: number;
      let hi: number;
      if (op.f === 'get_children') {
        lo = zxidsOf(op.stat!);
        hi = nextAbove(child_creates.get(op.path) ?? [], zxidNumber(op.stat!.pzxid));
      } else if (op.stat) {
        const mzxid = zxidNumber(op.stat.mzxid);
        const wrote = by_zxid.get(`${op.path}@${mzxid}`);
        if (wrote && (wrote.op.stat!.version !== op.stat.version || (op.f === 'get_data' && wrote.op.data !== op.data))) {
          return {
            violation: { kind: 'session', key: session, explanation: `session ${session} read ${op.path} at mzxid ${op.stat.mzxid} as ${JSON.stringify(op.data ?? '')} version ${op.stat.version}, but the write with that zxid made it ${JSON.stringify(wrote.op.data)} version ${wrote.op.stat!.version}`, ops: [wrote.op, op], key_ops: list.length },
            sessions: sessions.size,
            reads,
          };
        }
        lo = zxidsOf(op.stat);
        hi = nextAbove(write_zxids.get(op.path) ?? [], mzxid);
      } else {
        // Absent: the first position from `low` on outside every span in which the znode surely existed.
        let at = low;
        for (const [from, to] of present_spans.get(op.path) ?? []) if (at >= from && at <= to) at = to + 1;
        lo = at;
        hi = Infinity;
      }
      if (hi <= low || lo >= hi) {
        const why = op.stat
          ? `read ${op.path} at mzxid ${op.stat.mzxid}, a state that ended by zxid ${formatZxidNumber(hi)}, after it had already seen zxid ${formatZxidNumber(low)}: its reads went back in time`
          : `found ${op.path} absent after it had seen zxid ${formatZxidNumber(low)}, from when on the znode surely existed: its reads went back in time`;
        return { violation: violate(op, why), sessions: sessions.size, reads };
      }
      if (lo > low) {
        low = lo;
        low_op = op;
      }
    }
  }
  return { sessions: sessions.size, reads };
}

// ---- the whole check ----------------------------------------------------------------------------

/** Checks a parsed zk history; every znode is taken to start absent (the load's paths are fresh). */
export function checkZkHistory(ops: readonly ZkOperation[], options: ZkCheckOptions = {}): ZkCheckResult {
  const now = options.now_ms ?? (() => performance.now());
  const started = now();
  const deadline = started + (options.timeout_ms ?? zk_check_timeout_ms_default);
  let steps = 0;
  const tick = () => {
    if (++steps % clock_check_interval_steps === 0 && now() > deadline) throw new OutOfTime();
  };
  const by_path = new Map<string, ZkOperation[]>();
  for (const op of ops) {
    if (!zk_write_functions.includes(op.f) || dropped(op)) continue;
    const list = by_path.get(op.path) ?? [];
    list.push(op);
    by_path.set(op.path, list);
  }
  const result: ZkCheckResult = { result: 'valid', znodes_checked: 0, writes_checked: 0, sessions_checked: 0, reads_checked: 0, elapsed_ms: 0 };
  const finish = (r: ZkCheckResult) => ({ ...r, elapsed_ms: now() - started });
  for (const [path, writes] of [...by_path].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (writes.length > znode_writes_max) return finish({ ...result, result: 'unknown', reason: `${path} has ${writes.length} writes; the search takes at most ${znode_writes_max} per znode` });
    let outcome: SearchOutcome;
    try {
      outcome = searchZnode(writes, { present: false, version: 0, zxid: 0 }, tick);
    } catch (error) {
      if (error instanceof OutOfTime) return finish({ ...result, result: 'unknown', reason: `the time budget ran out while checking ${path}` });
      throw error;
    }
    if (!outcome.ok) {
      const explanation =
        `no order of the ${writes.length} writes on ${path} fits a znode (absent or present at a version, each change at a higher zxid): ` +
        `the furthest order found placed ${outcome.done_at_deepest}, and then ${outcome.stuck.length === 1 ? 'the operation below could not come next' : 'none of the operations below could come next'}`;
      return finish({ ...result, result: 'invalid', violation: { kind: 'linearizable', key: path, explanation, ops: outcome.stuck, key_ops: writes.length } });
    }
    result.znodes_checked++;
    result.writes_checked += writes.length;
  }
  const sessions = checkSessions([...ops]);
  result.sessions_checked = sessions.sessions;
  result.reads_checked = sessions.reads;
  if (sessions.violation) return finish({ ...result, result: 'invalid', violation: sessions.violation });
  return finish(result);
}

export function formatZkCheckResult(result: ZkCheckResult): string {
  const where = `${result.writes_checked} writes on ${result.znodes_checked} znodes, ${result.reads_checked} reads in ${result.sessions_checked} sessions, checked in ${Math.round(result.elapsed_ms)} ms`;
  if (result.result === 'valid') return `valid: writes linearizable, each session's reads sequentially consistent (${where})`;
  if (result.result === 'unknown') return `unknown: ${result.reason ?? 'the check did not finish'} (${where})`;
  const v = result.violation!;
  const head = v.kind === 'linearizable' ? `invalid: writes on ${v.key} are not linearizable` : `invalid: session ${v.key} is not sequentially consistent`;
  return [head, ...v.ops.map((op) => `  ${formatZkOperation(op)}`), v.explanation].join('\n');
}
