/**
 * Message latency as Maelstrom draws it (`--latency`, `--latency-dist`): one
 * draw per message between two nodes or a node and a service; a client's
 * messages get none (latency on clients hides anomalies). Draws are whole
 * milliseconds, truncated, as Maelstrom's are.
 */
import { drawBaseLatencyMs } from '../lib/faults/fault-model.js';
import type { LatencyDist } from './options.js';

/** Ids Maelstrom takes for clients: anything starting with c. */
export function isMaelstromClient(id: string): boolean {
  return id.startsWith('c');
}

/** Whether a message from `src` to `dest` is delayed: not when either end is a client. */
export function hasLatency(src: string, dest: string): boolean {
  return !isMaelstromClient(src) && !isMaelstromClient(dest);
}

/** One latency in ms, `uniform01` being uniform in [0, 1) (the router's own draw; see drawBaseLatencyMs). */
export function drawLatencyMs(dist: LatencyDist, mean_ms: number, uniform01: () => number): number {
  return drawBaseLatencyMs({ mean_ms, dist }, uniform01);
}
