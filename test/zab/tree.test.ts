// The znode tree as a state machine: every txn and read, every error, the stat after each kind of
// change, sequential suffixes, sessions and their ephemerals, snapshots and determinism.

import { describe, expect, it } from 'vitest';
import { error_codes } from '../../src/lib/protocol/messages.js';
import { isDefiniteZkError, zk_error_table, type ZkErrorName } from '../../src/lib/zk/errors.js';
import {
  multi_data_bytes_max,
  multi_ops_max,
  parseMultiOps,
  parseZkTxn,
  session_count_max,
  znode_children_max,
  znode_count_max,
  znode_data_bytes_max,
  znode_path_bytes_max,
  ZkTree,
  type ZkApplied,
  type ZkTxn,
} from '../../src/systems/zab/core/tree.js';
import { zxid, type Zxid } from '../../src/systems/zab/core/zxid.js';

/** Applies txns at zxids 1:1, 1:2, ... with leader times 1000, 1001, ... */
class Driver {
  counter = 0;
  constructor(readonly tree = new ZkTree()) {}
  next(): Zxid {
    return zxid(1, this.counter + 1);
  }
  apply(txn: Omit<ZkTxn, 'time'> & { time?: number }): ZkApplied {
    this.counter += 1;
    return this.tree.apply({ zxid: zxid(1, this.counter), txn: { time: 1000 + this.counter, ...txn } });
  }
  session(id = 'a', timeout_ms = 3000): void {
    expect(this.apply({ type: 'create_session', session: id, timeout_ms }).outcome.ok).toBe(true);
  }
  create(path: string, opts: { data?: string; ephemeral?: boolean; sequential?: boolean; session?: string } = {}): ZkApplied {
    return this.apply({ type: 'create', session: opts.session ?? 'a', path, data: opts.data ?? '', ephemeral: opts.ephemeral ?? false, sequential: opts.sequential ?? false });
  }
  del(path: string, version = -1, session = 'a'): ZkApplied {
    return this.apply({ type: 'delete', session, path, version });
  }
  set(path: string, data: string, version = -1, session = 'a'): ZkApplied {
    return this.apply({ type: 'set_data', session, path, data, version });
  }
  stat(path: string) {
    const r = this.tree.exists(path);
    if (!r.ok) throw new Error(r.error.text);
    return r.value;
  }
}

function errorOf(a: ZkApplied): ZkErrorName | null {
  return a.outcome.ok ? null : a.outcome.error.name;
}

function createdPath(a: ZkApplied): string {
  if (!a.outcome.ok || a.outcome.type !== 'create') throw new Error(`create failed: ${JSON.stringify(a.outcome)}`);
  return a.outcome.path;
}

describe('error table', () => {
  it('maps each ZooKeeper error onto a node-protocol code whose definiteness matches', () => {
    expect(zk_error_table.NoNode.code).toBe(error_codes.key_does_not_exist);
    expect(zk_error_table.NodeExists.code).toBe(error_codes.key_already_exists);
    expect(zk_error_table.BadVersion.code).toBe(error_codes.precondition_failed);
    // Errors of txns the tree refused: nothing happened, so the code must be definite.
    for (const name of ['NoNode', 'NodeExists', 'BadVersion', 'NotEmpty', 'NoChildrenForEphemerals', 'SessionExpired', 'BadArguments', 'QuotaExceeded'] as const) {
      expect(isDefiniteZkError(name), name).toBe(true);
    }
    // A lost connection may hide an applied write.
    expect(isDefiniteZkError('ConnectionLoss')).toBe(false);
    // A missing watch, an op a failed multi skipped and a refused connect: nothing happened.
    expect(zk_error_table.NoWatcher.code).toBe(error_codes.key_does_not_exist);
    for (const name of ['NoWatcher', 'RuntimeInconsistency', 'ZxidAhead'] as const) expect(isDefiniteZkError(name), name).toBe(true);
    expect(zk_error_table.ZxidAhead.code).toBe(error_codes.temporarily_unavailable);
  });
});

