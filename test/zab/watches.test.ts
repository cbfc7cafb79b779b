// Server-local one-shot watches and the leader's session tracker.

import { describe, expect, it } from 'vitest';
import { negotiateSessionTimeout, SessionIdSource, SessionTracker, session_timeout_ticks_max, session_timeout_ticks_min } from '../../src/systems/zab/core/sessions.js';
import type { ZkTxn } from '../../src/systems/zab/core/tree.js';
import { watch_count_max, WatchManager, ZkReplica, type ZkReplicaApplied } from '../../src/systems/zab/core/watches.js';
import { zxid } from '../../src/systems/zab/core/zxid.js';

class Server {
  counter = 0;
  constructor(readonly r = new ZkReplica()) {}
  apply(txn: Omit<ZkTxn, 'time'>): ZkReplicaApplied {
    this.counter += 1;
    return this.r.apply({ zxid: zxid(1, this.counter), txn: { time: this.counter, ...txn } });
  }
  create(path: string, session = 'w', ephemeral = false): ZkReplicaApplied {
    return this.apply({ type: 'create', session, path, data: '', ephemeral, sequential: false });
  }
}

function setup(): Server {
  const s = new Server();
  s.apply({ type: 'create_session', session: 'w', timeout_ms: 1000 });
  s.apply({ type: 'create_session', session: 'x', timeout_ms: 1000 });
  return s;
}

function kinds(a: ZkReplicaApplied): string[] {
  return a.events.map((e) => `${e.session} ${e.type} ${e.path}`);
}

