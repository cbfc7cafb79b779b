import type { NewClusterEvent } from '../control/api.js';
import type { MessageBody } from '../protocol/messages.js';
import { isSuccessfulWrite, type RoleVocabulary } from '../roles.js';
import { IndefiniteError, UserError } from '../util/errors.js';
import { formatDurationMs } from '../util/units.js';
import { KnownClients, known_clients_max } from './client-ids.js';

/** Client requests awaiting a reply at once. */
export const pending_requests_max = 10_000;
/** How long a request waits for its reply when the caller names no timeout (`send`, `transfer`). */
export const request_timeout_ms_default = 5000;
/** Unasked messages (watch events, session expiries) one client's inbox holds until read; older ones are dropped and counted. */
export const client_inbox_messages_max = 1000;
/** Clients with an inbox at once. */
export const client_inboxes_max = known_clients_max;

/** A message a node sent to a client that answers none of its requests. */
export interface UnaskedMessage {
  client: string;
  node: string;
  body: MessageBody;
  at_ms: number;
}

/**
 * One client's unasked messages. A client object subscribes to take them as
 * they arrive; until one does, they wait here (the newest kept).
 */
export class ClientInbox {
  private readonly waiting: UnaskedMessage[] = [];
  private handler: ((message: UnaskedMessage) => void) | null = null;
  /** Messages dropped because the inbox was full. */
  dropped = 0;

  constructor(readonly client: string) {}

  push(message: UnaskedMessage): void {
    if (this.handler) {
      this.handler(message);
      return;
    }
    if (this.waiting.length >= client_inbox_messages_max) {
      this.waiting.shift();
      this.dropped++;
    }
    this.waiting.push(message);
  }

  /** Takes the waiting messages, oldest first. */
  take(): UnaskedMessage[] {
    return this.waiting.splice(0);
  }

  get size(): number {
    return this.waiting.length;
  }

  /** Hands every waiting and later message to `handler` until the returned function is called. */
  subscribe(handler: (message: UnaskedMessage) => void): () => void {
    if (this.handler) throw new UserError(`client ${this.client} already has a handler for its messages`);
    this.handler = handler;
    for (const message of this.take()) handler(message);
    return () => {
      if (this.handler === handler) this.handler = null;
    };
  }
}

/** What the clients need from the cluster around them. */
export interface ClientsHost {
  vocabulary: RoleVocabulary;
  emit(event: NewClusterEvent): void;
  /** Sends one request line from `client` to node `dest`; false when it could not be handed over (the node is not reading). */
  send(client: string, dest: string, line: string): boolean;
  now(): number;
}

interface PendingRequest {
  client: string;
  dest: string;
  request: MessageBody;
  call_ms: number;
  timer: NodeJS.Timeout;
  resolve(body: MessageBody): void;
  reject(error: Error): void;
}

/** What became of a message a node sent to a client. */
export type ClientDelivery = 'reply' | 'late' | 'unasked';

/**
 * The supervisor's clients: requests in flight and the replies that settle
 * them, the ids in use (which a node may forward under), each client's inbox of unasked messages, and the leader inferred from
 * successful writes.
 */
export class Clients {
  private readonly pending = new Map<number, PendingRequest>();
  /** Every client id a request went out as: a node may forward a request to another node under that client's id. */
  readonly known = new KnownClients();
  private readonly inboxes = new Map<string, ClientInbox>();
  private nextMsgId = 1;
  /** The node that answered the latest successful client write, while no node reports a leading role. */
  private inferred: string | null = null;
  /** Replies that came after their request timed out (or was answered already): dropped. */
  lateRepliesDropped = 0;
  /** Messages that answered no request, put in the client's inbox. */
  unaskedReceived = 0;
  /** Unasked messages dropped because too many clients already had an inbox. */
  unaskedDropped = 0;

  constructor(private readonly host: ClientsHost) {}

