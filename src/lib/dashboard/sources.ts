import type { ActionResult, ClusterEvent, ClusterStatus, ControlAction } from '../control/api.js';
import type { ControlClient } from '../control/client.js';
import type { EventHub } from '../supervisor/event-hub.js';
import type { DashboardInput } from './model.js';
import type { DashboardSource } from './use-dashboard.js';

/**
 * The two places a dashboard can read from. Both deliver a status snapshot
 * first (so a dashboard attached late still knows every node), then the
 * supervisor's recent history (for the log), then live events.
 */

/** What `dslab up` hands over: the in-process supervisor's event hub and API. */
export interface InProcessCluster {
  events: Pick<EventHub, 'history' | 'subscribe'>;
  status(): ClusterStatus;
  apply(action: ControlAction): Promise<ActionResult>;
}

export function inProcessSource(cluster: InProcessCluster): DashboardSource {
  return {
    start(deliver) {
      deliver({ type: 'snapshot', t: Date.now(), status: cluster.status() });
      for (const event of cluster.events.history()) deliver(event);
      // The listener only folds the event into the model: it never blocks the supervisor.
      return cluster.events.subscribe(deliver);
    },
    act: (action) => cluster.apply(action),
  };
}

/** Matches the supervisor's notice to a reader that fell behind; the dashboard then takes a fresh snapshot. */
const skipped_notice = /events were skipped because this reader fell behind/;

/** Follows a cluster through its control API (`dslab watch`). The view ends when the stream does. */
export function controlClientSource(client: ControlClient): DashboardSource {
  return {
    start(deliver) {
      let stopped = false;
      let follower: { stop(): void } | null = null;
      const resync = () =>
        client.status().then(
          (status) => {
            if (!stopped) deliver({ type: 'snapshot', t: Date.now(), status });
          },
          () => undefined,
        );
      client.status().then(
        (status) => {
          if (stopped) return;
          deliver({ type: 'snapshot', t: Date.now(), status });
          const followed = client.follow(
            (event: ClusterEvent) => {
              deliver(event as DashboardInput);
              if (event.type === 'notice' && skipped_notice.test(event.text)) void resync();
            },
            { history: true },
          );
          follower = followed;
          followed.ended.then(
            () => deliver({ type: 'stream_ended', t: Date.now(), error: null }),
            (error: Error) => deliver({ type: 'stream_ended', t: Date.now(), error: error.message }),
          );
        },
        (error: Error) => deliver({ type: 'stream_ended', t: Date.now(), error: error.message }),
      );
      return () => {
        stopped = true;
        follower?.stop();
      };
    },
    act: (action) => client.act(action),
  };
}
