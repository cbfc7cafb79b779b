import { FaultModel } from '../faults/fault-model.js';
import type { Rng } from '../util/prng.js';
import type { TraceWriter } from './trace.js';

/** Messages held for delayed delivery at once; beyond this they are dropped and counted. */
export const delayed_messages_max = 100_000;

export interface LinkCounters {
  delivered: number;
  dropped: number;
  duplicated: number;
}

/**
 * Every node-to-node message passes through here: the fault model decides its
 * fate, the counters and the trace record it, and `deliver` hands it on.
 */
export class Router {
  readonly faults: FaultModel;
  private readonly index = new Map<string, number>();
  private readonly counters: LinkCounters[];
  /** When a message last reached each node from each other one (ms since the epoch, 0 = never), by src * n + dest. */
  private readonly lastDeliveredAt: Float64Array;
  private delayedCount = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  droppedOverflow = 0;
  droppedTotal = 0;

  constructor(
    readonly nodeIds: readonly string[],
    private readonly rng: Rng,
    private readonly trace: TraceWriter,
    private readonly deliver: (dest: string, line: string) => void,
  ) {
    this.faults = new FaultModel(nodeIds);
    nodeIds.forEach((id, i) => this.index.set(id, i));
    this.counters = Array.from({ length: nodeIds.length * nodeIds.length }, () => ({ delivered: 0, dropped: 0, duplicated: 0 }));
    this.lastDeliveredAt = new Float64Array(nodeIds.length * nodeIds.length);
  }

  isNode(id: string): boolean {
    return this.index.has(id);
  }

  /**
   * Routes one message line over the link from node `src` to node `dest`. `src` is the node that
   * wrote the line, even when the envelope names a client it forwards for: faults belong to the hop.
   */
  route(src: string, dest: string, line: string, now_ms: number): void {
    const link = this.index.get(src)! * this.nodeIds.length + this.index.get(dest)!;
    const counter = this.counters[link]!;
    const fate = this.faults.decide(src, dest, this.rng.next);
    if (!fate.delivered) {
      counter.dropped++;
      this.droppedTotal++;
      this.trace.record(now_ms, `dropped:${fate.reason}`, line);
      return;
    }
    counter.delivered++;
    if (fate.delays_ms.length > 1) counter.duplicated += fate.delays_ms.length - 1;
    this.trace.record(now_ms, fate.delays_ms.length > 1 ? 'duplicated' : 'delivered', line);
    for (const delay of fate.delays_ms) {
      if (delay === 0) {
        this.lastDeliveredAt[link] = now_ms;
        this.deliver(dest, line);
        continue;
      }
      if (this.delayedCount >= delayed_messages_max) {
        this.droppedOverflow++;
        continue;
      }
      this.delayedCount++;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.delayedCount--;
        this.lastDeliveredAt[link] = Date.now();
        this.deliver(dest, line);
      }, delay);
      this.timers.add(timer);
    }
  }

  /** Counters per directed link, e.g. "n1->n2". */
  linkCounters(): { link: string; counters: LinkCounters }[] {
    const rows: { link: string; counters: LinkCounters }[] = [];
    this.nodeIds.forEach((src, i) =>
      this.nodeIds.forEach((dest, j) => {
        if (i !== j) rows.push({ link: `${src}->${dest}`, counters: { ...this.counters[i * this.nodeIds.length + j]! } });
      }),
    );
    return rows;
  }

  /** For each node, when a message from each other node last reached it (ms since the epoch); links that never delivered are left out. */
  lastDeliveries(): Record<string, Record<string, number>> {
    const byDest: Record<string, Record<string, number>> = {};
    this.nodeIds.forEach((dest, j) => {
      const from: Record<string, number> = {};
      this.nodeIds.forEach((src, i) => {
        const at = this.lastDeliveredAt[i * this.nodeIds.length + j]!;
        if (i !== j && at > 0) from[src] = at;
      });
      byDest[dest] = from;
    });
    return byDest;
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.delayedCount = 0;
  }
}
