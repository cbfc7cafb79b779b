import type { ClusterEvent, NewClusterEvent } from '../control/api.js';

/** Recent events kept for subscribers that ask for history (rates excluded). */
export const event_backlog_max = 1000;
/** Listeners attached at once (dashboards, graders, followers). */
export const event_listeners_max = 64;

export type EventListener = (event: ClusterEvent) => void;

/** Fans events out to listeners and keeps a bounded backlog. Listeners must not block. */
export class EventHub {
  private seq = 0;
  private readonly backlog: ClusterEvent[] = [];
  private readonly listeners = new Set<EventListener>();

  emit(event: NewClusterEvent): ClusterEvent {
    const stamped = { ...event, t: Date.now(), seq: ++this.seq } as ClusterEvent;
    if (stamped.type !== 'rates') {
      this.backlog.push(stamped);
      if (this.backlog.length > event_backlog_max) this.backlog.shift();
    }
    for (const listener of this.listeners) listener(stamped);
    return stamped;
  }

  history(): readonly ClusterEvent[] {
    return this.backlog;
  }

  /** Returns an unsubscribe function; throws when too many listeners are attached. */
  subscribe(listener: EventListener): () => void {
    if (this.listeners.size >= event_listeners_max) throw new Error(`too many event listeners (at most ${event_listeners_max})`);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
