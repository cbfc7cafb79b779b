import type { OutcomeKind } from '../../lib/load-stats.js';
import type { ClientTransport } from '../../lib/plugin.js';
import { definite_error_codes, error_codes, type MessageBody } from '../../lib/protocol/messages.js';
import { IndefiniteError, errorMessage, UserError } from '../../lib/util/errors.js';

/**
 * A key-value client speaking Maelstrom's lin-kv messages (read, write, cas,
 * plus dslab's delete) to any cluster, with Maelstrom's client semantics: an
 * operation's request is sent once and its answer awaited until the
 * operation's timeout. A request that gets no answer is never resent, so a
 * node that relays to a store without deduplicating (a lin-kv proxy) cannot
 * apply it twice: a write or cas left unanswered is indeterminate (unknown), a
 * read left unanswered changed nothing (fail). Only a definite refusal (error
 * 11, "not the leader", or a request the node could not even be handed) is
 * sent again, to the hinted leader or the next node, since it certainly did
 * not take effect.
 */

export const kv_timeout_ms_default = 5000;
/** Pause before trying another node after a refusal without a leader hint. */
export const kv_retry_backoff_ms = 50;

export type KvFunction = 'read' | 'write' | 'cas' | 'delete';

export interface KvOperation {
  f: KvFunction;
  key: string | number;
  value?: unknown;
  from?: unknown;
  to?: unknown;
  create_if_not_exists?: boolean;
}

export interface KvOutcome {
  outcome: 'ok' | 'fail' | 'unknown';
  /** For an ok read: the value, or null when the key does not exist. */
  result?: unknown;
  /** The last error, for fail and unknown. */
  error?: { code: number; text: string };
  /** The node that gave the final answer, or that the unanswered request went to. */
  node: string | null;
  /** Requests sent: one, plus one per definite refusal that was redirected. */
  attempts: number;
}

/** The kv client's way into the cluster: the supervisor's client transport. */
export type KvTransport = ClientTransport;

/** What becomes of an operation whose request got no answer: a read changed nothing, anything else may have happened. */
export function unansweredOutcome(f: KvFunction): 'fail' | 'unknown' {
  return f === 'read' ? 'fail' : 'unknown';
}

export class KvClient {
  private seq = 0;
  private rotation = 0;
  private target: string | null = null;
  /**
   * The node every operation goes to first, as a Maelstrom client is bound to
   * one node (a load's client i to node i mod n); null to go to the leader.
   * It is not changed when the node crashes: its requests are refused meanwhile.
   */
  home: string | null = null;
  /** An operation is in flight; the next must wait (one seq per client at a time). */
  busy = false;

  constructor(
    private readonly transport: KvTransport,
    readonly client: string,
    /** Chosen by the caller (a workload's client), as opposed to taken from the pool. */
    readonly named = false,
    /**
     * The session name sent with writes, for nodes that dedupe. It must differ between supervisor runs:
     * a restarted cluster keeps its data, and a reused (client, seq) would look like a stale retry.
     */
    readonly session = client,
  ) {}

  async run(op: KvOperation, timeout_ms = kv_timeout_ms_default): Promise<KvOutcome> {
    if (this.busy) throw new UserError(`kv client ${this.client} already has an operation in flight; a client runs one at a time`);
    this.busy = true;
    try {
      return await this.attempt(op, timeout_ms);
    } finally {
      this.busy = false;
    }
  }

  private async attempt(op: KvOperation, timeout_ms: number): Promise<KvOutcome> {
    const deadline = this.transport.now() + timeout_ms;
    const body = requestBody(op, this.session, ++this.seq);
    let attempts = 0;
    let lastError: { code: number; text: string } | undefined;
    let dest = this.home ?? this.pickTarget();
    while (this.transport.now() < deadline) {
      if (!dest) {
        lastError = { code: error_codes.temporarily_unavailable, text: 'no node is up' };
        await this.transport.sleep(kv_retry_backoff_ms);
        dest = this.pickTarget();
        continue;
      }
      attempts++;
      let reply: MessageBody;
      try {
        reply = await this.transport.request(this.client, dest, body, Math.max(1, deadline - this.transport.now()));
      } catch (error) {
        if (error instanceof IndefiniteError) {
          // No answer within the operation's timeout: the node may have acted on it, so it is not sent again.
          this.target = null;
          return { outcome: unansweredOutcome(op.f), error: { code: error_codes.timeout, text: errorMessage(error) }, node: dest, attempts };
        }
        // A refusal (the node is down, starting, or not reading its input) comes back at once, and the node never
        // saw the request. Without a pause this loop would spin on promise callbacks and starve the event loop
        // that must drain that node's input.
        lastError = { code: error_codes.temporarily_unavailable, text: errorMessage(error) };
        this.target = null;
        await this.transport.sleep(kv_retry_backoff_ms);
        dest = this.nextNode(dest);
        continue;
      }
      if (reply.type !== 'error') return { outcome: 'ok', result: op.f === 'read' ? (reply.value ?? null) : undefined, node: dest, attempts };
      const code = Number(reply.code);
      lastError = { code, text: String(reply.text ?? '') };
      if (code === error_codes.key_does_not_exist && op.f === 'read') return { outcome: 'ok', result: null, node: dest, attempts };
      if (code === error_codes.temporarily_unavailable) {
        // Not the leader (or no leader yet): certainly not done, so it may go to the hinted leader, or another node.
        const hinted = typeof reply.leader === 'string' && reply.leader !== dest && this.transport.upNodes().includes(reply.leader) ? reply.leader : null;
        this.target = hinted;
        if (!hinted) await this.transport.sleep(kv_retry_backoff_ms);
        dest = hinted ?? this.nextNode(dest);
        continue;
      }
      // A definite error: it did not happen. Any other (crash, an unknown code): it may have, and is not resent.
      return { outcome: definite_error_codes.has(code) ? 'fail' : unansweredOutcome(op.f), error: lastError, node: dest, attempts };
    }
    // Every node refused it, definitely, until the time ran out: it did not happen.
    return {
      outcome: 'fail',
      error: { code: lastError?.code ?? error_codes.timeout, text: `no node took it within ${timeout_ms} ms${lastError ? ` (last refusal: ${lastError.text})` : ''}` },
      node: null,
      attempts,
    };
  }

