import { FaultModel } from '../faults/fault-model.js';
import type { Envelope } from '../protocol/messages.js';
import type { Rng } from '../util/prng.js';
import type { TraceWriter } from './trace.js';

/** Messages held for delayed delivery at once; beyond this they are dropped and counted. */
export const delayed_messages_max = 100_000;
/** Client-to-node links (either direction) counted at once; traffic on links beyond this is routed but not counted per link. */
export const client_links_max = 10_000;

export interface LinkCounters {
  delivered: number;
  dropped: number;
  duplicated: number;
}

/**
 * Every node-to-node message passes through here: the fault model decides its
 * fate, the counters and the trace record it, and `deliver` hands it on.
 * Services (lin-kv, …) are endpoints like nodes, so messages to and from them
 * take the same faults and are counted and traced the same way. So are
 * clients (c1, …): any endpoint that is neither a node nor a service; their
 * links are counted once they carry a message.
 */
export class Router {
  readonly faults: FaultModel;
  /** Nodes, then services: the endpoints whose links are counted. */
  private readonly endpoints: readonly string[];
  private readonly index = new Map<string, number>();
  private readonly nodeSet: ReadonlySet<string>;
  private readonly counters: LinkCounters[];
  /** When a message last reached each node from each other one (ms since the epoch, 0 = never), by src * n + dest. */
  private readonly lastDeliveredAt: Float64Array;
  private delayedCount = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Counters of links to or from a client, by "src->dest", in the order they first carried a message. */
  private readonly clientCounters = new Map<string, LinkCounters>();
  private readonly uncounted: ReadonlySet<string>;
  droppedOverflow = 0;
  droppedTotal = 0;

  constructor(
    readonly nodeIds: readonly string[],
    private readonly rng: Rng,
    private readonly trace: TraceWriter,
    /** Hands a line to its endpoint (with its envelope when the sender parsed it already); false when the endpoint refused it (a node not reading its input). */
    private readonly deliver: (dest: string, line: string, envelope?: Envelope) => boolean,
    serviceIds: readonly string[] = [],
    /** Clients whose links are routed and traced but not counted: the supervisor's own (init, transfers), which is no user's traffic. */
    uncountedClients: readonly string[] = [],
  ) {
    this.uncounted = new Set(uncountedClients);
    this.faults = new FaultModel(nodeIds, serviceIds);
    this.endpoints = [...nodeIds, ...serviceIds];
    this.nodeSet = new Set(nodeIds);
    this.endpoints.forEach((id, i) => this.index.set(id, i));
    const n = this.endpoints.length;
    this.counters = Array.from({ length: n * n }, () => ({ delivered: 0, dropped: 0, duplicated: 0 }));
    this.lastDeliveredAt = new Float64Array(n * n);
  }

  isNode(id: string): boolean {
    return this.nodeSet.has(id);
  }

  /**
   * Routes one message line over the link from endpoint `src` to endpoint `dest` (nodes or services).
   * `src` is the endpoint that wrote the line, even when the envelope names a client it forwards for:
   * faults belong to the hop. Either end may be a client. Returns false when
   * a copy delivered at once was refused; delayed copies are not waited for.
   * `envelope`, the line already parsed, travels with it so an endpoint that reads envelopes need not parse it again.
   */
  route(src: string, dest: string, line: string, now_ms: number, envelope?: Envelope): boolean {
    const from = this.index.get(src);
    const to = this.index.get(dest);
    // Links with a client end have no place in the node matrix (clients come and go).
    const link = from !== undefined && to !== undefined ? from * this.endpoints.length + to : null;
    const counter = link !== null ? this.counters[link]! : this.uncounted.has(src) || this.uncounted.has(dest) ? { delivered: 0, dropped: 0, duplicated: 0 } : this.clientCounter(`${src}->${dest}`);
    const fate = this.faults.decide(src, dest, this.rng.next);
    if (!fate.delivered) {
      counter.dropped++;
      this.droppedTotal++;
      this.trace.record(now_ms, `dropped:${fate.reason}`, line);
      return true;
    }
    counter.delivered++;
    if (fate.delays_ms.length > 1) counter.duplicated += fate.delays_ms.length - 1;
    this.trace.record(now_ms, fate.delays_ms.length > 1 ? 'duplicated' : 'delivered', line);
    let accepted = true;
    for (const delay of fate.delays_ms) {
      if (delay === 0) {
        if (link !== null) this.lastDeliveredAt[link] = now_ms;
        if (!this.deliver(dest, line, envelope)) accepted = false;
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
        if (link !== null) this.lastDeliveredAt[link] = Date.now();
        this.deliver(dest, line, envelope);
      }, delay);
      this.timers.add(timer);
    }
    return accepted;
  }

  /** The counters of a client link; past client_links_max new links share one uncounted scratch record. */
  private clientCounter(key: string): LinkCounters {
    let counters = this.clientCounters.get(key);
    if (!counters) {
      counters = { delivered: 0, dropped: 0, duplicated: 0 };
      if (this.clientCounters.size < client_links_max) this.clientCounters.set(key, counters);
    }
    return counters;
  }

  /** Counters per directed link, e.g. "n1->n2"; links to or from a service or a client only once they carried a message. */
  linkCounters(): { link: string; counters: LinkCounters }[] {
    const rows: { link: string; counters: LinkCounters }[] = [];
    const n = this.endpoints.length;
    this.endpoints.forEach((src, i) =>
      this.endpoints.forEach((dest, j) => {
        if (i === j) return;
        const counters = this.counters[i * n + j]!;
        const betweenNodes = this.nodeSet.has(src) && this.nodeSet.has(dest);
        if (betweenNodes || counters.delivered + counters.dropped > 0) rows.push({ link: `${src}->${dest}`, counters: { ...counters } });
      }),
    );
    for (const [link, counters] of this.clientCounters) rows.push({ link, counters: { ...counters } });
    return rows;
  }

  /** For each node, when a message from each other endpoint last reached it (ms since the epoch); links that never delivered are left out. */
  lastDeliveries(): Record<string, Record<string, number>> {
    const byDest: Record<string, Record<string, number>> = {};
    const n = this.endpoints.length;
    this.nodeIds.forEach((dest) => {
      const j = this.index.get(dest)!;
      const from: Record<string, number> = {};
      this.endpoints.forEach((src, i) => {
        const at = this.lastDeliveredAt[i * n + j]!;
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
