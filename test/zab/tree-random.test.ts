// Random txn sequences on two replicas of the znode tree (one receiving every txn through JSON and
// restarting from a snapshot midway, as a SNAP would): after every txn both hold the same digest, the
// tree's invariants hold, and sequential suffixes never repeat. A multi is checked against its ops
// applied one by one on a copy of the tree: the same tree when every op applies, and when one fails,
// that op's error and a tree exactly as before the multi. A third replica serves random reads
// with watches; every watch fires exactly at the first txn that changes what its read saw, once.
// Replay one seed with ZK_TREE_SEED=<seed> npx vitest run test/zab/tree-random.test.ts

import { describe, expect, it } from 'vitest';
import { createRng, type Rng } from '../../src/lib/util/prng.js';
import { parentOf, ZkTree, type MultiOp, type TreeOptions, type ZkApplied, type ZkTxn } from '../../src/systems/zab/core/tree.js';
import { ZkReplica, type WatchKind } from '../../src/systems/zab/core/watches.js';
import { formatZxid, zxid } from '../../src/systems/zab/core/zxid.js';

const seeds_total = Number(process.env['ZK_TREE_SEEDS'] ?? 150);
const replay_seed = process.env['ZK_TREE_SEED'];
const txns_per_seed = 250;

const sessions = ['s1', 's2', 's3', 's4'];
const names = ['a', 'b', 'c'];

function randomPath(rng: Rng): string {
  const depth = 1 + rng.int(3);
  let p = '';
  for (let i = 0; i < depth; i++) p += '/' + rng.pick(names);
  return p;
}

/** Prefers paths that exist, so deep trees and the interesting errors both happen. */
function somePath(rng: Rng, tree: ZkTree): string {
  const existing = tree.paths().filter((p) => p !== '/');
  return existing.length > 0 && rng.next() < 0.6 ? rng.pick(existing) : randomPath(rng);
}

/** A znode op, as a txn of its own or as an op of a multi. */
function randomOp(rng: Rng, tree: ZkTree): MultiOp {
  const version = (path: string): number => {
    const s = tree.exists(path);
    const actual = s.ok && s.value !== null ? s.value.version : 0;
    return rng.pick([-1, -1, actual, actual, actual + 1, 0]);
  };
  const roll = rng.int(100);
  if (roll < 50) {
    const parent = rng.next() < 0.5 ? somePath(rng, tree) : '';
    const name = rng.next() < 0.3 ? rng.pick(names) + '-' : rng.pick(names);
    const container = rng.next() < 0.2;
    // A container is neither ephemeral nor sequential: now and then ask for both (BadArguments).
    const plain = container && rng.next() < 0.9;
    return { type: 'create', path: `${parent}/${name}`, data: rng.pick(['', 'x', 'data', 'é']), ephemeral: !plain && rng.next() < 0.3, sequential: !plain && rng.next() < 0.3, ...(container ? { container } : {}) };
  }
  const path = somePath(rng, tree);
  if (roll < 75) return { type: 'delete', path, version: version(path) };
  if (roll < 92) return { type: 'set_data', path, data: rng.pick(['1', '22', '']), version: version(path) };
  return { type: 'check', path, version: version(path) };
}

/** Whether one path is the other or under it (a multi's ops here keep apart, so each watch sees at most one op). */
function related(a: string, b: string): boolean {
  return a === b || a.startsWith(b + '/') || b.startsWith(a + '/');
}

function randomTxn(rng: Rng, tree: ZkTree, time: number): ZkTxn {
  const session = rng.pick(sessions);
  const roll = rng.int(100);
  if (roll < 8) return { type: 'create_session', session, timeout_ms: 100 + rng.int(900), time };
  if (roll < 12) return { type: 'close_session', session, time };
  if (roll < 15) return { type: 'expire_session', session, time };
  if (roll < 18) {
    const emptied = tree.emptiedContainers(10);
    return { type: 'delete_container', path: emptied.length > 0 && rng.next() < 0.7 ? rng.pick(emptied) : somePath(rng, tree), time };
  }
  if (roll < 30) {
    const ops: MultiOp[] = [];
    for (let k = 1 + rng.int(4); k > 0; k--) {
      const op = randomOp(rng, tree);
      if (!ops.some((o) => related(o.path, op.path))) ops.push(op);
    }
    return { type: 'multi', session, ops, time };
  }
  if (roll < 35) {
    // set_acl is never an op of a multi: only a txn of its own.
    const path = somePath(rng, tree);
    const s = tree.exists(path);
    const actual = s.ok && s.value !== null ? s.value.aversion : 0;
    return { type: 'set_acl', session, path, version: rng.pick([-1, actual, actual, actual + 1]), time };
  }
  return { ...randomOp(rng, tree), session, time };
}