describe('create', () => {
  it('creates a persistent znode with its stat and updates the parent', () => {
    const d = new Driver();
    d.session();
    const at = d.next();
    const a = d.create('/app', { data: 'héllo' });
    expect(createdPath(a)).toBe('/app');
    const s = d.stat('/app')!;
    expect(s).toMatchObject({ czxid: at, mzxid: at, pzxid: at, version: 0, cversion: 0, ephemeralOwner: null, numChildren: 0, dataLength: 6 });
    expect(s.ctime).toBe(1000 + at.counter);
    expect(s.mtime).toBe(s.ctime);
    const root = d.stat('/')!;
    expect(root).toMatchObject({ cversion: 1, pzxid: at, numChildren: 1 });
    expect(root.mzxid).toEqual(zxid(0, 0));
    expect(a.triggers).toEqual([
      { path: '/app', type: 'NodeCreated' },
      { path: '/', type: 'NodeChildrenChanged' },
    ]);
    expect(d.tree.getData('/app')).toMatchObject({ ok: true, value: { data: 'héllo' } });
  });

  it('refuses an existing path, a missing parent, a child of an ephemeral and bad paths', () => {
    const d = new Driver();
    d.session();
    d.create('/a');
    expect(errorOf(d.create('/a'))).toBe('NodeExists');
    expect(errorOf(d.create('/'))).toBe('NodeExists');
    expect(errorOf(d.create('/missing/child'))).toBe('NoNode');
    d.create('/e', { ephemeral: true });
    expect(errorOf(d.create('/e/child'))).toBe('NoChildrenForEphemerals');
    expect(errorOf(d.create('/e/child', { sequential: true }))).toBe('NoChildrenForEphemerals');
    for (const bad of ['a', '/a/', '//a', '/a//b', '/a/./b', '/a/../b', '/a\u0000b', '']) {
      expect(errorOf(d.create(bad)), JSON.stringify(bad)).toBe('BadArguments');
    }
    // A failed create changes nothing.
    expect(d.tree.getChildren('/')).toMatchObject({ ok: true, value: { children: ['a', 'e'] } });
    expect(d.tree.checkInvariants()).toBeNull();
  });

  it('needs an open session', () => {
    const d = new Driver();
    expect(errorOf(d.create('/a'))).toBe('SessionExpired');
    expect(d.stat('/a')).toBeNull();
  });

  it('refuses data and paths over their limits', () => {
    const d = new Driver();
    d.session();
    expect(errorOf(d.create('/big', { data: 'x'.repeat(znode_data_bytes_max + 1) }))).toBe('BadArguments');
    expect(createdPath(d.create('/fits', { data: 'x'.repeat(znode_data_bytes_max) }))).toBe('/fits');
    expect(errorOf(d.create('/' + 'p'.repeat(znode_path_bytes_max)))).toBe('BadArguments');
    // Multi-byte characters count as their UTF-8 bytes.
    expect(errorOf(d.create('/b', { data: 'é'.repeat(znode_data_bytes_max / 2 + 1) }))).toBe('BadArguments');
    const big = d.create('/big', { data: 'x'.repeat(znode_data_bytes_max + 1) });
    expect(big.outcome.ok === false && big.outcome.error.text).toContain('znode_data_bytes_max');
  });

  it('refuses children past znode_children_max with QuotaExceeded', () => {
    const d = new Driver();
    d.session();
    d.create('/p');
    for (let i = 0; i < znode_children_max; i++) expect(createdPath(d.create(`/p/c${i}`))).toBe(`/p/c${i}`);
    const over = d.create('/p/one-more');
    expect(errorOf(over)).toBe('QuotaExceeded');
    expect(d.stat('/p')!.numChildren).toBe(znode_children_max);
  });
});

describe('znode_count_max', () => {
  it('refuses a create once the tree holds znode_count_max znodes, and a delete makes room again', () => {
    const d = new Driver();
    d.session();
    const parents = Math.ceil(znode_count_max / (znode_children_max - 1)) + 1;
    let count = 1;
    let last = '';
    outer: for (let p = 0; p < parents; p++) {
      d.create(`/p${p}`);
      count++;
      for (let i = 0; i < znode_children_max - 1; i++) {
        if (count === znode_count_max) break outer;
        last = createdPath(d.create(`/p${p}/c${i}`));
        count++;
      }
    }
    expect(d.tree.znode_count).toBe(znode_count_max);
    const over = d.create('/one-more');
    expect(errorOf(over)).toBe('QuotaExceeded');
    expect(over.outcome.ok === false && over.outcome.error.text).toContain('znode_count_max');
    d.del(last);
    expect(createdPath(d.create('/one-more'))).toBe('/one-more');
  });
});