describe('watches', () => {
  it('exists on a missing znode fires NodeCreated once, then is gone', () => {
    const s = setup();
    expect(s.r.read('x', { type: 'exists', path: '/a', watch: true })).toEqual({ ok: true, value: { stat: null } });
    const made = s.create('/a');
    expect(kinds(made)).toEqual(['x NodeCreated /a']);
    expect(made.events[0]!.zxid).toEqual(made.zxid);
    // One-shot: the next change fires nothing.
    expect(kinds(s.apply({ type: 'set_data', session: 'w', path: '/a', data: 'v', version: -1 }))).toEqual([]);
    expect(s.r.watches.size).toBe(0);
  });

  it('get_data fires on set_data and on delete; exists on a present znode is a data watch', () => {
    const s = setup();
    s.create('/a');
    s.r.read('x', { type: 'get_data', path: '/a', watch: true });
    expect(kinds(s.apply({ type: 'set_data', session: 'w', path: '/a', data: '1', version: -1 }))).toEqual(['x NodeDataChanged /a']);
    s.r.read('x', { type: 'exists', path: '/a', watch: true });
    expect(kinds(s.apply({ type: 'delete', session: 'w', path: '/a', version: -1 }))).toEqual(['x NodeDeleted /a']);
  });

  it('a failed txn fires nothing and the watch stays', () => {
    const s = setup();
    s.create('/a');
    s.r.read('x', { type: 'get_data', path: '/a', watch: true });
    expect(kinds(s.apply({ type: 'set_data', session: 'w', path: '/a', data: '1', version: 9 }))).toEqual([]);
    expect(s.r.watches.has('x', '/a', 'data')).toBe(true);
  });

  it('child watches fire on a child created or deleted, and on the znode itself deleted', () => {
    const s = setup();
    s.create('/p');
    s.r.read('x', { type: 'get_children', path: '/p', watch: true });
    expect(kinds(s.create('/p/c'))).toEqual(['x NodeChildrenChanged /p']);
    // A data change on the parent does not fire a child watch.
    s.r.read('x', { type: 'get_children', path: '/p', watch: true });
    expect(kinds(s.apply({ type: 'set_data', session: 'w', path: '/p', data: 'd', version: -1 }))).toEqual([]);
    expect(kinds(s.apply({ type: 'delete', session: 'w', path: '/p/c', version: -1 }))).toEqual(['x NodeChildrenChanged /p']);
    s.r.read('x', { type: 'get_children', path: '/p', watch: true });
    s.r.read('w', { type: 'get_data', path: '/p', watch: true });
    // Across sessions the order does not matter; each gets its event.
    expect(kinds(s.apply({ type: 'delete', session: 'w', path: '/p', version: -1 })).sort()).toEqual(['w NodeDeleted /p', 'x NodeDeleted /p']);
  });

  it('events come in the order of the changes, and one per trigger for a session watching twice', () => {
    const s = setup();
    s.create('/p');
    s.r.read('x', { type: 'exists', path: '/p/c', watch: true });
    s.r.read('x', { type: 'get_children', path: '/p', watch: true });
    s.r.read('x', { type: 'get_data', path: '/p', watch: true });
    s.r.read('x', { type: 'exists', path: '/p', watch: true }); // the same data watch again
    expect(s.r.watches.size).toBe(3);
    expect(kinds(s.create('/p/c'))).toEqual(['x NodeCreated /p/c', 'x NodeChildrenChanged /p']);
    expect(kinds(s.apply({ type: 'set_data', session: 'w', path: '/p', data: 'd', version: -1 }))).toEqual(['x NodeDataChanged /p']);
  });

  it('reads on a missing znode set no get_data or get_children watch; a bad path sets none', () => {
    const s = setup();
    expect(s.r.read('x', { type: 'get_data', path: '/a', watch: true })).toMatchObject({ ok: false, error: { name: 'NoNode' } });
    expect(s.r.read('x', { type: 'get_children', path: '/a', watch: true })).toMatchObject({ ok: false, error: { name: 'NoNode' } });
    expect(s.r.read('x', { type: 'exists', path: 'a', watch: true })).toMatchObject({ ok: false, error: { name: 'BadArguments' } });
    expect(s.r.watches.size).toBe(0);
    expect(s.r.read('x', { type: 'exists', path: '/a', watch: false })).toEqual({ ok: true, value: { stat: null } });
    expect(s.r.watches.size).toBe(0);
    expect(kinds(s.create('/a'))).toEqual([]);
  });

  it('reads need an open session', () => {
    const s = setup();
    expect(s.r.read('nobody', { type: 'exists', path: '/', watch: false })).toMatchObject({ ok: false, error: { name: 'SessionExpired', code: 14 } });
  });

  it('an expiry deletes the ephemerals and fires the other sessions’ watches; the expired session’s watches are dropped', () => {
    const s = setup();
    s.create('/svc');
    s.create('/svc/w', 'w', true);
    s.r.read('x', { type: 'exists', path: '/svc/w', watch: true });
    s.r.read('x', { type: 'get_children', path: '/svc', watch: true });
    s.r.read('w', { type: 'get_children', path: '/svc', watch: true });
    s.r.read('w', { type: 'exists', path: '/other', watch: true });
    const r = s.apply({ type: 'expire_session', session: 'w' });
    expect(r.outcome).toMatchObject({ ok: true, deleted: ['/svc/w'] });
    expect(kinds(r)).toEqual(['x NodeDeleted /svc/w', 'x NodeChildrenChanged /svc']);
    expect(s.r.watches.size).toBe(0);
    expect(s.r.tree.checkInvariants()).toBeNull();
  });

  it('a read after the txn sees the change the event announced', () => {
    const s = setup();
    s.create('/a');
    s.r.read('x', { type: 'get_data', path: '/a', watch: true });
    const r = s.apply({ type: 'set_data', session: 'w', path: '/a', data: 'new', version: -1 });
    expect(r.events).toHaveLength(1);
    expect(s.r.read('x', { type: 'get_data', path: '/a', watch: false })).toMatchObject({ ok: true, value: { data: 'new', stat: { mzxid: r.events[0]!.zxid } } });
  });

  it('refuses a watch past watch_count_max with QuotaExceeded and keeps count through fires and drops', () => {
    const m = new WatchManager();
    for (let i = 0; i < watch_count_max; i++) expect(m.add('s', `/n${i}`, 'data')).toBeNull();
    expect(m.add('s', '/over', 'data')).toMatchObject({ name: 'QuotaExceeded' });
    expect(m.add('s', '/n0', 'data')).toBeNull(); // already set: no new watch
    m.fire([{ path: '/n0', type: 'NodeDeleted' }], zxid(1, 1));
    expect(m.size).toBe(watch_count_max - 1);
    expect(m.add('t', '/over', 'child')).toBeNull();
    m.dropSession('s');
    expect(m.size).toBe(1);
  });

  it('a restored replica has the same tree and no watches', () => {
    const s = setup();
    s.create('/a');
    s.r.read('x', { type: 'get_data', path: '/a', watch: true });
    const copy = ZkReplica.restore(JSON.parse(JSON.stringify(s.r.snapshot())));
    expect(copy.tree.digest()).toBe(s.r.tree.digest());
    expect(copy.watches.size).toBe(0);
  });
});

describe('remove_watches, check_watches', () => {
  it('removes the session’s watches of the type asked for (1 children, 2 data, 3 any), and no event comes from them', () => {
    const s = setup();
    s.create('/p');
    s.r.read('x', { type: 'get_data', path: '/p', watch: true });
    s.r.read('x', { type: 'get_children', path: '/p', watch: true });
    s.r.read('w', { type: 'get_data', path: '/p', watch: true });
    // checkWatches removes nothing.
    expect(s.r.removeWatches('x', '/p', 2, false)).toBeNull();
    expect(s.r.watches.size).toBe(3);
    expect(s.r.removeWatches('x', '/p', 2, true)).toBeNull();
    expect(s.r.removeWatches('x', '/p', 2, true)).toMatchObject({ name: 'NoWatcher', code: 20 });
    expect(s.r.removeWatches('x', '/p', 2, false)).toMatchObject({ name: 'NoWatcher' });
    // The other session's data watch and x's child watch remain.
    expect(kinds(s.apply({ type: 'set_data', session: 'w', path: '/p', data: 'd', version: -1 }))).toEqual(['w NodeDataChanged /p']);
    expect(kinds(s.create('/p/c'))).toEqual(['x NodeChildrenChanged /p']);
    // An exists watch on a missing znode is a data watch to ZooKeeper; "any" removes every kind.
    s.r.read('x', { type: 'exists', path: '/q', watch: true });
    expect(s.r.removeWatches('x', '/q', 1, true)).toMatchObject({ name: 'NoWatcher' });
    s.r.read('x', { type: 'get_children', path: '/p', watch: true });
    expect(s.r.removeWatches('x', '/q', 3, true)).toBeNull();
    expect(s.r.removeWatches('x', '/p', 3, true)).toBeNull();
    expect(s.r.watches.size).toBe(0);
    expect(kinds(s.create('/q'))).toEqual([]);
  });

  it('refuses a bad path, an unknown watcher_type and a closed session', () => {
    const s = setup();
    expect(s.r.removeWatches('x', 'p', 3, true)).toMatchObject({ name: 'BadArguments' });
    expect(s.r.removeWatches('x', '/p', 4, true)).toMatchObject({ name: 'BadArguments' });
    expect(s.r.removeWatches('nobody', '/p', 3, false)).toMatchObject({ name: 'SessionExpired' });
  });
});

