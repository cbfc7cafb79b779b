// The etcd lock recipe: a contender's lock and counter calls over etcd. Backend calls only: the loop,
// the resource and the state reports are the contender's.

/**
 * The etcd recipe (the shape of etcd's own concurrency.Mutex): a lease of the
 * lock's TTL, kept alive while the contender runs; a key under the lock
 * prefix bound to it; the key with the lowest create revision owns the lock;
 * the others each wait for the delete of the key just before their own, then
 * look again. After waiting, a contender checks that its own key (and so its
 * lease) still exists: a lease that expired while it waited — a pause, a
 * partition — took its key and its place, and a contender that skipped the
 * check (`etcd-no-recheck`, etcd-io/etcd#11456) would hold the lock beside the
 * one that moved up. The token is the key's create revision.
 */
import { Etcd3, type Lease } from 'etcd3';
import { AcquireTimeout, acquire_wait_ms_max, backend_call_timeout_ms, type Held, type LockInfo, type Recipe, type RecipeContext, type ReleaseOutcome } from './recipe.js';

export const etcd_lock_prefix = 'dslab/lock/';
export const etcd_counter_key = 'dslab/counter';

export function etcdClient(address: string | null): Etcd3 {
  if (!address) throw new Error('no etcd server in init (dslab_servers)');
  return new Etcd3({
    hosts: `http://${address}`,
    dialTimeout: backend_call_timeout_ms,
    // Streams (watches, keepalives) live as long as they are needed; a unary call that stalls fails the round.
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + backend_call_timeout_ms }),
  });
}

interface Entry {
  key: string;
  holder: string;
  create_revision: number;
  lease: string;
}

export class EtcdLock implements Recipe {
  readonly name: string;
  private readonly client: Etcd3;

  constructor(
    private readonly context: RecipeContext,
    /** False: the planted hole, no check of the own key after waiting. */
    private readonly recheck: boolean,
  ) {
    this.name = recheck ? 'etcd' : 'etcd-no-recheck';
    this.client = etcdClient(context.server_address);
  }

  private async entries(): Promise<{ entries: Entry[]; revision: number }> {
    const response = await this.client.getAll().prefix(etcd_lock_prefix).sort('Create', 'Ascend').exec();
    return {
      revision: Number(response.header.revision),
      entries: response.kvs.map((kv) => ({ key: kv.key.toString(), holder: kv.value.toString(), create_revision: Number(kv.create_revision), lease: kv.lease })),
    };
  }

  async acquire(): Promise<Held> {
    const ttl_s = Math.max(1, Math.ceil(this.context.ttl_ms / 1000));
    const lease = this.client.lease(ttl_s);
    // A lost lease is learned from the key's absence; the event would otherwise be unhandled.
    lease.on('lost', () => {});
    try {
      const id = await lease.grant();
      const key = `${etcd_lock_prefix}${id}`;
      const put = await lease.put(key).value(this.context.node).exec();
      const own = Number(put.header.revision);
      const deadline = this.context.now() + acquire_wait_ms_max;
      let waited = false;
      for (;;) {
        const { entries, revision } = await this.entries();
        const mine = entries.find((e) => e.key === key && e.create_revision === own);
        if (!mine && (this.recheck || !waited)) {
          // Our key is gone: the lease expired (while we waited, or before we looked). Start over with a new one.
          throw new LeaseExpired(`the lease of ${key} expired while waiting for the lock`);
        }
        const before = entries.filter((e) => e.create_revision < own);
        if (before.length === 0 || (!this.recheck && waited)) {
          return { token: own, acquired_ms: this.context.now(), ttl_ms: ttl_s * 1000, detail: { key, lease } };
        }
        // Wait for the one just before ours only: each waiter watches a different key, so a release wakes one contender.
        const predecessor = before[before.length - 1]!;
        await this.waitForDelete(predecessor.key, revision, deadline);
        waited = true;
      }
    } catch (error) {
      await lease.revoke().catch(() => {});
      throw error;
    }
  }

  private async waitForDelete(key: string, after_revision: number, deadline: number): Promise<void> {
    const watcher = await this.client.watch().key(key).startRevision(String(after_revision + 1)).create();
    // create() resolves once etcd confirmed the watch: from here on, a delete of `key` reaches this waiter.
    this.context.queued?.(true);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new AcquireTimeout(`waited ${acquire_wait_ms_max / 1000}s for ${key} to go`)), Math.max(0, deadline - this.context.now()));
        watcher.on('delete', () => {
          clearTimeout(timer);
          resolve();
        });
        watcher.on('error', (error: Error) => {
          clearTimeout(timer);
          reject(error);
        });
      });
    } finally {
      this.context.queued?.(false);
      await watcher.cancel().catch(() => {});
    }
  }

  mayWrite(): boolean {
    return true;
  }

  async release(held: Held): Promise<ReleaseOutcome> {
    const key = String(held.detail.key);
    const lease = held.detail.lease as Lease;
    const deleted = await this.client.delete().key(key).exec();
    await lease.revoke().catch(() => {});
    return Number(deleted.deleted) === 1 ? 'released' : 'lost';
  }

  async readCounter(): Promise<number> {
    return Number((await this.client.get(etcd_counter_key).string()) ?? 0);
  }

  async writeCounter(value: number): Promise<void> {
    await this.client.put(etcd_counter_key).value(String(value)).exec();
  }

  async info(): Promise<LockInfo> {
    const { entries } = await this.entries();
    const first = entries[0];
    let ttl_left_ms: number | null = null;
    if (first) {
      const alive = await this.client.leaseClient.leaseTimeToLive({ ID: first.lease });
      ttl_left_ms = Number(alive.TTL) >= 0 ? Number(alive.TTL) * 1000 : null;
    }
    return { holder: first?.holder ?? null, token: first?.create_revision ?? null, ttl_left_ms, waiters: entries.slice(1).map((e) => e.holder) };
  }

  async close(): Promise<void> {
    this.client.close();
  }
}

export class LeaseExpired extends Error {}