describe('sequential znodes', () => {
  it('suffix is the parent cversion (counting creates), ten digits, monotonic across deletes and never reused', () => {
    const d = new Driver();
    d.session();
    d.create('/q');
    const first = createdPath(d.create('/q/job-', { sequential: true }));
    const second = createdPath(d.create('/q/job-', { sequential: true }));
    expect(first).toBe('/q/job-0000000000');
    expect(second).toBe('/q/job-0000000001');
    // A plain child bumps the counter too (it is the parent's cversion).
    d.create('/q/plain');
    d.del(second);
    d.del('/q/plain');
    d.del(first);
    expect(d.stat('/q')!.numChildren).toBe(0);
    const third = createdPath(d.create('/q/job-', { sequential: true }));
    // Deletes do not move cversion (as in ZooKeeper), but the counter never went back either.
    expect(third).toBe('/q/job-0000000003');
    const seen = [first, second, third];
    expect(new Set(seen).size).toBe(3);
    // Ending in '/' makes the suffix the whole name.
    expect(createdPath(d.create('/q/', { sequential: true }))).toBe('/q/0000000004');
    // Ephemeral and sequential together.
    const es = d.create('/q/lock-', { sequential: true, ephemeral: true });
    expect(createdPath(es)).toBe('/q/lock-0000000005');
    expect(d.stat('/q/lock-0000000005')!.ephemeralOwner).toBe('a');
  });

  it('the planted bug (suffix from the number of children) reuses a suffix after a delete', () => {
    const d = new Driver(new ZkTree({ planted_bug: 'suffix_from_child_count' }));
    d.session();
    d.create('/q');
    const a = createdPath(d.create('/q/n-', { sequential: true }));
    d.create('/q/n-', { sequential: true });
    d.del(a);
    // Two children were made; the next suffix must be 2, but the bug counts the one left: a clash.
    const next = d.create('/q/n-', { sequential: true });
    expect(errorOf(next)).toBe('NodeExists');
  });
});

describe('delete', () => {
  it('deletes with the right version and records it on the parent', () => {
    const d = new Driver();
    d.session();
    d.create('/a');
    d.create('/a/b');
    d.set('/a/b', 'x');
    expect(errorOf(d.del('/a/b', 0))).toBe('BadVersion');
    const at = d.next();
    const r = d.del('/a/b', 1);
    expect(r.outcome).toEqual({ ok: true, type: 'delete', path: '/a/b' });
    expect(r.triggers).toEqual([
      { path: '/a/b', type: 'NodeDeleted' },
      { path: '/a', type: 'NodeChildrenChanged' },
    ]);
    expect(d.stat('/a/b')).toBeNull();
    // pzxid moves; the cversion clients see counts the create and the delete, as ZooKeeper 3.8 reports it.
    expect(d.stat('/a')).toMatchObject({ cversion: 2, pzxid: at, numChildren: 0, version: 0 });
    // The next sequential suffix still counts creates only (ZooKeeper: /a/s-0000000001 here).
    expect(d.create('/a/s-', { sequential: true }).outcome).toMatchObject({ ok: true, path: '/a/s-0000000001' });
    expect(d.stat('/a')).toMatchObject({ cversion: 3, numChildren: 1 });
  });

  it('refuses a missing znode, a version mismatch before checking children, children, and the root', () => {
    const d = new Driver();
    d.session();
    expect(errorOf(d.del('/none'))).toBe('NoNode');
    d.create('/a');
    d.create('/a/b');
    // ZooKeeper checks the version first.
    expect(errorOf(d.del('/a', 7))).toBe('BadVersion');
    expect(errorOf(d.del('/a'))).toBe('NotEmpty');
    expect(errorOf(d.del('/a', 0))).toBe('NotEmpty');
    expect(errorOf(d.del('/'))).toBe('BadArguments');
    expect(errorOf(d.del('/a/b', 0, 'nobody'))).toBe('SessionExpired');
    expect(d.stat('/a/b')).not.toBeNull();
  });
});

describe('set_data', () => {
  it('bumps version, mzxid, mtime and dataLength, and nothing else', () => {
    const d = new Driver();
    d.session();
    d.create('/a', { data: 'one' });
    const before = d.stat('/a')!;
    const at = d.next();
    const r = d.set('/a', 'three', 0);
    expect(r.outcome.ok).toBe(true);
    expect(r.triggers).toEqual([{ path: '/a', type: 'NodeDataChanged' }]);
    const after = d.stat('/a')!;
    expect(after).toEqual({ ...before, mzxid: at, mtime: 1000 + at.counter, version: 1, dataLength: 5 });
    expect(d.stat('/')!.pzxid).toEqual(before.czxid);
    expect(d.set('/a', 'four', -1).outcome).toMatchObject({ ok: true, stat: { version: 2 } });
  });

  it('refuses a version mismatch, a missing znode, an expired session and oversized data', () => {
    const d = new Driver();
    d.session();
    d.create('/a', { data: 'one' });
    expect(errorOf(d.set('/a', 'x', 3))).toBe('BadVersion');
    expect(errorOf(d.set('/b', 'x'))).toBe('NoNode');
    expect(errorOf(d.set('/a', 'x', -1, 'gone'))).toBe('SessionExpired');
    expect(errorOf(d.set('/a', 'x'.repeat(znode_data_bytes_max + 1)))).toBe('BadArguments');
    expect(d.tree.getData('/a')).toMatchObject({ ok: true, value: { data: 'one', stat: { version: 0 } } });
  });
});

