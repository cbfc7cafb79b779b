/**
 * The one polling loop with a deadline: look (or try) again, pausing between
 * looks, until what is awaited holds or the time is up. It knows nothing of
 * what it polls; callers decide what a missed deadline means.
 */

/** One look: done, with what it found; or not yet, with why in words and, when it differs from the loop's, the pause before the next look. */
export type Look<T> = { done: true; value: T } | { done: false; why: string; pause_ms?: number };

/** How a poll ended: done with the value found, or out of time with the last look's why. */
export type PollOutcome<T> = { done: true; value: T } | { done: false; why: string };

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `look` until it is done, pausing interval_ms (or the look's own
 * pause_ms) between looks. A look that is not done once deadline_ms (a
 * Date.now() time) has passed ends the poll with its why. The first look is
 * always taken, however near the deadline.
 */
export async function pollUntil<T>(deadline_ms: number, interval_ms: number, look: () => Look<T> | Promise<Look<T>>): Promise<PollOutcome<T>> {
  for (;;) {
    const seen = await look();
    if (seen.done) return seen;
    if (Date.now() > deadline_ms) return { done: false, why: seen.why };
    await pause(seen.pause_ms ?? interval_ms);
  }
}

/**
 * Polls a condition: `pending` answers null once it holds, else why it does
 * not yet. Returns null when it held within within_ms, else the last why.
 */
export async function waitUntilHolds(within_ms: number, interval_ms: number, pending: () => string | null | Promise<string | null>): Promise<string | null> {
  const outcome = await pollUntil<null>(Date.now() + within_ms, interval_ms, async () => {
    const why = await pending();
    return why === null ? { done: true, value: null } : { done: false, why };
  });
  return outcome.done ? null : outcome.why;
}
