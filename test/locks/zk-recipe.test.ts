import { describe, expect, it } from 'vitest';
import type { RecipeContext } from '../../src/systems/locks/recipes/recipe.js';
import { ZkLock, type ZkSession, type ZkStatLike, zk_lock_path } from '../../src/systems/locks/recipes/zk.js';

/**
 * An in-memory ZooKeeper for the recipe: one tree shared by sessions, with
 * sequential and ephemeral nodes, one-shot exists watches and session expiry.
 * It stands in for the shared client (not yet on this branch): the recipe is
 * tested against the documented API, not against the coordinator.
 */
class FakeZk {
  nodes = new Map<string, { data: string; owner: string | null }>();
  sequence = new Map<string, number>();
  sessions = new Set<FakeSession>();
  /** Every exists watch set, by path: the herd check. */
  watches_set: string[] = [];
  /** Drop watch events (a client that missed one). */
  drop_events = false;

  childrenOf(path: string): string[] {
    return [...this.nodes.keys()].filter((p) => p.startsWith(`${path}/`) && !p.slice(path.length + 1).includes('/')).map((p) => p.slice(path.length + 1)).sort();
  }

  remove(path: string): void {
    this.nodes.delete(path);
    for (const session of this.sessions) session.fire(path, 'NodeDeleted');
  }

  expire(session: FakeSession): void {
    session.state = 'expired';
    for (const [path, node] of [...this.nodes]) if (node.owner === session.session) this.remove(path);
    session.emitState();
  }
}

class ZkError extends Error {
  constructor(readonly name_zk: string) {
    super(name_zk);
  }
}

class FakeSession implements ZkSession {
  state: ZkSession['state'] = 'connected';
  readonly timeout_ms = 3000;
  last_ok_ms = 0;
  private readonly watchers = new Set<(e: { path: string; event: string; zxid: string }) => void>();
  private readonly stateWatchers = new Set<(s: ZkSession['state']) => void>();
  private readonly armed = new Set<string>();

  constructor(
    private readonly zk: FakeZk,
    readonly session: string,
    private readonly clock: { now: number },
  ) {
    zk.sessions.add(this);
  }

  private ok(): void {
    if (this.state !== 'connected') throw new ZkError('SessionExpired');
    this.last_ok_ms = this.clock.now;
  }

  fire(path: string, event: string): void {
    if (!this.armed.delete(path) || this.zk.drop_events) return;
    for (const w of [...this.watchers]) w({ path, event, zxid: '1:1' });
  }

  emitState(): void {
    for (const w of [...this.stateWatchers]) w(this.state);
  }

  async create(path: string, data = '', flags: { ephemeral?: boolean; sequential?: boolean } = {}): Promise<{ path: string; stat: ZkStatLike }> {
    this.ok();
    let full = path;
    if (flags.sequential) {
      const parent = path.slice(0, path.lastIndexOf('/'));
      const n = this.zk.sequence.get(parent) ?? 0;
      this.zk.sequence.set(parent, n + 1);
      full = `${path}${String(n).padStart(10, '0')}`;
    }
    if (this.zk.nodes.has(full)) throw new ZkError('NodeExists');
    this.zk.nodes.set(full, { data, owner: flags.ephemeral ? this.session : null });
    return { path: full, stat: {} };
  }

  async delete(path: string): Promise<void> {
    this.ok();
    if (!this.zk.nodes.has(path)) throw new ZkError('NoNode');
    this.zk.remove(path);
  }

  async exists(path: string, watch = false): Promise<ZkStatLike | null> {
    this.ok();
    if (watch) {
      this.armed.add(path);
      this.zk.watches_set.push(path);
    }
    return this.zk.nodes.has(path) ? {} : null;
  }

  async getData(path: string): Promise<{ data: string; stat: ZkStatLike }> {
    this.ok();
    const node = this.zk.nodes.get(path);
    if (!node) throw new ZkError('NoNode');
    return { data: node.data, stat: {} };
  }

  async setData(path: string, data: string): Promise<unknown> {
    this.ok();
    const node = this.zk.nodes.get(path);
    if (!node) throw new ZkError('NoNode');
    node.data = data;
    return {};
  }

  async getChildren(path: string, watch = false): Promise<string[]> {
    this.ok();
    if (watch) throw new Error('the recipe reads the children without a watch');
    if (!this.zk.nodes.has(path)) throw new ZkError('NoNode');
    return this.zk.childrenOf(path);
  }

  async close(): Promise<void> {
    this.state = 'closed';
  }

  on(event: 'watch', handler: (e: { path: string; event: string; zxid: string }) => void): () => void;
  on(event: 'state', handler: (state: ZkSession['state']) => void): () => void;
  on(event: 'watch' | 'state', handler: ((e: { path: string; event: string; zxid: string }) => void) | ((state: ZkSession['state']) => void)): () => void {
    const set = (event === 'watch' ? this.watchers : this.stateWatchers) as Set<typeof handler>;
    set.add(handler);
    return () => set.delete(handler);
  }
}

