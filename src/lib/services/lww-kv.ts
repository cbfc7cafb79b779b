/**
 * lww-kv: an intentionally weak last-write-wins store, modelled as Maelstrom
 * models it. It simulates independent replicas; each request first lets one
 * random replica merge into another, then runs on one random replica. A
 * replica stamps what it writes with its Lamport clock; merging keeps, per
 * key, the value with the higher (stamp, replica) and advances the clock. So a
 * read can miss a write just acknowledged, a cas can succeed on an old value,
 * and a "later" write can lose to an earlier one with a higher stamp; yet
 * replicas converge: once requests arrive `lww_gossip_interval_ms` after the
 * last write, every replica has merged every other and all answer alike.
 */
import type { MessageBody } from '../protocol/messages.js';
import type { Rng } from '../util/prng.js';
import { applyKv, changesNothing, parseKvRequest, service_keys_max, service_store_bytes_max, storedValue, storeFull, type StoredValue } from './kv.js';
import { isReply, Replier, type Service, type ServiceReply } from './service.js';

/** Replicas simulated (Maelstrom's current default). */
export const lww_kv_replicas = 2;
/** A request arriving this long after the last full exchange makes every replica merge every other first. */
export const lww_gossip_interval_ms = 1000;
/** Recent changes each replica remembers, so a merge visits only what changed since the last one (else every key). */
export const lww_change_log_max = 4096;

/** One written value; shared by reference between the replicas that hold it. */
interface Stamped {
  key: StoredValue;
  value: StoredValue;
  stamp: number;
  replica: number;
  /** Replicas holding this write; its bytes count while any does. */
  holders: number;
}

interface Replica {
  clock: number;
  data: Map<string, Stamped>;
  /** Bumped on every change, so a merge from an unchanged replica can be skipped. */
  changes: number;
  /** Keys of the most recent changes: log[i] is change number logBase + i + 1. */
  log: string[];
  logBase: number;
}

export class LwwKv implements Service {
  private readonly replicas: Replica[];
  /** mergedAt[from][into]: `changes` of replica `from` when it last merged into `into` (-1: never). */
  private readonly mergedAt: number[][];
  /** Every key any replica holds (keys are never removed). */
  private readonly keys = new Set<string>();
  /** Bytes of every write some replica still holds. */
  private bytes = 0;
  private lastExchangeMs: number | null = null;
  private readonly changeLogMax: number;
  private readonly replier: Replier;

  constructor(
    private readonly rng: Rng,
    readonly name = 'lww-kv',
    { replicas = lww_kv_replicas, change_log_max = lww_change_log_max }: { replicas?: number; change_log_max?: number } = {},
  ) {
    this.replier = new Replier(name);
    this.changeLogMax = change_log_max;
    this.replicas = Array.from({ length: replicas }, () => ({ clock: 0, data: new Map(), changes: 0, log: [], logBase: 0 }));
    this.mergedAt = this.replicas.map(() => this.replicas.map(() => -1));
  }

  handle(src: string, body: MessageBody, now_ms: number): ServiceReply[] {
    if (isReply(body)) return [];
    this.gossip(now_ms);
    const parsed = parseKvRequest(this.name, body);
    if (!parsed.ok) return this.replier.reply(src, body, parsed.error);
    const request = parsed.request;
    const index = this.rng.int(this.replicas.length);
    const replica = this.replicas[index]!;
    const current = replica.data.get(request.key.id);
    const effect = applyKv(request, current?.value);
    if (!changesNothing(effect, current?.value)) {
      const next = effect.next!;
      const isNew = !this.keys.has(request.key.id);
      if (isNew && this.keys.size >= service_keys_max) return this.replier.reply(src, body, storeFull(this.name, `it holds ${service_keys_max} keys, the most it keeps`));
      if (this.bytes + next.bytes + request.key.bytes > service_store_bytes_max) {
        return this.replier.reply(src, body, storeFull(this.name, `it holds ${this.bytes} bytes, and the limit is ${service_store_bytes_max}`));
      }
      this.keys.add(request.key.id);
      this.put(replica, { key: request.key, value: next, stamp: ++replica.clock, replica: index, holders: 0 });
    }
    return this.replier.reply(src, body, effect.reply);
  }

  /** What each replica holds for a key (for tests): the value's canonical JSON, or null. */
  replicaValues(key: unknown): (string | null)[] {
    const stored = storedValue(key);
    const id = typeof stored === 'string' ? '' : stored.id;
    return this.replicas.map((r) => r.data.get(id)?.value.id ?? null);
  }

  private gossip(now_ms: number): void {
    const n = this.replicas.length;
    if (this.lastExchangeMs === null) this.lastExchangeMs = now_ms;
    if (now_ms - this.lastExchangeMs >= lww_gossip_interval_ms) {
      this.lastExchangeMs = now_ms;
      // Everyone into the first, then the first into everyone: all end up equal.
      for (let i = 1; i < n; i++) this.merge(i, 0);
      for (let i = 1; i < n; i++) this.merge(0, i);
      return;
    }
    this.merge(this.rng.int(n), this.rng.int(n));
  }

  private merge(from: number, into: number): void {
    if (from === into) return;
    const source = this.replicas[from]!;
    const target = this.replicas[into]!;
    const mergedAt = this.mergedAt[from]![into]!;
    if (mergedAt === source.changes) return;
    this.mergedAt[from]![into] = source.changes;
    target.clock = Math.max(target.clock, source.clock);
    const take = (theirs: Stamped) => {
      const ours = target.data.get(theirs.key.id);
      if (!ours || newer(theirs, ours)) this.put(target, theirs);
    };
    if (mergedAt >= source.logBase) {
      for (const id of source.log.slice(mergedAt - source.logBase)) take(source.data.get(id)!);
    } else {
      for (const theirs of source.data.values()) take(theirs);
    }
  }

  private put(replica: Replica, write: Stamped): void {
    const old = replica.data.get(write.key.id);
    if (old && --old.holders === 0) this.bytes -= old.value.bytes + old.key.bytes;
    if (write.holders++ === 0) this.bytes += write.value.bytes + write.key.bytes;
    replica.data.set(write.key.id, write);
    replica.changes++;
    replica.log.push(write.key.id);
    if (replica.log.length > this.changeLogMax) {
      const dropped = replica.log.length - Math.floor(this.changeLogMax / 2);
      replica.log.splice(0, dropped);
      replica.logBase += dropped;
    }
  }
}

function newer(a: Stamped, b: Stamped): boolean {
  return a.stamp !== b.stamp ? a.stamp > b.stamp : a.replica > b.replica;
}