describe('set_acl', () => {
  it('bumps the ACL version only: no zxid, time, data version or watch trigger moves', () => {
    const d = new Driver();
    d.session();
    d.create('/a', { data: 'one' });
    const before = d.stat('/a')!;
    expect(before.aversion).toBe(0);
    const r = d.apply({ type: 'set_acl', session: 'a', path: '/a', version: 0 });
    expect(r.outcome).toEqual({ ok: true, type: 'set_acl', path: '/a', stat: { ...before, aversion: 1 } });
    expect(r.triggers).toEqual([]);
    expect(d.stat('/a')).toEqual({ ...before, aversion: 1 });
    // -1 takes any ACL version; a data change leaves the ACL version alone.
    expect(d.apply({ type: 'set_acl', session: 'a', path: '/a', version: -1 }).outcome).toMatchObject({ ok: true, stat: { aversion: 2 } });
    d.set('/a', 'two');
    expect(d.stat('/a')).toMatchObject({ version: 1, aversion: 2 });
    // On the root as on any znode.
    expect(d.apply({ type: 'set_acl', session: 'a', path: '/', version: 0 }).outcome).toMatchObject({ ok: true, stat: { aversion: 1 } });
  });

  it('checks the ACL version (not the data version), the znode, the session and the path, changing nothing when refused', () => {
    const d = new Driver();
    d.session();
    d.create('/a');
    d.set('/a', 'x');
    const acl = (path: string, version: number, session = 'a') => d.apply({ type: 'set_acl', session, path, version });
    // Data version 1, ACL version 0: the ACL version is what is checked.
    expect(errorOf(acl('/a', 1))).toBe('BadVersion');
    expect(errorOf(acl('/b', -1))).toBe('NoNode');
    expect(errorOf(acl('/a', 0, 'gone'))).toBe('SessionExpired');
    // An expired session is told so before a missing znode, as ZooKeeper checks the session first.
    expect(errorOf(acl('/b', 0, 'gone'))).toBe('SessionExpired');
    expect(errorOf(acl('a', 0))).toBe('BadArguments');
    expect(d.stat('/a')).toMatchObject({ version: 1, aversion: 0 });
    expect(d.tree.checkInvariants()).toBeNull();
  });

  it('is a txn of its own, never an op of a multi (ZooKeeper has no setACL op)', () => {
    expect(parseZkTxn({ type: 'set_acl', session: 'a', path: '/a', version: 0, time: 1 })).not.toBeNull();
    expect(parseZkTxn({ type: 'set_acl', session: 'a', path: '/a', version: -2, time: 1 })).toBeNull();
    expect(parseZkTxn({ type: 'set_acl', session: 'a', version: 0, time: 1 })).toBeNull();
    expect(parseMultiOps([{ type: 'set_acl', path: '/a', version: 0 }])).toMatch(/op 1 is not/);
  });
});

describe('reads', () => {
  it('exists, get_data and get_children answer from the applied tree', () => {
    const d = new Driver();
    d.session();
    d.create('/z');
    d.create('/z/b');
    d.create('/z/a', { data: 'v' });
    expect(d.tree.exists('/nope')).toEqual({ ok: true, value: null });
    expect(d.tree.getData('/nope')).toMatchObject({ ok: false, error: { name: 'NoNode', code: 20 } });
    expect(d.tree.getChildren('/nope')).toMatchObject({ ok: false, error: { name: 'NoNode' } });
    expect(d.tree.getChildren('/z')).toMatchObject({ ok: true, value: { children: ['a', 'b'], stat: { numChildren: 2 } } });
    expect(d.tree.getData('bad')).toMatchObject({ ok: false, error: { name: 'BadArguments', code: 12 } });
    // A stat handed out is a copy: changing it does not change the tree.
    const s = d.stat('/z')!;
    s.version = 99;
    expect(d.stat('/z')!.version).toBe(0);
  });
});

