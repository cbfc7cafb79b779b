/**
 * lin-tso: a linearizable timestamp oracle. `{"type":"ts"}` is answered with
 * `{"type":"ts_ok","ts":N}`, N counting up from 0 across all clients, so every
 * timestamp is larger than every one handed out before it.
 */
import type { MessageBody } from '../protocol/messages.js';
import { isReply, notSupported, Replier, type Service, type ServiceReply } from './service.js';

export class LinTso implements Service {
  private next = 0;
  private readonly replier: Replier;

  constructor(readonly name = 'lin-tso') {
    this.replier = new Replier(name);
  }

  handle(src: string, body: MessageBody, _now_ms: number): ServiceReply[] {
    if (isReply(body)) return [];
    if (body.type !== 'ts') return this.replier.reply(src, body, notSupported(this.name, body.type, ['ts']));
    return this.replier.reply(src, body, { type: 'ts_ok', ts: this.next++ });
  }
}
