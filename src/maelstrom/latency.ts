/**
 * Message latency as Maelstrom draws it (`--latency`, `--latency-dist`): one
 * draw per message between two nodes or a node and a service; a client's
 * messages get none (latency on clients hides anomalies). Draws are whole
 * milliseconds, truncated, as Maelstrom's are.
 */
import type { LatencyDist } from './options.js';

/** Ids Maelstrom takes for clients: anything starting with c. */
export function isMaelstromClient(id: string): boolean {
  return id.startsWith('c');
}

/** Whether a message from `src` to `dest` is delayed: not when either end is a client. */
export function hasLatency(src: string, dest: string): boolean {
  return !isMaelstromClient(src) && !isMaelstromClient(dest);
}

/**
 * One latency in ms, `uniform01` being uniform in [0, 1):
 * constant is the mean; uniform is a whole number in [0, 2·mean); exponential
 * has the given mean.
 */
export function drawLatencyMs(dist: LatencyDist, mean_ms: number, uniform01: () => number): number {
  if (mean_ms <= 0) return 0;
  switch (dist) {
    case 'constant':
      return Math.trunc(mean_ms);
    case 'uniform':
      return Math.floor(uniform01() * 2 * mean_ms);
    case 'exponential':
      // Inverse transform; 1 - u lies in (0, 1], so the logarithm is finite.
      return Math.trunc(Math.log(1 / (1 - uniform01())) * mean_ms);
  }
}
