import { assert } from '../util/errors.js';
import type { ClusterEvent } from './api.js';

/**
 * Merges a node's progress-only state reports for a reader that redraws on a
 * clock (the dashboard). Under load a Raft node reports after every commit,
 * hundreds of times a second per node, while a screen shows ten frames a
 * second: the reports in between are invisible and only cost the reader
 * parsing. A report that changes who leads or which term it is always goes
 * out at once, so no election or leader change is hidden.
 */

/** A reader may ask for any interval up to this; longer would make the view lag. */
export const state_coalesce_ms_max = 1000;
/** State fields whose change is never merged away: they mark elections and leader changes, for Raft and Zab alike. */
export const state_identity_fields = ['role', 'term', 'epoch', 'leader'] as const;

/** Events that are passed on without first sending held reports: they say how far things got, not what changed. */
const progress_event_types: ReadonlySet<ClusterEvent['type']> = new Set(['client_result', 'node_apply', 'rates', 'load']);

type NodeStateEvent = Extract<ClusterEvent, { type: 'node_state' }>;

/** A timer API, so tests can drive time by hand. */
export interface CoalescerTimers {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const real_timers: CoalescerTimers = {
  now: () => Date.now(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

function sameIdentity(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return state_identity_fields.every((field) => a[field] === b[field]);
}

interface NodeSlot {
  /** The state last passed on, to compare identity fields against. */
  sent: Record<string, unknown>;
  sent_at_ms: number;
  /** The newest report held back since then, if any: at most one per node, so memory is bounded by the node count. */
  pending: NodeStateEvent | null;
}

export class NodeStateCoalescer {
  private readonly slots = new Map<string, NodeSlot>();
  private timer: unknown = null;
  private closed = false;

  constructor(
    private readonly interval_ms: number,
    private readonly send: (event: ClusterEvent) => void,
    private readonly timers: CoalescerTimers = real_timers,
  ) {
    assert(interval_ms > 0 && interval_ms <= state_coalesce_ms_max, `state coalescing interval must be in (0, ${state_coalesce_ms_max}] ms, got ${interval_ms}`);
  }

  /** Passes an event on, now or (for a progress-only node_state) within interval_ms; order across nodes is kept for everything else. */
  push(event: ClusterEvent): void {
    if (this.closed) return;
    if (event.type !== 'node_state') {
      // A crash, a fault or a restart may depend on what came before it: held reports go first.
      // Progress events (results, applied entries, rates) arrive all the time and order nothing.
      if (!progress_event_types.has(event.type)) this.flush();
      this.send(event);
      return;
    }
    const now = this.timers.now();
    const slot = this.slots.get(event.node);
    if (slot && sameIdentity(slot.sent, event.state) && now - slot.sent_at_ms < this.interval_ms) {
      slot.pending = event;
      this.arm(slot.sent_at_ms + this.interval_ms - now);
      return;
    }
    this.slots.set(event.node, { sent: event.state, sent_at_ms: now, pending: null });
    this.send(event);
  }

  /** Sends every held report now. */
  flush(): void {
    if (this.timer !== null) {
      this.timers.clearTimeout(this.timer);
      this.timer = null;
    }
    const now = this.timers.now();
    for (const slot of this.slots.values()) {
      if (!slot.pending) continue;
      const event = slot.pending;
      slot.pending = null;
      slot.sent = event.state;
      slot.sent_at_ms = now;
      this.send(event);
    }
  }

  /** Drops held reports and stops the timer; later pushes are ignored. */
  close(): void {
    this.closed = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    this.slots.clear();
  }

  private arm(delay_ms: number): void {
    if (this.timer !== null) return;
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this.flush();
    }, Math.max(0, delay_ms));
  }
}