describe('sessions', () => {
  it('close_session deletes the session’s ephemerals, updates parents, and the session is gone', () => {
    const d = new Driver();
    d.session('a');
    d.session('b');
    d.create('/locks');
    d.create('/locks/x', { ephemeral: true });
    d.create('/e', { ephemeral: true });
    d.create('/locks/y', { ephemeral: true, session: 'b' });
    const at = d.next();
    const r = d.apply({ type: 'close_session', session: 'a' });
    expect(r.outcome).toEqual({ ok: true, type: 'close_session', session: 'a', deleted: ['/e', '/locks/x'] });
    expect(r.triggers).toContainEqual({ path: '/locks/x', type: 'NodeDeleted' });
    expect(r.triggers).toContainEqual({ path: '/e', type: 'NodeDeleted' });
    expect(d.stat('/locks/x')).toBeNull();
    expect(d.stat('/locks/y')).not.toBeNull();
    expect(d.stat('/locks')).toMatchObject({ pzxid: at, numChildren: 1 });
    expect(d.tree.hasSession('a')).toBe(false);
    expect(errorOf(d.create('/late'))).toBe('SessionExpired');
    expect(errorOf(d.apply({ type: 'close_session', session: 'a' }))).toBe('SessionExpired');
    expect(d.tree.checkInvariants()).toBeNull();
  });

  it('expire_session does the same as a close', () => {
    const d = new Driver();
    d.session('a');
    d.create('/e', { ephemeral: true });
    const r = d.apply({ type: 'expire_session', session: 'a' });
    expect(r.outcome).toMatchObject({ ok: true, type: 'expire_session', deleted: ['/e'] });
    expect(d.stat('/e')).toBeNull();
    expect(d.tree.ephemeralsOf('a')).toEqual([]);
  });

  it('refuses a duplicate session id and sessions past session_count_max', () => {
    const d = new Driver();
    d.session('a');
    expect(errorOf(d.apply({ type: 'create_session', session: 'a', timeout_ms: 100 }))).toBe('BadArguments');
    for (let i = 1; i < session_count_max; i++) d.session(`s${i}`);
    expect(d.tree.session_count).toBe(session_count_max);
    expect(errorOf(d.apply({ type: 'create_session', session: 'over', timeout_ms: 100 }))).toBe('QuotaExceeded');
  });

  it('deleting an ephemeral by hand takes it off its session', () => {
    const d = new Driver();
    d.session('a');
    d.create('/e', { ephemeral: true });
    d.del('/e');
    expect(d.tree.ephemeralsOf('a')).toEqual([]);
    expect(d.apply({ type: 'close_session', session: 'a' }).outcome).toMatchObject({ deleted: [] });
  });
});

describe('txn shape, snapshots, digests', () => {
  it('a malformed txn fails with BadArguments on every replica and still takes its zxid', () => {
    const t = new ZkTree();
    const r = t.apply({ zxid: zxid(2, 5), txn: { type: 'create', path: '/a' } });
    expect(r.outcome).toMatchObject({ ok: false, error: { name: 'BadArguments' } });
    expect(t.applied_zxid).toEqual(zxid(2, 5));
    expect(parseZkTxn({ type: 'delete', session: 'a', path: '/a', version: -2, time: 1 })).toBeNull();
    expect(parseZkTxn({ type: 'create_session', session: 'a', timeout_ms: 0, time: 1 })).toBeNull();
    expect(parseZkTxn({ type: 'set_data', session: 'a', path: '/a', data: 'x', version: 0, time: 1 })).not.toBeNull();
  });

  it('a restored snapshot is the same tree (digest, sessions, ephemerals, counters)', () => {
    const d = new Driver();
    d.session('a');
    d.create('/q');
    d.create('/q/n-', { sequential: true, ephemeral: true });
    d.create('/q/m-', { sequential: true });
    d.set('/q', 'data');
    const copy = ZkTree.restore(JSON.parse(JSON.stringify(d.tree.snapshot())));
    expect(copy.digest()).toBe(d.tree.digest());
    expect(copy.checkInvariants()).toBeNull();
    expect(copy.ephemeralsOf('a')).toEqual(['/q/n-0000000000']);
    // The restored copy goes on exactly like the original.
    const next = new Driver(copy);
    next.counter = d.counter;
    expect(createdPath(next.create('/q/n-', { sequential: true }))).toBe(createdPath(d.create('/q/n-', { sequential: true })));
    next.apply({ type: 'close_session', session: 'a' });
    d.apply({ type: 'close_session', session: 'a' });
    expect(copy.digest()).toBe(d.tree.digest());
    expect(copy.paths()).toEqual(['/', '/q', '/q/m-0000000001', '/q/n-0000000002']);
  });

  it('a snapshot keeps each ACL version; an image from before ACL versions were kept restores them as 0', () => {
    const d = new Driver();
    d.session('a');
    d.create('/q');
    d.create('/q/r');
    d.apply({ type: 'set_acl', session: 'a', path: '/q', version: 0 });
    d.apply({ type: 'set_acl', session: 'a', path: '/q', version: 1 });
    const image = JSON.parse(JSON.stringify(d.tree.snapshot())) as { nodes: Array<{ path: string; stat: Record<string, unknown> }> };
    expect(image.nodes.find((n) => n.path === '/q')!.stat.aversion).toBe(2);
    const copy = ZkTree.restore(image);
    expect(copy.digest()).toBe(d.tree.digest());
    expect(copy.exists('/q')).toMatchObject({ ok: true, value: { aversion: 2 } });
    // The older image: no aversion in any stat.
    for (const n of image.nodes) delete n.stat.aversion;
    const old = ZkTree.restore(image);
    expect(old.checkInvariants()).toBeNull();
    for (const path of ['/', '/q', '/q/r']) expect(old.exists(path)).toMatchObject({ ok: true, value: { aversion: 0 } });
    // It goes on from there: the next set_acl expects ACL version 0.
    const next = new Driver(old);
    next.counter = d.counter;
    expect(errorOf(next.apply({ type: 'set_acl', session: 'a', path: '/q', version: 2 }))).toBe('BadVersion');
    expect(next.apply({ type: 'set_acl', session: 'a', path: '/q', version: 0 }).outcome).toMatchObject({ ok: true, stat: { aversion: 1 } });
    // Its snapshot writes the field.
    expect(old.snapshot().nodes.every((n) => typeof n.stat.aversion === 'number')).toBe(true);
  });

  it('the digest tells apart trees that differ in data, stat or sessions', () => {
    const a = new Driver();
    const b = new Driver();
    for (const d of [a, b]) {
      d.session('a');
      d.create('/x', { data: '1' });
    }
    expect(a.tree.digest()).toBe(b.tree.digest());
    a.set('/x', '2');
    b.set('/x', '2', 5); // BadVersion: b's data stays
    expect(a.tree.digest()).not.toBe(b.tree.digest());
    // Trees that differ only in an ACL version.
    const f = new Driver();
    const g = new Driver();
    for (const d of [f, g]) {
      d.session('a');
      d.create('/x', { data: '1' });
    }
    f.apply({ type: 'set_acl', session: 'a', path: '/x', version: -1 });
    g.apply({ type: 'set_acl', session: 'a', path: '/x', version: 3 }); // BadVersion: g's ACL version stays
    expect(g.stat('/x')).toEqual({ ...f.stat('/x')!, aversion: 0 });
    expect(f.tree.digest()).not.toBe(g.tree.digest());
    const c = new Driver();
    const e = new Driver();
    c.session('a');
    e.session('b');
    expect(c.tree.digest()).not.toBe(e.tree.digest());
  });
});