function contender(zk: FakeZk, node: string, clock: { now: number }) {
  let sessions = 0;
  const session = new FakeSession(zk, `s-${node}-${sessions}`, clock);
  /** What the recipe told the contender of its place in the queue, in order. */
  const queued: boolean[] = [];
  const context: RecipeContext = { node, now: () => clock.now, ttl_ms: 3000, server_address: null, coordinator: ['z1'], log: () => {}, queued: (q) => queued.push(q) };
  const reconnect = async () => new FakeSession(zk, `s-${node}-${++sessions}`, clock);
  return { session, queued, lock: new ZkLock(context, session, reconnect) };
}

/** Lets every pending promise callback run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('the ZooKeeper lock recipe (against an in-memory ZooKeeper)', () => {
  it('grants in sequence order, each waiter watching only the node just below its own, and a release wakes one', async () => {
    const zk = new FakeZk();
    const clock = { now: 0 };
    const [k1, k2, k3] = ['k1', 'k2', 'k3'].map((id) => contender(zk, id, clock));
    const held1 = await k1!.lock.acquire();
    const granted: string[] = [];
    const p2 = k2!.lock.acquire().then((h) => (granted.push('k2'), h));
    const p3 = k3!.lock.acquire().then((h) => (granted.push('k3'), h));
    await settle();
    expect(granted).toEqual([]);
    expect(zk.watches_set).toEqual([`${zk_lock_path}/lock-0000000000`, `${zk_lock_path}/lock-0000000001`]);
    expect(held1.token).toBe(0);
    expect(await k1!.lock.release(held1)).toBe('released');
    const held2 = await p2;
    await settle();
    expect(granted).toEqual(['k2']);
    expect(held2.token).toBe(1);
    expect(await k2!.lock.release(held2)).toBe('released');
    expect((await p3).token).toBe(2);
    expect(granted).toEqual(['k2', 'k3']);
  });

  it('says it is queued once its watch on the node below is set, and no longer once that node went', async () => {
    const zk = new FakeZk();
    const clock = { now: 0 };
    const [k1, k2] = ['k1', 'k2'].map((id) => contender(zk, id, clock));
    const held1 = await k1!.lock.acquire();
    // The holder never waited.
    expect(k1!.queued).toEqual([]);
    const p2 = k2!.lock.acquire();
    await settle();
    expect(zk.watches_set).toEqual([`${zk_lock_path}/lock-0000000000`]);
    expect(k2!.queued).toEqual([true]);
    await k1!.lock.release(held1);
    await p2;
    expect(k2!.queued).toEqual([true, false]);
  });

  it('re-reads the children when the watch fires: the node below going (its session expired) does not grant the lock while a lower one holds', async () => {
    const zk = new FakeZk();
    const clock = { now: 0 };
    const [k1, k2, k3] = ['k1', 'k2', 'k3'].map((id) => contender(zk, id, clock));
    const held1 = await k1!.lock.acquire();
    const p2 = k2!.lock.acquire();
    p2.catch(() => {});
    let k3_granted = false;
    const p3 = k3!.lock.acquire().then((h) => ((k3_granted = true), h));
    await settle();
    zk.expire(k2!.session);
    await settle();
    expect(k3_granted).toBe(false);
    // k3 now watches k1's node, the one below it.
    expect(zk.watches_set.at(-1)).toBe(`${zk_lock_path}/lock-0000000000`);
    await expect(p2).rejects.toThrow();
    await k1!.lock.release(held1);
    expect((await p3).token).toBe(2);
  });

  it('a holder stops before writing once its session expired or its server went quiet for most of the timeout', async () => {
    const zk = new FakeZk();
    const clock = { now: 1000 };
    const k1 = contender(zk, 'k1', clock);
    const held = await k1.lock.acquire();
    expect(k1.lock.mayWrite(held)).toBe(true);
    clock.now += 2500; // more than two thirds of the 3 s session timeout without a reply
    expect(k1.lock.mayWrite(held)).toBe(false);
    clock.now = k1.session.last_ok_ms;
    zk.expire(k1.session);
    expect(k1.lock.mayWrite(held)).toBe(false);
    expect(zk.nodes.has(String(held.detail.path))).toBe(false);
    expect(await k1.lock.release(held)).toBe('lost');
    // The next round opens a new session and is granted the lock again.
    const again = await k1.lock.acquire();
    expect((again.detail.session as ZkSession).session).toBe('s-k1-1');
    expect(k1.lock.mayWrite(again)).toBe(true);
  });

  it('keeps the counter in a znode for --counter backend', async () => {
    const zk = new FakeZk();
    const k1 = contender(zk, 'k1', { now: 0 });
    expect(await k1.lock.readCounter()).toBe(0);
    await k1.lock.writeCounter(1);
    await k1.lock.writeCounter(2);
    expect(await k1.lock.readCounter()).toBe(2);
  });

  it('still wakes when the watch event is missed: it looks at the node below on its own, that node only', async () => {
    const zk = new FakeZk();
    const clock = { now: 0 };
    const [k1, k2] = ['k1', 'k2'].map((id) => contender(zk, id, clock));
    const held1 = await k1!.lock.acquire();
    const p2 = k2!.lock.acquire();
    await settle();
    zk.drop_events = true;
    await k1!.lock.release(held1);
    expect((await p2).token).toBe(1);
  });
});
