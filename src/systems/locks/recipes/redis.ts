// The Redis lock recipes (redis, redis-naive): a contender's lock and counter calls over Redis. Backend
// calls only: the loop, the resource and the state reports are the contender's.

/**
 * The Redis recipes. `redis`: SET key value NX PX ttl with a token INCR taken
 * in the same script (so the token belongs to this grant and no other), and a
 * compare-and-delete script to release (only the value this contender set).
 * `redis-naive` (the seed's): SETNX, then a separate PEXPIRE, a token INCR
 * taken after, and a plain DEL that removes whatever lock is there — another
 * contender's too, once this one's expired.
 */
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { AcquireTimeout, acquire_wait_ms_max, backend_call_timeout_ms, type Held, type LockInfo, type Recipe, type RecipeContext, type ReleaseOutcome, retryDelayMs, sleep } from './recipe.js';

export const redis_lock_key = 'dslab:lock';
export const redis_token_key = 'dslab:lock:token';
export const redis_counter_key = 'dslab:counter';

/** Acquire and take a token in one step: the token is taken only by the contender the SET admitted. */
const acquire_script = `if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return redis.call('INCR', KEYS[2]) else return false end`;
/** Delete the lock only while it is still ours. */
const release_script = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export function redisClient(address: string | null): Redis {
  if (!address) throw new Error('no redis server in init (dslab_servers)');
  const [host, port] = address.split(':');
  return new Redis({
    host,
    port: Number(port),
    // A dead or partitioned server fails the round quickly; the client reconnects on its own.
    commandTimeout: backend_call_timeout_ms,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 100,
    lazyConnect: false,
  });
}

abstract class RedisRecipe implements Recipe {
  abstract readonly name: string;
  protected readonly redis: Redis;

  constructor(
    protected readonly context: RecipeContext,
    /** A connection to share (a planted bug borrows the naive recipe's steps over the safe one's connection). */
    shared?: Redis,
  ) {
    this.redis = shared ?? redisClient(context.server_address);
    // Connection errors surface as failed commands; the event would otherwise be an unhandled 'error'.
    if (!shared) this.redis.on('error', () => {});
  }

  protected value(): string {
    return `${this.context.node}:${randomBytes(6).toString('hex')}`;
  }

  abstract acquire(): Promise<Held>;
  abstract release(held: Held): Promise<ReleaseOutcome>;

  mayWrite(): boolean {
    return true;
  }

  async readCounter(): Promise<number> {
    return Number((await this.redis.get(redis_counter_key)) ?? 0);
  }

  async writeCounter(value: number): Promise<void> {
    await this.redis.set(redis_counter_key, String(value));
  }

  async info(): Promise<LockInfo> {
    const [value, ttl, token] = await Promise.all([this.redis.get(redis_lock_key), this.redis.pttl(redis_lock_key), this.redis.get(redis_token_key)]);
    return { holder: value ? value.split(':')[0]! : null, token: value && token !== null ? Number(token) : null, ttl_left_ms: value && ttl >= 0 ? ttl : null, waiters: [] };
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }

  /** Tries `attempt` until it grants the lock or the wait runs out. */
  protected async retry(attempt: () => Promise<Held | null>): Promise<Held> {
    const deadline = this.context.now() + acquire_wait_ms_max;
    for (;;) {
      // A server that is down or restarting is waited out like a busy lock: a waiter goes on trying until its wait runs out.
      const held = await attempt().catch((error: unknown) => {
        if (this.context.now() > deadline) throw error;
        return null;
      });
      if (held) return held;
      if (this.context.now() > deadline) throw new AcquireTimeout(`the lock stayed busy for ${acquire_wait_ms_max / 1000}s`);
      await sleep(retryDelayMs());
    }
  }
}

export class RedisSetNx extends RedisRecipe {
  readonly name = 'redis';

  acquire(): Promise<Held> {
    const ttl_ms = this.context.ttl_ms;
    if (this.context.planted_bug === 'separate_expire') return new RedisNaive(this.context, this.redis).acquire();
    return this.retry(async () => {
      const value = this.value();
      const token = (await this.redis.eval(acquire_script, 2, redis_lock_key, redis_token_key, value, String(ttl_ms))) as number | null;
      if (token === null) return null;
      return { token: Number(token), acquired_ms: this.context.now(), ttl_ms, detail: { value } };
    });
  }

  async release(held: Held): Promise<ReleaseOutcome> {
    if (this.context.planted_bug === 'plain_del') return new RedisNaive(this.context, this.redis).release(held);
    const deleted = (await this.redis.eval(release_script, 1, redis_lock_key, String(held.detail.value))) as number;
    return deleted === 1 ? 'released' : 'lost';
  }
}

export class RedisNaive extends RedisRecipe {
  readonly name = 'redis-naive';

  acquire(): Promise<Held> {
    const ttl_ms = this.context.ttl_ms;
    return this.retry(async () => {
      const value = this.value();
      if ((await this.redis.setnx(redis_lock_key, value)) !== 1) return null;
      // Not atomic with the SETNX: a holder that dies between the two leaves a lock that never expires.
      await this.redis.pexpire(redis_lock_key, ttl_ms);
      const token = await this.redis.incr(redis_token_key);
      return { token, acquired_ms: this.context.now(), ttl_ms, detail: { value } };
    });
  }

  async release(held: Held): Promise<ReleaseOutcome> {
    // Deletes whatever is there, and says whose it was only for the contender's count.
    const current = await this.redis.get(redis_lock_key);
    await this.redis.del(redis_lock_key);
    return current === held.detail.value ? 'released' : 'lost';
  }
}