describe('the sync txn', () => {
  it('changes nothing but the zxid, and fails with SessionExpired once the session is gone', () => {
    const d = new Driver();
    d.session('a', 1234);
    d.create('/x');
    const before = d.tree.digest();
    const ok = d.apply({ type: 'sync', session: 'a' });
    expect(ok.outcome).toEqual({ ok: true, type: 'sync', session: 'a', timeout_ms: 1234 });
    expect(ok.triggers).toEqual([]);
    expect(d.tree.paths()).toEqual(['/', '/x']);
    expect(d.tree.digest()).not.toBe(before); // the applied zxid moved
    expect(d.tree.sessionTimeout('a')).toBe(1234);
    d.apply({ type: 'close_session', session: 'a' });
    expect(d.tree.sessionTimeout('a')).toBeNull();
    expect(errorOf(d.apply({ type: 'sync', session: 'a' }))).toBe('SessionExpired');
    expect(parseZkTxn({ type: 'sync', session: 'a', time: 1 })).not.toBeNull();
  });
});

describe('multi', () => {
  const multi = (d: Driver, ops: unknown[], session = 'a') => d.apply({ type: 'multi', session, ops } as Omit<ZkTxn, 'time'>);

  it('applies every op under one zxid, each seeing the ops before it, and reports each result', () => {
    const d = new Driver();
    d.session();
    d.create('/old', { data: 'v0' });
    const at = d.next();
    const r = multi(d, [
      { type: 'create', path: '/job', data: 'j', ephemeral: false, sequential: false },
      { type: 'create', path: '/job/t-', data: '', ephemeral: true, sequential: true },
      { type: 'check', path: '/job', version: 0 },
      { type: 'set_data', path: '/job', data: 'j2', version: 0 },
      { type: 'delete', path: '/old', version: 0 },
    ]);
    expect(r.zxid).toEqual(at);
    expect(r.outcome).toMatchObject({
      ok: true,
      type: 'multi',
      results: [
        { type: 'create', path: '/job', stat: { czxid: at, version: 0 } },
        { type: 'create', path: '/job/t-0000000000', stat: { czxid: at, ephemeralOwner: 'a' } },
        { type: 'check', path: '/job' },
        { type: 'set_data', path: '/job', stat: { czxid: at, mzxid: at, version: 1, dataLength: 2 } },
        { type: 'delete', path: '/old' },
      ],
    });
    expect(d.tree.paths()).toEqual(['/', '/job', '/job/t-0000000000']);
    expect(d.tree.ephemeralsOf('a')).toEqual(['/job/t-0000000000']);
    // Watches hear each op's changes in order, as if they came one by one.
    expect(r.triggers).toEqual([
      { path: '/job', type: 'NodeCreated' },
      { path: '/', type: 'NodeChildrenChanged' },
      { path: '/job/t-0000000000', type: 'NodeCreated' },
      { path: '/job', type: 'NodeChildrenChanged' },
      { path: '/job', type: 'NodeDataChanged' },
      { path: '/old', type: 'NodeDeleted' },
      { path: '/', type: 'NodeChildrenChanged' },
    ]);
    expect(d.tree.checkInvariants()).toBeNull();
  });

  it('a failing op leaves the tree as it was: Ok before it, its error, RuntimeInconsistency after it; the txn still takes its zxid', () => {
    const d = new Driver();
    d.session();
    d.create('/p', { data: 'v' });
    d.create('/p/e', { ephemeral: true });
    const digest_before = d.tree.snapshot();
    const r = multi(d, [
      { type: 'set_data', path: '/p', data: 'changed', version: -1 },
      { type: 'create', path: '/p/q-', data: '', ephemeral: false, sequential: true },
      { type: 'delete', path: '/p/e', version: -1 },
      { type: 'create', path: '/p/e', data: 'again', ephemeral: false, sequential: false },
      { type: 'check', path: '/p', version: 0 },
      { type: 'delete', path: '/nope', version: -1 },
    ]);
    // The check sees the set_data before it: /p is at version 1 by then.
    expect(r.outcome).toMatchObject({ ok: false, error: { name: 'BadVersion' }, results: ['Ok', 'Ok', 'Ok', 'Ok', 'BadVersion', 'RuntimeInconsistency'] });
    expect(r.outcome.ok === false && r.outcome.error.text).toContain('op 5 of the multi');
    expect(r.triggers).toEqual([]);
    const after = d.tree.snapshot();
    expect(after.nodes).toEqual(digest_before.nodes);
    expect(after.zxid).toEqual(r.zxid);
    // The ephemeral is its session's again, and /p's sequential counter did not move.
    expect(d.tree.ephemeralsOf('a')).toEqual(['/p/e']);
    expect(createdPath(d.create('/p/q-', { sequential: true }))).toBe('/p/q-0000000001');
    expect(d.tree.checkInvariants()).toBeNull();
    // The first op failing: every later op is RuntimeInconsistency.
    expect(multi(d, [{ type: 'check', path: '/x', version: -1 }, { type: 'delete', path: '/p', version: -1 }]).outcome).toMatchObject({
      ok: false,
      error: { name: 'NoNode', code: error_codes.key_does_not_exist },
      results: ['NoNode', 'RuntimeInconsistency'],
    });
  });

  it('an empty multi applies; a closed session fails the whole multi, with no per-op results', () => {
    const d = new Driver();
    d.session();
    expect(multi(d, []).outcome).toEqual({ ok: true, type: 'multi', results: [] });
    const r = multi(d, [{ type: 'create', path: '/a', data: '', ephemeral: false, sequential: false }], 'gone');
    expect(r.outcome).toEqual({ ok: false, error: expect.objectContaining({ name: 'SessionExpired' }) });
  });

  it('parses only well-formed ops within the limits', () => {
    const op = { type: 'check', path: '/a', version: -1 };
    expect(parseMultiOps([op])).toEqual([op]);
    expect(parseMultiOps(Array.from({ length: multi_ops_max }, () => op))).toHaveLength(multi_ops_max);
    expect(parseMultiOps(Array.from({ length: multi_ops_max + 1 }, () => op))).toContain('multi_ops_max');
    const half = 'x'.repeat(multi_data_bytes_max / 2 + 1);
    const set = (data: string) => ({ type: 'set_data', path: '/a', data, version: -1 });
    expect(parseMultiOps([set(half), set(half)])).toContain('multi_data_bytes_max');
    for (const bad of [null, 'ops', [{ type: 'get_data', path: '/a' }], [{ type: 'check', path: '/a' }], [{ type: 'create', path: '/a', data: '', ephemeral: 1, sequential: false }], [7]]) {
      expect(typeof parseMultiOps(bad), JSON.stringify(bad)).toBe('string');
    }
    expect(parseZkTxn({ type: 'multi', session: 'a', ops: [op], time: 1 })).not.toBeNull();
    expect(parseZkTxn({ type: 'multi', session: 'a', ops: [{ type: 'sync' }], time: 1 })).toBeNull();
  });
});

