// The ZooKeeper lock recipe over dslab's Zab coordinator. Backend calls only: the loop, the resource and
// the state reports are the contender's.

/**
 * The ZooKeeper recipe over dslab's Zab coordinator: an ephemeral sequential
 * znode under the lock node; the children read without a watch; the lowest
 * sequence number owns the lock; every other contender sets an exists watch
 * on the node just below its own only (no herd: a release wakes one
 * contender), and when it fires reads the children again rather than trust
 * the event (the node below may have gone because its session expired while
 * one further below still holds). A holder whose session expired, or may have
 * (no reply from its server within the session timeout less a margin), stops
 * before it writes. The token is the znode's sequence number.
 *
 * ZkSession is the part of the shared ZkClient (src/lib/zk/client.ts)
 * it uses, so the tests can run it over an in-memory ZooKeeper too.
 */
import { AcquireTimeout, acquire_wait_ms_max, type Held, type LockInfo, type Recipe, type RecipeContext, type ReleaseOutcome } from './recipe.js';

export const zk_lock_path = '/dslab-lock';
export const zk_counter_path = '/dslab-counter';
export const zk_lock_child_prefix = 'lock-';
/**
 * While it waits, a contender also looks at the node below its own this often
 * (one read, of that node only: still no herd). A watch event can be missed:
 * the shared client drops one that arrives in the same chunk as the reply
 * that set the watch (it remembers the watch only after the reply's await).
 */
export const predecessor_recheck_ms = 500;
/** A holder writes only while its last reply is this much younger than its session timeout (ZooKeeper's clients disconnect at two thirds). */
export const session_margin_fraction = 1 / 3;

/** The recipe reads no stat field (the token is the sequence number in the name). */
export type ZkStatLike = object;

/** The part of the shared ZkClient this recipe uses (the same names and shapes). */
export interface ZkSession {
  readonly session: string;
  readonly timeout_ms: number;
  readonly last_ok_ms: number;
  readonly state: 'connected' | 'reconnecting' | 'expired' | 'closed';
  create(path: string, data?: string, flags?: { ephemeral?: boolean; sequential?: boolean }): Promise<{ path: string; stat: ZkStatLike }>;
  delete(path: string, version?: number): Promise<void>;
  exists(path: string, watch?: boolean): Promise<ZkStatLike | null>;
  getData(path: string, watch?: boolean): Promise<{ data: string; stat: ZkStatLike }>;
  setData(path: string, data: string, version?: number): Promise<unknown>;
  getChildren(path: string, watch?: boolean): Promise<string[]>;
  close(): Promise<void>;
  on(event: 'watch', handler: (e: { path: string; event: string; zxid: string }) => void): () => void;
  on(event: 'state', handler: (state: ZkSession['state']) => void): () => void;
}

/** The sequence number ZooKeeper appended to a sequential node's name (ten digits). */
export function sequenceOf(name: string): number {
  const match = /(\d+)$/.exec(name);
  if (!match) throw new Error(`${name} has no sequence number`);
  return Number(match[1]);
}

/** ZooKeeper error names the recipe expects (ZkClientError.name_zk). */
function zkErrorName(error: unknown): string | undefined {
  return (error as { name_zk?: string } | null)?.name_zk;
}

export class ZkLock implements Recipe {
  readonly name = 'zk';

  constructor(
    private readonly context: RecipeContext,
    private session: ZkSession,
    /** Opens a new session once this one expired (a contender goes on after losing its session, as a new client). */
    private readonly reconnect?: () => Promise<ZkSession>,
  ) {}

  private async live(): Promise<ZkSession> {
    if ((this.session.state === 'expired' || this.session.state === 'closed') && this.reconnect) {
      this.context.log(`session ${this.session.session} ${this.session.state}: opening a new one`);
      this.session = await this.reconnect();
    }
    return this.session;
  }

  private async ensureNode(path: string, data = ''): Promise<void> {
    try {
      await this.session.create(path, data);
    } catch (error) {
      if (zkErrorName(error) !== 'NodeExists') throw error;
    }
  }