/**
 * The multi's ops applied one by one, each as a txn of its own at the multi's zxid, on a copy of the
 * tree as it was before the multi (`before`): the tree the multi must leave, or the op that must fail.
 */
function expectLikeOneByOne(before: unknown, txn: Extract<ZkTxn, { type: 'multi' }>, applied: ZkApplied, after: ZkTree, where: string): void {
  const copy = ZkTree.restore(JSON.parse(JSON.stringify(before)));
  if (!copy.hasSession(txn.session)) {
    // The whole request fails, before any op: no per-op results.
    expect(applied.outcome, where).toEqual({ ok: false, error: expect.objectContaining({ name: 'SessionExpired' }) });
    return;
  }
  for (const [i, op] of txn.ops.entries()) {
    const one = copy.apply({ zxid: applied.zxid, txn: { ...op, session: txn.session, time: txn.time } });
    if (one.outcome.ok) continue;
    expect(applied.outcome.ok, `${where}: op ${i + 1} fails alone`).toBe(false);
    if (applied.outcome.ok) return;
    expect(applied.outcome.error.name, where).toBe(one.outcome.error.name);
    expect(applied.outcome.results, where).toEqual(txn.ops.map((_, j) => (j < i ? 'Ok' : j === i ? one.outcome.ok || one.outcome.error.name : 'RuntimeInconsistency')));
    const restored = after.snapshot();
    expect({ nodes: restored.nodes, sessions: restored.sessions }, `${where}: a failed multi changed the tree`).toEqual({ nodes: (before as typeof restored).nodes, sessions: (before as typeof restored).sessions });
    return;
  }
  expect(applied.outcome.ok, `${where}: every op applies alone`).toBe(true);
  expect(after.digest(), `${where}: the multi left another tree than its ops one by one`).toBe(copy.digest());
}

interface ModelWatch {
  session: string;
  path: string;
  kind: WatchKind;
  /** What the read saw, in a form that changes exactly when the watch must fire. */
  seen: string;
}

/** The watch's view of a znode: for data and exists watches its existence and mzxid; for child watches
 * its existence and pzxid (which every child create and delete moves). */
function viewOf(tree: ZkTree, path: string, kind: WatchKind): string {
  const r = tree.exists(path);
  if (!r.ok || r.value === null) return 'none';
  return kind === 'child' ? `${formatZxid(r.value.czxid)}/${formatZxid(r.value.pzxid)}` : `${formatZxid(r.value.czxid)}/${formatZxid(r.value.mzxid)}`;
}

function expectedType(kind: WatchKind, now: string): string {
  if (now === 'none') return 'NodeDeleted';
  return kind === 'exists' ? 'NodeCreated' : kind === 'data' ? 'NodeDataChanged' : 'NodeChildrenChanged';
}