describe('check', () => {
  it('changes nothing; fails with NoNode or BadVersion as a conditional write would', () => {
    const d = new Driver();
    d.session();
    d.create('/a');
    d.set('/a', 'v');
    const before = d.tree.snapshot().nodes;
    expect(d.apply({ type: 'check', session: 'a', path: '/a', version: 1 }).outcome).toEqual({ ok: true, type: 'check', path: '/a' });
    expect(d.apply({ type: 'check', session: 'a', path: '/a', version: -1 }).outcome.ok).toBe(true);
    expect(errorOf(d.apply({ type: 'check', session: 'a', path: '/a', version: 0 }))).toBe('BadVersion');
    expect(errorOf(d.apply({ type: 'check', session: 'a', path: '/b', version: -1 }))).toBe('NoNode');
    expect(errorOf(d.apply({ type: 'check', session: 'a', path: 'a', version: -1 }))).toBe('BadArguments');
    expect(errorOf(d.apply({ type: 'check', session: 'x', path: '/a', version: -1 }))).toBe('SessionExpired');
    expect(d.tree.snapshot().nodes).toEqual(before);
  });
});

describe('containers', () => {
  const container = (d: Driver, path: string) => d.apply({ type: 'create', session: 'a', path, data: '', ephemeral: false, sequential: false, container: true });

  it('a container reports container in its stat, holds children, and is listed for deletion only once it had one and has none', () => {
    const d = new Driver();
    d.session();
    expect(container(d, '/locks').outcome).toMatchObject({ ok: true, stat: { container: true, ephemeralOwner: null } });
    expect(d.stat('/locks')).toMatchObject({ container: true });
    d.create('/plain');
    expect(d.stat('/plain')).not.toHaveProperty('container');
    // Never had a child: kept.
    expect(d.tree.emptiedContainers(10)).toEqual([]);
    createdPath(d.create('/locks/lock-', { sequential: true, ephemeral: true }));
    expect(d.tree.emptiedContainers(10)).toEqual([]);
    d.del('/locks/lock-0000000000');
    expect(d.tree.emptiedContainers(10)).toEqual(['/locks']);
    container(d, '/b');
    d.create('/b/x');
    d.del('/b/x');
    expect(d.tree.emptiedContainers(1)).toEqual(['/b']);
    // The snapshot keeps the flag, and the restored tree knows its containers.
    const restored = ZkTree.restore(JSON.parse(JSON.stringify(d.tree.snapshot())));
    expect(restored.emptiedContainers(10)).toEqual(['/b', '/locks']);
    expect(restored.digest()).toBe(d.tree.digest());
    expect(restored.checkInvariants()).toBeNull();
  });

  it('delete_container deletes an emptied container, and refuses one with children, a missing one and a znode that is not a container', () => {
    const d = new Driver();
    d.session();
    container(d, '/c');
    d.create('/c/kid');
    d.create('/plain');
    const del = (path: string) => d.apply({ type: 'delete_container', path } as Omit<ZkTxn, 'time'>);
    expect(errorOf(del('/c'))).toBe('NotEmpty');
    expect(errorOf(del('/plain'))).toBe('BadArguments');
    expect(errorOf(del('/nope'))).toBe('NoNode');
    d.del('/c/kid');
    const r = del('/c');
    expect(r.outcome).toEqual({ ok: true, type: 'delete_container', path: '/c' });
    expect(r.triggers).toEqual([
      { path: '/c', type: 'NodeDeleted' },
      { path: '/', type: 'NodeChildrenChanged' },
    ]);
    expect(d.stat('/c')).toBeNull();
    expect(d.tree.emptiedContainers(10)).toEqual([]);
    expect(d.tree.checkInvariants()).toBeNull();
  });

  it('a container is neither ephemeral nor sequential; the digest tells a container from a plain znode', () => {
    const d = new Driver();
    d.session();
    for (const flags of [{ ephemeral: true, sequential: false }, { ephemeral: false, sequential: true }]) {
      expect(errorOf(d.apply({ type: 'create', session: 'a', path: '/c', data: '', ...flags, container: true }))).toBe('BadArguments');
    }
    const plain = new Driver();
    plain.session();
    plain.create('/c');
    container(d, '/c');
    expect(d.tree.digest()).not.toBe(plain.tree.digest());
    expect(parseZkTxn({ type: 'create', session: 'a', path: '/c', data: '', ephemeral: false, sequential: false, container: 'yes', time: 1 })).toBeNull();
    expect(parseZkTxn({ type: 'delete_container', path: '/c', time: 1 })).not.toBeNull();
  });
});
