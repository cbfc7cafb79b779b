import { useCallback, useEffect, useRef, useState } from 'react';
import type { ActionResult, ControlAction } from '../control/api.js';
import { dashboardReducer, emptyModel, type DashboardInput, type DashboardModel, type LogEntry } from './model.js';

/** Ten frames a second: the floor for a live view. */
export const frame_interval_ms = 100;
/** Without new events, still redraw this often so ages (uptime, "no leader for") move. */
export const age_refresh_ms = 500;
/** Log entries printed again after the screen is cleared (a terminal resize): enough to fill a tall terminal. */
export const log_replay_entries_max = 60;

/** Where a dashboard gets its inputs and sends its actions: a cluster's control API, or a supervisor in this process. */
export interface DashboardSource {
  /** Starts delivering inputs (a snapshot and recent history first, then live events); returns a function that stops. */
  start(deliver: (input: DashboardInput) => void): () => void;
  act(action: ControlAction): Promise<ActionResult>;
}

export interface DashboardFrame {
  model: DashboardModel;
  now_ms: number;
  /** Log entries added since the previous frame (or, after replayLog, the newest ones again), for printing once above the live region. */
  fresh_log: LogEntry[];
  /** Counts the frames that brought log entries: each batch is printed once, by its own number. */
  log_batch: number;
}

/**
 * Folds the source's inputs into the model as they arrive (cheap, never
 * blocks the sender) and publishes a frame at most every `interval_ms`.
 * Events that arrive between frames are merged into one frame: a slow
 * renderer skips frames instead of queueing them.
 */
export function useDashboard(source: DashboardSource, interval_ms = frame_interval_ms, clock: () => number = Date.now) {
  const latest = useRef<DashboardModel>(emptyModel());
  const [frame, setFrame] = useState<DashboardFrame>(() => ({ model: latest.current, now_ms: clock(), fresh_log: [], log_batch: 0 }));
  /** Set by replayLog: the next frame prints this many of the newest log entries again. */
  const replay = useRef(0);
  const publishNow = useRef<() => void>(() => undefined);

  const dispatch = useCallback((input: DashboardInput) => {
    latest.current = dashboardReducer(latest.current, input);
  }, []);

  useEffect(() => {
    const stop = source.start(dispatch);
    let shown: DashboardModel | null = null;
    let shownAt = 0;
    let printedThrough = 0;
    let batch = 0;
    const publish = () => {
      const now = clock();
      const model = latest.current;
      if (model === shown && now - shownAt < age_refresh_ms && replay.current === 0) return;
      const fresh = replay.current > 0 ? model.log.slice(-replay.current) : model.log.filter((entry) => entry.id > printedThrough);
      replay.current = 0;
      if (fresh.length > 0) {
        printedThrough = fresh.at(-1)!.id;
        batch += 1;
      }
      shown = model;
      shownAt = now;
      setFrame({ model, now_ms: now, fresh_log: fresh, log_batch: batch });
    };
    publishNow.current = publish;
    publish();
    const timer = setInterval(publish, interval_ms);
    return () => {
      clearInterval(timer);
      stop();
    };
  }, [source, interval_ms, clock, dispatch]);

  /** Prints the newest `count` log entries again at once (the screen was cleared), then carries on. */
  const replayLog = useCallback((count: number) => {
    replay.current = Math.max(1, count);
    publishNow.current();
  }, []);

  return { ...frame, dispatch, replayLog };
}
