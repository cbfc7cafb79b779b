/**
 * lin-kv: a linearizable key-value store. One copy of the data; each request
 * takes effect the moment the service handles it, which lies between the
 * node's send and its receipt of the reply, so every history is linearizable.
 */
import type { MessageBody } from '../protocol/messages.js';
import { applyKv, changesNothing, parseKvRequest, service_keys_max, service_store_bytes_max, storeFull, type StoredValue } from './kv.js';
import { isReply, Replier, type Service, type ServiceReply } from './service.js';

interface Entry {
  key: StoredValue;
  value: StoredValue;
}

export class LinKv implements Service {
  private readonly data = new Map<string, Entry>();
  private bytes = 0;
  private readonly replier: Replier;

  constructor(readonly name = 'lin-kv') {
    this.replier = new Replier(name);
  }

  handle(src: string, body: MessageBody, _now_ms: number): ServiceReply[] {
    if (isReply(body)) return [];
    const parsed = parseKvRequest(this.name, body);
    if (!parsed.ok) return this.replier.reply(src, body, parsed.error);
    const request = parsed.request;
    const entry = this.data.get(request.key.id);
    const effect = applyKv(request, entry?.value);
    if (!changesNothing(effect, entry?.value)) {
      const next = effect.next!;
      const refusal = this.refuse(entry, request.key, next);
      if (refusal) return this.replier.reply(src, body, refusal);
      this.bytes += next.bytes - (entry ? entry.value.bytes : -request.key.bytes);
      this.data.set(request.key.id, { key: request.key, value: next });
    }
    return this.replier.reply(src, body, effect.reply);
  }

  /** Why storing `next` would break a limit, if it would. */
  private refuse(entry: Entry | undefined, key: StoredValue, next: StoredValue): MessageBody | null {
    if (!entry && this.data.size >= service_keys_max) return storeFull(this.name, `it holds ${service_keys_max} keys, the most it keeps`);
    const grown = this.bytes + next.bytes - (entry ? entry.value.bytes : -key.bytes);
    if (grown > service_store_bytes_max) return storeFull(this.name, `it holds ${this.bytes} bytes, and the limit is ${service_store_bytes_max}`);
    return null;
  }

  /** The number of keys held (for tests and status). */
  get size(): number {
    return this.data.size;
  }
}
