import type { ClusterEvent, NewClusterEvent } from '../control/api.js';

/** Recent events kept for subscribers that ask for history (rates excluded). */
export const event_backlog_max = 1000;
/** Recent per-operation events (clients' results, applied entries) kept apart from the others. */
export const operation_backlog_max = 1000;
/**
 * Per-operation events: a load or a named session's pings make thousands, and
 * in the one backlog they would push out the elections and faults a late
 * dashboard or `events --history` wants, so they have a backlog of their own.
 */
const operation_event_types: ReadonlySet<ClusterEvent['type']> = new Set(['client_result', 'node_apply']);
/** Listeners attached at once (dashboards, graders, followers). */
export const event_listeners_max = 64;

export type EventListener = (event: ClusterEvent) => void;

/** Fans events out to listeners and keeps a bounded backlog. Listeners must not block. */
export class EventHub {
  private seq = 0;
  private readonly backlog: ClusterEvent[] = [];
  private readonly operations: ClusterEvent[] = [];
  private readonly listeners = new Set<EventListener>();

  emit(event: NewClusterEvent): ClusterEvent {
    const stamped = { ...event, t: Date.now(), seq: ++this.seq } as ClusterEvent;
    if (operation_event_types.has(stamped.type)) {
      this.operations.push(stamped);
      if (this.operations.length > operation_backlog_max) this.operations.shift();
    } else if (stamped.type !== 'rates') {
      this.backlog.push(stamped);
      if (this.backlog.length > event_backlog_max) this.backlog.shift();
    }
    for (const listener of this.listeners) listener(stamped);
    return stamped;
  }

  /** Both backlogs, in the order the events happened. */
  history(): readonly ClusterEvent[] {
    if (this.operations.length === 0) return this.backlog;
    const merged: ClusterEvent[] = [];
    let i = 0;
    let j = 0;
    while (i < this.backlog.length || j < this.operations.length) {
      const a = this.backlog[i];
      const b = this.operations[j];
      if (b === undefined || (a !== undefined && a.seq < b.seq)) merged.push(this.backlog[i++]!);
      else merged.push(this.operations[j++]!);
    }
    return merged;
  }

  /** Returns an unsubscribe function; throws when too many listeners are attached. */
  subscribe(listener: EventListener): () => void {
    if (this.listeners.size >= event_listeners_max) throw new Error(`too many event listeners (at most ${event_listeners_max})`);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
