import { useCallback, useEffect, useRef, useState } from 'react';
import type { ActionResult, ControlAction } from '../control/api.js';
import { dashboardReducer, emptyModel, type DashboardInput, type DashboardModel, type LogEntry } from './model.js';

/** Ten frames a second: the floor for a live view. */
export const frame_interval_ms = 100;
/** Without new events, still redraw this often so ages (uptime, "no leader for") move. */
export const age_refresh_ms = 500;

/** Where a dashboard gets its inputs and sends its actions: a cluster's control API, or a supervisor in this process. */
export interface DashboardSource {
  /** Starts delivering inputs (a snapshot and recent history first, then live events); returns a function that stops. */
  start(deliver: (input: DashboardInput) => void): () => void;
  act(action: ControlAction): Promise<ActionResult>;
}

export interface DashboardFrame {
  model: DashboardModel;
  now_ms: number;
  /** Log entries added since the previous frame, for printing once above the live region. */
  fresh_log: LogEntry[];
}

/**
 * Folds the source's inputs into the model as they arrive (cheap, never
 * blocks the sender) and publishes a frame at most every `interval_ms`.
 * Events that arrive between frames are merged into one frame: a slow
 * renderer skips frames instead of queueing them.
 */
export function useDashboard(source: DashboardSource, interval_ms = frame_interval_ms, clock: () => number = Date.now) {
  const latest = useRef<DashboardModel>(emptyModel());
  const [frame, setFrame] = useState<DashboardFrame>(() => ({ model: latest.current, now_ms: clock(), fresh_log: [] }));

  const dispatch = useCallback((input: DashboardInput) => {
    latest.current = dashboardReducer(latest.current, input);
  }, []);

  useEffect(() => {
    const stop = source.start(dispatch);
    let shown: DashboardModel | null = null;
    let shownAt = 0;
    let printedThrough = 0;
    const publish = () => {
      const now = clock();
      const model = latest.current;
      if (model === shown && now - shownAt < age_refresh_ms) return;
      const fresh = model.log.filter((entry) => entry.id > printedThrough);
      if (fresh.length > 0) printedThrough = fresh.at(-1)!.id;
      shown = model;
      shownAt = now;
      setFrame({ model, now_ms: now, fresh_log: fresh });
    };
    publish();
    const timer = setInterval(publish, interval_ms);
    return () => {
      clearInterval(timer);
      stop();
    };
  }, [source, interval_ms, clock, dispatch]);

  return { ...frame, dispatch };
}
