// How large a nemesis schedule may be, apart from the schedule itself, so the control API can check
// a request's size without importing the nemesis (which speaks the control API's actions).

/** Longest schedule a nemesis may build; a longer run is refused, not truncated. */
export const nemesis_steps_max = 10_000;

/** How many faults a nemesis of this interval and duration injects (one per whole interval). */
export function nemesisFaultCount(interval_ms: number, duration_ms: number): number {
  return Math.floor(duration_ms / interval_ms);
}