  async acquire(): Promise<Held> {
    await this.live();
    await this.ensureNode(zk_lock_path);
    const created = await this.session.create(`${zk_lock_path}/${zk_lock_child_prefix}`, this.context.node, { ephemeral: true, sequential: true });
    const own_name = created.path.slice(zk_lock_path.length + 1);
    const own = sequenceOf(own_name);
    const deadline = this.context.now() + acquire_wait_ms_max;
    try {
      for (;;) {
        const children = (await this.session.getChildren(zk_lock_path, false)).filter((c) => c.startsWith(zk_lock_child_prefix)).sort((a, b) => sequenceOf(a) - sequenceOf(b));
        if (!children.includes(own_name)) throw new Error(`${created.path} is gone: the session expired while waiting`);
        const lower = children.filter((c) => sequenceOf(c) < own);
        if (lower.length === 0) return { token: own, acquired_ms: this.context.now(), ttl_ms: this.session.timeout_ms, detail: { path: created.path, session: this.session } };
        // The planted watch_holder bug watches the lowest node (the holder): every waiter wakes at every release.
        const predecessor = `${zk_lock_path}/${this.context.planted_bug === 'watch_holder' ? lower[0]! : lower[lower.length - 1]!}`;
        const gone = await this.waitForDelete(predecessor, deadline);
        // The planted trust_watch bug takes the lock on the event alone: the node below may have gone with its
        // session while one further below still holds.
        if (this.context.planted_bug === 'trust_watch' && gone) return { token: own, acquired_ms: this.context.now(), ttl_ms: this.session.timeout_ms, detail: { path: created.path, session: this.session } };
      }
    } catch (error) {
      await this.session.delete(created.path).catch(() => {});
      throw error;
    }
  }

  /** Sets an exists watch on the node below ours and waits for it to fire (or finds it already gone); true when the watch fired. */
  private async waitForDelete(path: string, deadline: number): Promise<boolean> {
    let fired = () => {};
    let by_event = false;
    const event = new Promise<void>((resolve) => (fired = resolve));
    const unwatch = this.session.on('watch', (e) => {
      if (e.path !== path) return;
      by_event = true;
      fired();
    });
    const unstate = this.session.on('state', (state) => {
      if (state === 'expired' || state === 'closed') fired();
    });
    try {
      const stat = await this.session.exists(path, true);
      if (stat === null) return false;
      this.context.queued?.(true);
      const left = deadline - this.context.now();
      if (left <= 0) throw new AcquireTimeout(`waited ${acquire_wait_ms_max / 1000}s for ${path} to go`);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new AcquireTimeout(`waited ${acquire_wait_ms_max / 1000}s for ${path} to go`)), left)));
      const recheck = setInterval(() => {
        this.session.exists(path, false).then((stat) => stat === null && fired(), () => {});
      }, predecessor_recheck_ms);
      try {
        await Promise.race([event, timeout]);
      } finally {
        clearTimeout(timer);
        clearInterval(recheck);
      }
      return by_event;
    } finally {
      this.context.queued?.(false);
      unwatch();
      unstate();
    }
  }

  mayWrite(held: Held): boolean {
    const session = held.detail.session as ZkSession;
    if (session.state !== 'connected') return false;
    return this.context.now() - session.last_ok_ms < session.timeout_ms * (1 - session_margin_fraction);
  }

  async release(held: Held): Promise<ReleaseOutcome> {
    try {
      await (held.detail.session as ZkSession).delete(String(held.detail.path));
      return 'released';
    } catch (error) {
      // Gone (NoNode), or gone with its session: either way it was no longer ours.
      if (zkErrorName(error) === 'NoNode' || zkErrorName(error) === 'SessionExpired' || (held.detail.session as ZkSession).state === 'expired') return 'lost';
      throw error;
    }
  }

  async readCounter(): Promise<number> {
    await this.live();
    try {
      return Number((await this.session.getData(zk_counter_path)).data || 0);
    } catch (error) {
      if (zkErrorName(error) === 'NoNode') return 0;
      throw error;
    }
  }

  async writeCounter(value: number): Promise<void> {
    await this.live();
    try {
      await this.session.setData(zk_counter_path, String(value));
    } catch (error) {
      if (zkErrorName(error) !== 'NoNode') throw error;
      await this.session.create(zk_counter_path, String(value));
    }
  }

  async info(): Promise<LockInfo> {
    await this.live();
    let children: string[];
    try {
      children = (await this.session.getChildren(zk_lock_path)).filter((c) => c.startsWith(zk_lock_child_prefix)).sort((a, b) => sequenceOf(a) - sequenceOf(b));
    } catch (error) {
      if (zkErrorName(error) === 'NoNode') return { holder: null, token: null, ttl_left_ms: null, waiters: [] };
      throw error;
    }
    const holders = await Promise.all(children.map(async (c) => (await this.session.getData(`${zk_lock_path}/${c}`).catch(() => ({ data: '?' }))).data));
    return { holder: holders[0] ?? null, token: children[0] ? sequenceOf(children[0]) : null, ttl_left_ms: null, waiters: holders.slice(1) };
  }

  async close(): Promise<void> {
    await this.session.close().catch(() => {});
  }
}
