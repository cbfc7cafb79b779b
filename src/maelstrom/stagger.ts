/**
 * Jepsen's stagger, which Maelstrom uses for both client requests (every
 * 1/--rate s) and nemesis steps (every --nemesis-interval s): the first at
 * once, each next one a uniformly random [0, 2·mean) later, so they average
 * the mean whatever the requests' own latency.
 */

/** The gap before the next event, `uniform01` being uniform in [0, 1). */
export function staggerGapMs(mean_ms: number, uniform01: () => number): number {
  return Math.floor(uniform01() * 2 * mean_ms);
}