function runSeed(seed: number, options: Partial<TreeOptions> = {}): void {
  const rng = createRng(seed);
  const a = new ZkTree(options);
  let b = new ZkTree(options);
  const watcher = new ZkReplica(new ZkTree(options));
  const restart_at = 1 + rng.int(txns_per_seed - 1);
  let model: ModelWatch[] = [];
  const issued = new Map<string, number>(); // parent znode -> last sequential suffix
  const where = (i: number): string => `seed ${seed}, txn ${i}`;

  for (let i = 1; i <= txns_per_seed; i++) {
    // Random reads with watches on the watching replica, by open sessions.
    for (let k = rng.int(3); k > 0; k--) {
      const session = rng.pick(sessions);
      if (!watcher.tree.hasSession(session)) continue;
      const path = somePath(rng, watcher.tree);
      const type = rng.pick(['exists', 'get_data', 'get_children'] as const);
      const r = watcher.read(session, { type, path, watch: true });
      if (!r.ok) continue;
      const kind: WatchKind = type === 'get_children' ? 'child' : type === 'get_data' ? 'data' : viewOf(watcher.tree, path, 'data') === 'none' ? 'exists' : 'data';
      if (!model.some((w) => w.session === session && w.path === path && w.kind === kind)) {
        model.push({ session, path, kind, seen: viewOf(watcher.tree, path, kind) });
      }
    }

    const txn = randomTxn(rng, a, 1000 + i);
    const entry = { zxid: zxid(1 + Math.floor(i / 100), i), txn };
    const before = txn.type === 'multi' ? a.snapshot() : null;
    const acl_before = txn.type === 'set_acl' ? a.exists(txn.path) : null;
    const ra = a.apply(entry);
    if (acl_before !== null && txn.type === 'set_acl') {
      // Only the ACL version moves, by one, and only when the version asked was -1 or the znode's.
      const was = acl_before.ok ? acl_before.value : null;
      const now = a.exists(txn.path);
      const expect_ok = was !== null && a.hasSession(txn.session) && (txn.version === -1 || txn.version === was.aversion);
      expect(ra.outcome.ok, `${where(i)}: ${JSON.stringify(txn)}`).toBe(expect_ok);
      expect(now.ok ? now.value : null, where(i)).toEqual(was === null ? null : { ...was, aversion: was.aversion + (expect_ok ? 1 : 0) });
    }
    if (txn.type === 'multi' && txn.ops.length > 0) expectLikeOneByOne(before, txn, ra, a, where(i));
    const rb = b.apply(JSON.parse(JSON.stringify(entry)));
    const rw = watcher.apply(entry);
    expect(JSON.stringify(rb.outcome), where(i)).toBe(JSON.stringify(ra.outcome));
    expect(b.digest(), where(i)).toBe(a.digest());
    expect(watcher.tree.digest(), where(i)).toBe(a.digest());
    expect(a.checkInvariants(), where(i)).toBeNull();
    expect(b.checkInvariants(), where(i)).toBeNull();

    if (ra.outcome.ok && ra.outcome.type === 'create' && txn.type === 'create' && txn.sequential) {
      // Per parent znode: a parent deleted and created again starts counting from 0, as in ZooKeeper.
      const parent_stat = a.exists(parentOf(ra.outcome.path));
      const parent = `${parentOf(ra.outcome.path)}@${parent_stat.ok && parent_stat.value !== null ? formatZxid(parent_stat.value.czxid) : '?'}`;
      const suffix = Number(ra.outcome.path.slice(-10));
      expect(suffix, `${where(i)}: suffix under ${parent} went backwards or repeated`).toBeGreaterThan(issued.get(parent) ?? -1);
      issued.set(parent, suffix);
    }

    // Watches: the closed session's are gone without an event; every other watch whose view changed
    // fires now, once, with the matching type; the rest stay silent.
    const o = ra.outcome;
    if (o.ok && (o.type === 'close_session' || o.type === 'expire_session')) model = model.filter((w) => w.session !== o.session);
    const expected = new Map<string, string>();
    const kept: ModelWatch[] = [];
    for (const w of model) {
      const now = viewOf(watcher.tree, w.path, w.kind);
      if (now === w.seen) kept.push(w);
      else expected.set(`${w.session} ${w.path}`, expectedType(w.kind, now));
    }
    model = kept;
    const actual = new Map(rw.events.map((e) => [`${e.session} ${e.path}`, e.type as string]));
    expect(rw.events.length, `${where(i)}: one event per watcher and path`).toBe(actual.size);
    expect(Object.fromEntries(actual), `${where(i)}: ${JSON.stringify(txn)}`).toEqual(Object.fromEntries(expected));

    if (i === restart_at) b = ZkTree.restore(JSON.parse(JSON.stringify(b.snapshot())), options);
  }
}

describe('random txn sequences', () => {
  if (replay_seed !== undefined) {
    it(`seed ${replay_seed}`, () => runSeed(Number(replay_seed)));
    return;
  }
  it(`${seeds_total} seeds of ${txns_per_seed} txns: replicas agree, invariants hold, watches fire exactly when their view changes`, () => {
    for (let seed = 1; seed <= seeds_total; seed++) runSeed(seed);
  });

  it('catches the planted bug (sequential suffix from the number of children)', () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= 50; seed++) {
      try {
        runSeed(seed, { planted_bug: 'suffix_from_child_count' });
      } catch (err) {
        failures.push(String(err));
      }
    }
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.some((f) => f.includes('went backwards or repeated'))).toBe(true);
  });

  it('the generator reaches every kind of outcome', () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 20; seed++) {
      const rng = createRng(seed);
      const t = new ZkTree();
      for (let i = 1; i <= txns_per_seed; i++) {
        const r = t.apply({ zxid: zxid(1, i), txn: randomTxn(rng, t, i) });
        seen.add(r.outcome.ok ? `ok ${r.outcome.type}` : r.outcome.error.name);
        if (!r.outcome.ok && r.outcome.results !== undefined) seen.add(`multi failed at op ${r.outcome.results.indexOf(r.outcome.error.name) + 1}`);
        if (r.outcome.ok && r.outcome.type === 'create' && r.outcome.stat.container === true) seen.add('ok create container');
      }
    }
    const kinds = ['ok create', 'ok delete', 'ok set_data', 'ok set_acl', 'ok check', 'ok multi', 'ok create container', 'ok delete_container', 'ok close_session', 'ok expire_session'];
    for (const k of [...kinds, 'multi failed at op 1', 'multi failed at op 2', 'NoNode', 'NodeExists', 'BadVersion', 'NotEmpty', 'NoChildrenForEphemerals', 'SessionExpired', 'BadArguments']) {
      expect(seen.has(k), k).toBe(true);
    }
  });
});
