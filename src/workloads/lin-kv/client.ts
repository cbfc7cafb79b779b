import type { OutcomeKind } from '../../lib/load-stats.js';
import type { ClientTransport } from '../../lib/plugin.js';
import { definite_error_codes, error_codes, type MessageBody } from '../../lib/protocol/messages.js';
import { IndefiniteError, errorMessage, UserError } from '../../lib/util/errors.js';

/**
 * A key-value client speaking Maelstrom's lin-kv messages (read, write, cas,
 * plus delete) to any cluster: it finds the leader, follows "not leader"
 * redirects, retries after timeouts, and says honestly whether each operation
 * took effect (ok), certainly did not (fail), or might have (unknown).
 */

export const kv_attempt_timeout_ms = 1000;
export const kv_timeout_ms_default = 5000;
/** Pause before retrying when no node could take the request. */
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
  /** The node that gave the final answer. */
  node: string | null;
  attempts: number;
}

/** The kv client's way into the cluster: the supervisor's client transport. */
export type KvTransport = ClientTransport;

export class KvClient {
  private seq = 0;
  private rotation = 0;
  private target: string | null = null;
  /** An operation is in flight; the next must wait (dedupe keeps one seq per client). */
  busy = false;

  constructor(
    private readonly transport: KvTransport,
    readonly client: string,
    /** Chosen by the caller (a workload's client), as opposed to taken from the pool. */
    readonly named = false,
    /**
     * The session name sent with writes for dedupe. It must differ between supervisor runs:
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
    // One sequence number per operation: retries reuse it, so a node that dedupes applies a write once.
    const body = requestBody(op, this.session, ++this.seq);
    let attempts = 0;
    let uncertain = false;
    let lastError: { code: number; text: string } | undefined;
    while (this.transport.now() < deadline) {
      const dest = this.pickTarget();
      if (!dest) {
        lastError = { code: error_codes.temporarily_unavailable, text: 'no node is up' };
        await this.transport.sleep(kv_retry_backoff_ms);
        continue;
      }
      attempts++;
      let reply: MessageBody;
      try {
        reply = await this.transport.request(this.client, dest, body, Math.min(kv_attempt_timeout_ms, Math.max(1, deadline - this.transport.now())));
      } catch (error) {
        const timedOut = error instanceof IndefiniteError;
        if (timedOut) uncertain = op.f !== 'read';
        lastError = { code: error_codes.timeout, text: errorMessage(error) };
        this.target = null;
        // A refusal (the node is down, starting, or not reading its input) comes back at once: without a pause
        // this loop would spin on promise callbacks and starve the event loop that must drain that node's input.
        if (!timedOut) await this.transport.sleep(kv_retry_backoff_ms);
        continue;
      }
      if (reply.type !== 'error') return { outcome: 'ok', result: op.f === 'read' ? (reply.value ?? null) : undefined, node: dest, attempts };
      const code = Number(reply.code);
      const text = String(reply.text ?? '');
      lastError = { code, text };
      if (code === error_codes.key_does_not_exist && op.f === 'read') return { outcome: 'ok', result: null, node: dest, attempts };
      if (code === error_codes.temporarily_unavailable) {
        // Not the leader (or no leader yet): follow the hint if there is one.
        this.target = typeof reply.leader === 'string' && this.transport.upNodes().includes(reply.leader) ? reply.leader : null;
        if (!this.target) await this.transport.sleep(kv_retry_backoff_ms);
        continue;
      }
      if (definite_error_codes.has(code)) {
        return { outcome: uncertain ? 'unknown' : 'fail', error: lastError, node: dest, attempts };
      }
      // Indefinite errors (timeout, crash): the write may have happened; keep trying with the same seq.
      if (op.f !== 'read') uncertain = true;
      this.target = null;
    }
    return {
      outcome: uncertain ? 'unknown' : 'fail',
      error: { code: lastError?.code ?? error_codes.timeout, text: `no answer within ${timeout_ms} ms${lastError ? ` (last: ${lastError.text})` : ''}` },
      node: null,
      attempts,
    };
  }

  private pickTarget(): string | null {
    if (this.target && this.transport.upNodes().includes(this.target)) return this.target;
    const leader = this.transport.leader();
    if (leader) return (this.target = leader);
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
  if (outcome.outcome === 'unknown') return `${op.f} on ${key} may or may not have taken effect: ${why}`;
  return `${op.f} on ${key} failed: ${why}`;
}
