/**
 * seq-kv: a sequentially consistent key-value store, modelled as Maelstrom
 * models it. Every operation that changes the store makes a new version
 * (versions form the one total order). Each client (a node id) has a floor:
 * the newest version it has interacted with. A request is first tried against
 * a version drawn at random between the client's floor and the newest; if it
 * changes nothing there (a read, a failed cas, a write of the value already
 * there) that is its answer and the floor moves up to that version. Otherwise
 * it runs on the newest version, making the next one. So reads may be stale,
 * and so may failed cas and same-value writes, yet no client ever sees the
 * store go backwards, and placing each operation at its version gives one
 * order that respects every client's own order: sequential consistency.
 */
import type { MessageBody } from '../protocol/messages.js';
import type { Rng } from '../util/prng.js';
import { applyKv, changesNothing, parseKvRequest, service_keys_max, service_store_bytes_max, storeFull, type StoredValue } from './kv.js';
import { isReply, Replier, type Service, type ServiceReply } from './service.js';

/** How many recent versions a request may be served from (Maelstrom keeps 32). */
export const seq_kv_versions_kept = 32;
/** Client floors remembered; beyond this the lowest floor is forgotten (see `forgottenFloor`). */
export const seq_kv_clients_max = 1024;

interface Version {
  version: number;
  value: StoredValue;
}

interface KeyHistory {
  key: StoredValue;
  /** Oldest first; holds every version still servable, plus the newest one older than those. */
  versions: Version[];
}

export class SeqKv implements Service {
  private readonly data = new Map<string, KeyHistory>();
  /** The newest version; 0 is the empty store. */
  private latest = 0;
  private readonly floors = new Map<string, number>();
  /**
   * The highest floor of any client forgotten for lack of room: a client not in
   * `floors` starts no lower, so forgetting never lets one go backwards.
   */
  private forgottenFloor = 0;
  private bytes = 0;
  private readonly replier: Replier;

  constructor(
    private readonly rng: Rng,
    readonly name = 'seq-kv',
  ) {
    this.replier = new Replier(name);
  }

  handle(src: string, body: MessageBody, _now_ms: number): ServiceReply[] {
    if (isReply(body)) return [];
    const parsed = parseKvRequest(this.name, body);
    if (!parsed.ok) return this.replier.reply(src, body, parsed.error);
    const request = parsed.request;
    const floor = Math.max(this.floors.get(src) ?? this.forgottenFloor, this.oldestServable());
    const chosen = floor + this.rng.int(this.latest - floor + 1);
    const history = this.data.get(request.key.id);
    const then = history ? valueAt(history, chosen) : undefined;
    const tried = applyKv(request, then);
    if (changesNothing(tried, then)) {
      this.setFloor(src, chosen);
      return this.replier.reply(src, body, tried.reply);
    }
    // It would change the past: run it on the present instead.
    const now = history ? valueAt(history, this.latest) : undefined;
    const effect = applyKv(request, now);
    if (!changesNothing(effect, now)) {
      const refusal = this.refuse(history, request.key, effect.next!);
      if (refusal) {
        this.setFloor(src, this.latest);
        return this.replier.reply(src, body, refusal);
      }
      this.append(history, request.key, effect.next!);
    }
    this.setFloor(src, this.latest);
    return this.replier.reply(src, body, effect.reply);
  }

  /** The newest version (for tests). */
  get version(): number {
    return this.latest;
  }

  private oldestServable(): number {
    return Math.max(0, this.latest - (seq_kv_versions_kept - 1));
  }

  private append(history: KeyHistory | undefined, key: StoredValue, value: StoredValue): void {
    this.latest++;
    if (!history) {
      history = { key, versions: [] };
      this.data.set(key.id, history);
      this.bytes += key.bytes;
    }
    history.versions.push({ version: this.latest, value });
    this.bytes += value.bytes;
    // Versions no request can be served from any more are dropped (the newest one at or below the oldest servable stays).
    const oldest = this.oldestServable();
    while (history.versions.length > 1 && history.versions[1]!.version <= oldest) {
      this.bytes -= history.versions.shift()!.value.bytes;
    }
  }

  private refuse(history: KeyHistory | undefined, key: StoredValue, next: StoredValue): MessageBody | null {
    if (!history && this.data.size >= service_keys_max) return storeFull(this.name, `it holds ${service_keys_max} keys, the most it keeps`);
    if (this.bytes + next.bytes + (history ? 0 : key.bytes) > service_store_bytes_max) {
      return storeFull(this.name, `it holds ${this.bytes} bytes with recent versions, and the limit is ${service_store_bytes_max}`);
    }
    return null;
  }

  private setFloor(client: string, version: number): void {
    if (!this.floors.has(client) && this.floors.size >= seq_kv_clients_max) {
      let lowest: [string, number] | null = null;
      for (const entry of this.floors) if (!lowest || entry[1] < lowest[1]) lowest = entry;
      this.floors.delete(lowest![0]);
      this.forgottenFloor = Math.max(this.forgottenFloor, lowest![1]);
    }
    this.floors.set(client, version);
  }
}

/** The key's value as of `version`, or undefined when it did not exist yet. */
function valueAt(history: KeyHistory, version: number): StoredValue | undefined {
  for (let i = history.versions.length - 1; i >= 0; i--) {
    const entry = history.versions[i]!;
    if (entry.version <= version) return entry.value;
  }
  return undefined;
}
