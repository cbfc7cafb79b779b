// `dslab zk watch`: set a watch on a supervisor session, wait for its events, hand each to the
// caller, set the watch again (watches are one-shot), until stopped. Without a session name of the
// user's, the loop uses a session of its own, leased so that the supervisor closes it should this
// process die without closing it.

import { randomBytes } from 'node:crypto';
import type { ActionResult } from '../../lib/control/api.js';
import type { ZkWatchEvent } from '../../lib/zk/client.js';

/** How long one wait for events lasts in the supervisor before the loop asks again. */
export const watch_poll_ms = 20_000;
/** A watch's own session closes when no command used it for this long (several polls). */
export const watch_lease_ms = 3 * watch_poll_ms;

export type ZkAct = (op: string, args: Record<string, unknown>) => Promise<ActionResult>;

export interface WatchLoopOptions {
  path: string;
  children: boolean;
  /** The user's named session; absent: the loop's own, closed at the end. */
  session?: string;
  /** Each time the watch is set: what the znode is now (the action's result). */
  onArmed(result: ActionResult): void;
  onEvent(event: ZkWatchEvent): void;
  /** Events the supervisor dropped because nobody took them in time. */
  onDropped?(count: number): void;
  /** Resolves when the loop should stop (Ctrl-C). */
  stop: Promise<void>;
}

export async function watchLoop(act: ZkAct, options: WatchLoopOptions): Promise<void> {
  const own = options.session === undefined;
  const session = options.session ?? `watch-${process.pid}-${randomBytes(3).toString('hex')}`;
  let stopped = false;
  const stopping = options.stop.then(() => {
    stopped = true;
    return null;
  });
  try {
    const arm = async (): Promise<void> => {
      const result = await act('watch', { path: options.path, children: options.children, session, ...(own ? { lease_ms: watch_lease_ms } : {}) });
      options.onArmed(result);
    };
    await arm();
    while (!stopped) {
      const taken = await Promise.race([act('watch_events', { session, wait_ms: watch_poll_ms }), stopping]);
      if (taken === null || stopped) break;
      const events = (taken['events'] as ZkWatchEvent[] | undefined) ?? [];
      const dropped = Number(taken['dropped'] ?? 0);
      if (dropped > 0) options.onDropped?.(dropped);
      for (const event of events) options.onEvent(event);
      // A child watch needs the znode: once it is gone there is nothing to watch the children of.
      if (options.children && events.some((e) => e.event === 'NodeDeleted' && e.path === options.path)) break;
      // One-shot: set it again to hear of the next change.
      if (events.length > 0 && !stopped) await arm();
    }
  } finally {
    // Our own session goes with us; the user's stays, as --session promises.
    if (own) await act('session_close', { session }).catch(() => {});
  }
}