  get inferredLeader(): string | null {
    return this.inferred;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  setInferredLeader(id: string | null, reason: string): void {
    if (this.inferred === id) return;
    this.inferred = id;
    this.host.emit({ type: 'leader_inferred', node: id, reason });
  }

  /** A node stopped being a candidate for the inferred leader (it went down, was paused or cut off). */
  forgetLeader(node: string, reason: string): void {
    if (this.inferred === node) this.setInferredLeader(null, reason);
  }

  /** Sends a request from `client` to node `dest` (already checked to be able to take it) and waits for its reply. */
  request(client: string, dest: string, body: Omit<MessageBody, 'msg_id'>, timeout_ms: number): Promise<MessageBody> {
    if (this.pending.size >= pending_requests_max) {
      return Promise.reject(new UserError(`too many requests in flight (at most ${pending_requests_max})`));
    }
    try {
      this.known.use(client);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const msg_id = this.nextMsgId++;
    const request = { ...body, msg_id } as MessageBody;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(msg_id);
        this.host.emit({ type: 'client_result', client, dest, request, reply: null, call_ms: pending.call_ms, return_ms: null });
        reject(new IndefiniteError(`${dest} did not answer ${body.type} within ${formatDurationMs(timeout_ms)}`));
      }, timeout_ms);
      const pending: PendingRequest = { client, dest, request, call_ms: this.host.now(), timer, resolve, reject };
      this.pending.set(msg_id, pending);
      if (!this.host.send(client, dest, JSON.stringify({ src: client, dest, body: request }))) {
        this.pending.delete(msg_id);
        clearTimeout(timer);
        reject(new UserError(`could not send to ${dest}: it is not reading its input`));
      }
    });
  }

  /**
   * A message node `node` sent to `client`. Client msg_ids are unique per
   * supervisor, so (client, in_reply_to) names one request even when the node
   * that answers is not the one it was sent to (it was forwarded). A reply to
   * a msg_id this supervisor handed out that no longer waits is late and
   * dropped; anything else is unasked and goes to the client's inbox.
   * `may_lead` is false for a sender that is no node (a service): its answer
   * to a write infers no leader.
   */
  receive(node: string, client: string, body: MessageBody, may_lead = true): ClientDelivery {
    const inReplyTo = body.in_reply_to;
    const request = typeof inReplyTo === 'number' ? this.pending.get(inReplyTo) : undefined;
    if (request && request.client === client) {
      this.pending.delete(inReplyTo as number);
      clearTimeout(request.timer);
      this.host.emit({ type: 'client_result', client, dest: request.dest, replied_by: node, request: request.request, reply: body, call_ms: request.call_ms, return_ms: this.host.now() });
      if (may_lead && isSuccessfulWrite(this.host.vocabulary, request.request, body)) {
        this.setInferredLeader(node, `${node} answered a ${request.request.type} from ${client}`);
      }
      request.resolve(body);
      return 'reply';
    }
    if (typeof inReplyTo === 'number' && Number.isInteger(inReplyTo) && inReplyTo >= 1 && inReplyTo < this.nextMsgId) {
      // It answers a request that timed out, was answered already, or was another client's.
      this.lateRepliesDropped++;
      return 'late';
    }
    this.unaskedReceived++;
    const inbox = this.inbox(client);
    if (inbox) inbox.push({ client, node, body, at_ms: this.host.now() });
    else this.unaskedDropped++;
    this.host.emit({ type: 'client_message', client, node, body });
    return 'unasked';
  }

  /** The inbox of `client` (made on first use), or null when too many clients have one. */
  inbox(client: string): ClientInbox | null {
    let inbox = this.inboxes.get(client);
    if (!inbox) {
      if (this.inboxes.size >= client_inboxes_max) return null;
      inbox = new ClientInbox(client);
      this.inboxes.set(client, inbox);
    }
    return inbox;
  }

  /** Drops `client`'s inbox and what waits in it: the client is gone, and whoever takes its id later starts afresh. */
  forgetInbox(client: string): void {
    this.inboxes.delete(client);
  }

  /** What became of messages that settled no request, for status. */
  messageCounts(): { late_replies_dropped: number; unasked: number; inbox_dropped: number } {
    let inbox_dropped = this.unaskedDropped;
    for (const inbox of this.inboxes.values()) inbox_dropped += inbox.dropped;
    return { late_replies_dropped: this.lateRepliesDropped, unasked: this.unaskedReceived, inbox_dropped };
  }

  /** Fails every request waiting on `node` (or on any node), as indefinite: it may have been applied. */
  failRequests(error: (requestType: string) => Error, node?: string): void {
    for (const [msgId, request] of this.pending) {
      if (node !== undefined && request.dest !== node) continue;
      this.pending.delete(msgId);
      clearTimeout(request.timer);
      request.reject(error(request.request.type));
    }
  }
}