  /** The node to go to after `refused` refused: the leader when one is known and it is another node, else the next node up. */
  private nextNode(refused: string): string | null {
    const leader = this.transport.leader();
    if (leader && leader !== refused && this.transport.upNodes().includes(leader)) return (this.target = leader);
    const up = this.transport.upNodes().filter((node) => node !== refused);
    if (up.length === 0) return this.transport.upNodes().includes(refused) ? refused : null;
    return (this.target = up[this.rotation++ % up.length]!);
  }

  private pickTarget(): string | null {
    // The leader the reports show now comes before the node this client used last: each request is sent
    // once, so one sent to a deposed leader cut off in a minority would end unknown.
    const leader = this.transport.leader();
    if (leader && this.transport.upNodes().includes(leader)) return (this.target = leader);
    if (this.target && this.transport.upNodes().includes(this.target)) return this.target;
    const up = this.transport.upNodes();
    if (up.length === 0) return null;
    return (this.target = up[this.rotation++ % up.length]!);
  }
}

function requestBody(op: KvOperation, client: string, seq: number): MessageBody {
  switch (op.f) {
    case 'read':
      return { type: 'read', key: op.key };
    case 'write':
      return { type: 'write', key: op.key, value: op.value, client, seq };
    case 'cas':
      return { type: 'cas', key: op.key, from: op.from, to: op.to, ...(op.create_if_not_exists ? { create_if_not_exists: true } : {}), client, seq };
    case 'delete':
      return { type: 'delete', key: op.key, client, seq };
  }
}

/** Why a node may not know delete. */
export const delete_is_an_extension = "delete is a dslab extension: Maelstrom's lin-kv workload has only read, write and cas";

/** Error 10 (not supported) or 12 (malformed request): how a node says it has no such request. */
function refusedAsUnknown(code: number | undefined): boolean {
  return code === error_codes.not_supported || code === error_codes.malformed_request;
}

/** What an outcome means to someone running a load (see OutcomeKind); a read that timed out is a failure in the history, since it changed nothing, but to the person running the load it is just as unanswered. */
export function classifyOutcome(op: KvOperation, outcome: KvOutcome): OutcomeKind {
  if (outcome.outcome === 'unknown') return 'unknown';
  if (outcome.outcome === 'ok') return op.f === 'read' && outcome.result === null ? 'not_found' : 'ok';
  const code = outcome.error?.code;
  if (code === error_codes.timeout) return 'unknown';
  if (code === error_codes.key_does_not_exist && op.f !== 'write') return 'not_found';
  if (code === error_codes.precondition_failed && op.f === 'cas') return 'mismatched';
  return 'fail';
}

/** The outcome in words, e.g. "x = 5", "wrote x = 3", "cas on x failed: precondition failed". */
export function describeKvOutcome(op: KvOperation, outcome: KvOutcome): string {
  const key = String(op.key);
  if (outcome.outcome === 'ok') {
    switch (op.f) {
      case 'read':
        return outcome.result === null ? `${key} does not exist` : `${key} = ${JSON.stringify(outcome.result)}`;
      case 'write':
        return `wrote ${key} = ${JSON.stringify(op.value)}`;
      case 'cas':
        return `${key}: ${JSON.stringify(op.from)} -> ${JSON.stringify(op.to)}`;
      case 'delete':
        return `deleted ${key}`;
    }
  }
  const why = outcome.error ? `${outcome.error.text || 'error'} (code ${outcome.error.code})` : 'no answer';
  if (op.f === 'delete' && outcome.outcome === 'fail' && refusedAsUnknown(outcome.error?.code)) {
    return `${outcome.node ?? 'the node'} does not support delete: ${why}. ${delete_is_an_extension}`;
  }
  if (outcome.outcome === 'unknown') return `${op.f} on ${key} may or may not have taken effect: ${why}`;
  return `${op.f} on ${key} failed: ${why}`;
}