describe('watches in a multi', () => {
  it('fire as the ops would one by one; a failed multi fires none and the watches stay', () => {
    const s = setup();
    s.create('/p');
    s.r.read('x', { type: 'get_children', path: '/p', watch: true });
    s.r.read('x', { type: 'exists', path: '/p/c', watch: true });
    s.r.read('w', { type: 'get_data', path: '/p', watch: true });
    const failed = s.apply({ type: 'multi', session: 'w', ops: [{ type: 'create', path: '/p/c', data: '', ephemeral: false, sequential: false }, { type: 'check', path: '/p', version: 5 }] });
    expect(failed.outcome.ok).toBe(false);
    expect(kinds(failed)).toEqual([]);
    expect(s.r.watches.size).toBe(3);
    const ok = s.apply({
      type: 'multi',
      session: 'w',
      ops: [
        { type: 'create', path: '/p/c', data: '', ephemeral: false, sequential: false },
        { type: 'set_data', path: '/p', data: 'd', version: -1 },
      ],
    });
    expect(kinds(ok)).toEqual(['x NodeCreated /p/c', 'x NodeChildrenChanged /p', 'w NodeDataChanged /p']);
    expect(ok.events.every((e) => e.zxid === ok.zxid)).toBe(true);
  });
});

describe('a read-only multi', () => {
  it('serves each op on its own, an error for one not stopping the others, and sets no watch', () => {
    const s = setup();
    s.create('/a');
    s.create('/a/k');
    const r = s.r.multiRead('x', [
      { type: 'get_data', path: '/a' },
      { type: 'get_children', path: '/nope' },
      { type: 'get_children', path: '/a' },
    ]);
    expect(r).toMatchObject({ ok: true, value: [{ type: 'get_data', data: '', stat: { numChildren: 1 } }, { type: 'error', error: { name: 'NoNode' } }, { type: 'get_children', children: ['k'] }] });
    expect(s.r.watches.size).toBe(0);
    expect(s.r.multiRead('nobody', [])).toMatchObject({ ok: false, error: { name: 'SessionExpired' } });
  });
});

describe('session tracker', () => {
  it('expires a session not heard from within its timeout, once', () => {
    const t = new SessionTracker();
    t.add('a', 100, 0);
    t.add('b', 300, 0);
    expect(t.tick(99)).toEqual([]);
    expect(t.touch('a', 50)).toBe(true); // deadline now 150
    expect(t.tick(120)).toEqual([]);
    expect(t.tick(150)).toEqual(['a']);
    expect(t.tick(1000)).toEqual(['b']); // a is not reported twice
    expect(t.isExpiring('a')).toBe(true);
    // An expiring session is not revived by a late ping.
    expect(t.touch('a', 1000)).toBe(false);
    t.remove('a');
    expect(t.touch('a', 1000)).toBe(false);
    expect(t.size).toBe(1);
  });

  it('reports several due sessions oldest deadline first, ties by id', () => {
    const t = new SessionTracker();
    t.add('z', 100, 0);
    t.add('y', 100, 0);
    t.add('x', 50, 0);
    expect(t.tick(500)).toEqual(['x', 'y', 'z']);
  });

  it('a new leader adopts the tree’s sessions with a whole timeout from now', () => {
    const t = new SessionTracker();
    t.add('stale', 10, 0);
    t.adopt([{ session: 'a', timeout_ms: 100 }], 1000);
    expect(t.deadlineOf('a')).toBe(1100);
    expect(t.deadlineOf('stale')).toBeNull();
    expect(t.tick(1099)).toEqual([]);
  });

  it('negotiates timeouts into 2..20 ticks and hands out unique ids per epoch', () => {
    expect(negotiateSessionTimeout(1, 100)).toBe(session_timeout_ticks_min * 100);
    expect(negotiateSessionTimeout(1e9, 100)).toBe(session_timeout_ticks_max * 100);
    expect(negotiateSessionTimeout(750, 100)).toBe(750);
    const a = new SessionIdSource(3);
    const b = new SessionIdSource(4);
    const ids = [a.next(), a.next(), b.next(), b.next()];
    expect(new Set(ids).size).toBe(4);
  });
});
