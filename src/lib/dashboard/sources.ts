import type { ActionResult, ClusterEvent, ClusterStatus, ControlAction } from '../control/api.js';
import type { ControlClient } from '../control/client.js';
import { NodeStateCoalescer } from '../control/state-coalescer.js';
import type { EventHub } from '../supervisor/event-hub.js';
import type { DashboardInput } from './model.js';
import { frame_interval_ms, type DashboardSource } from './use-dashboard.js';

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
      // History, then the snapshot: the snapshot is newer than every event in the history, so it has the last word.
      for (const event of cluster.events.history()) deliver(event);
      deliver({ type: 'snapshot', t: Date.now(), status: cluster.status() });
      // The listener only folds the event into the model (progress-only state reports merged to the frame rate): it never blocks the supervisor.
      const coalescer = new NodeStateCoalescer(frame_interval_ms, deliver);
      const unsubscribe = cluster.events.subscribe((event) => {
        if (event.type !== 'client_result' && event.type !== 'node_apply') coalescer.push(event);
      });
      return () => {
        unsubscribe();
        coalescer.close();
      };
    },
    act: (action) => cluster.apply(action),
  };
}

/** Matches the supervisor's notice to a reader that fell behind; the dashboard then takes a fresh snapshot. */
const skipped_notice = /events were skipped because this reader fell behind/;
/** Longest wait for the first live event before taking the snapshot anyway. */
export const snapshot_wait_ms_max = 1500;

/**
 * Follows a cluster through its control API (`dslab watch`). The history comes
 * first on the stream; the first `rates` event (rates are never kept in the
 * history) shows it has been replayed, and only then is the snapshot taken, so
 * the snapshot is never older than an event applied after it. The view ends
 * when the stream does.
 */
export function controlClientSource(client: ControlClient): DashboardSource {
  return {
    start(deliver) {
      let stopped = false;
      let snapshotTaken = false;
      const snapshot = () =>
        client.status().then(
          (status) => {
            if (!stopped) deliver({ type: 'snapshot', t: Date.now(), status });
          },
          () => undefined,
        );
      const takeFirstSnapshot = () => {
        if (snapshotTaken) return;
        snapshotTaken = true;
        clearTimeout(fallback);
        void snapshot();
      };
      const fallback = setTimeout(takeFirstSnapshot, snapshot_wait_ms_max);
      // Under load most events are client results, applied entries and progress-only state reports. The dashboard
      // shows none of the first two, and at most one of the last per node per frame: the supervisor leaves out or merges the rest.
      const follower = client.follow((event: ClusterEvent) => {
        deliver(event as DashboardInput);
        if (event.type === 'rates') takeFirstSnapshot();
        if (event.type === 'notice' && skipped_notice.test(event.text)) void snapshot();
      }, { history: true, exclude: ['client_result', 'node_apply'], coalesce_state_ms: frame_interval_ms });
      follower.ended.then(
        () => deliver({ type: 'stream_ended', t: Date.now(), error: null }),
        (error: Error) => deliver({ type: 'stream_ended', t: Date.now(), error: error.message }),
      );
      return () => {
        stopped = true;
        clearTimeout(fallback);
        follower.stop();
      };
    },
    act: (action) => client.act(action),
  };
}
