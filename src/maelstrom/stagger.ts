/**
 * Jepsen's stagger, which Maelstrom uses for both client requests (every
 * 1/--rate s) and nemesis steps (every --nemesis-interval s): the first at
 * once, each next one a uniformly random [0, 2·mean) later, so they average
 * the mean whatever the requests' own latency.
 */

/** Events one schedule may hold: a nemesis schedule has a few hundred; client requests are drawn one gap at a time instead. */
export const staggered_events_max = 100_000;

/** The gap before the next event, `uniform01` being uniform in [0, 1). */
export function staggerGapMs(mean_ms: number, uniform01: () => number): number {
  return Math.floor(uniform01() * 2 * mean_ms);
}

/** The times (ms from the start) of the events that begin before `until_ms`, at most staggered_events_max. */
export function staggeredTimesMs(mean_ms: number, until_ms: number, uniform01: () => number): number[] {
  const times: number[] = [];
  for (let at = 0; at < until_ms && times.length < staggered_events_max; at += staggerGapMs(mean_ms, uniform01)) {
    times.push(at);
    // A zero mean would never advance; one event is all it can mean.
    if (mean_ms <= 0) break;
  }
  return times;
}
