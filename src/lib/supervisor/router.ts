import { FaultModel } from '../faults/fault-model.js';
import { type Envelope, supervisor_address } from '../protocol/messages.js';
import type { Rng } from '../util/prng.js';
import type { TraceWriter } from './trace.js';

/** Messages held for delayed delivery at once; beyond this they are dropped and counted. */
export const delayed_messages_max = 100_000;
/** Client-to-node links (either direction) counted at once; traffic on links beyond this is routed but not counted per link. */
export const client_links_max = 10_000;

/**
 * Messages delivered on one link over an interval, per second: between two endpoints (nodes or
 * services), or between an endpoint and the clients taken together (`src` or `dest` null).
 */
export interface LinkRate {
  src: string | null;
  dest: string | null;
  per_s: number;
}

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
  /**
   * Messages delivered between the clients, taken together, and each endpoint: from the clients to
   * endpoint i at i, from endpoint i to the clients at n + i. Kept apart from clientCounters so a
   * snapshot costs a pass over the endpoints, not over every client link.
   */
  private readonly clientsDelivered: Float64Array;
  droppedOverflow = 0;
  droppedTotal = 0;

  constructor(
    readonly nodeIds: readonly string[],
    private readonly rng: Rng,
    private readonly trace: TraceWriter,
    /** Hands a line to its endpoint, naming the endpoint it comes from (with its envelope when the sender parsed it already); false when the endpoint refused it (a node not reading its input). */
    private readonly deliver: (dest: string, line: string, src: string, envelope?: Envelope) => boolean,
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
    this.clientsDelivered = new Float64Array(2 * n);
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
    const uncounted = link === null && (this.uncounted.has(src) || this.uncounted.has(dest));
    const counter = link !== null ? this.counters[link]! : uncounted ? { delivered: 0, dropped: 0, duplicated: 0 } : this.clientCounter(`${src}->${dest}`);
    const fate = this.faults.decide(src, dest, this.rng.next);
    if (!fate.delivered) {
      counter.dropped++;
      this.droppedTotal++;
      this.trace.record(now_ms, `dropped:${fate.reason}`, line);
      return true;
    }
    // The copies that will arrive: a delayed copy past the bound on held messages is dropped here,
    // before the trace, so the trace's delays are those of copies that did arrive.
    const delays_ms: number[] = [];
    let held = 0;
    for (const delay of fate.delays_ms) {
      if (delay > 0 && this.delayedCount + held >= delayed_messages_max) {
        this.droppedOverflow++;
        continue;
      }
      if (delay > 0) held++;
      delays_ms.push(delay);
    }
    if (delays_ms.length === 0) {
      counter.dropped++;
      this.droppedTotal++;
      this.trace.record(now_ms, 'dropped:overflow', line);
      return true;
    }
    counter.delivered++;
    if (link === null && !uncounted) {
      if (to !== undefined) this.clientsDelivered[to]!++;
      else if (from !== undefined) this.clientsDelivered[this.endpoints.length + from]!++;
    }
    if (delays_ms.length > 1) counter.duplicated += delays_ms.length - 1;
    // Traced when routed, with each copy's delay: a reader that needs when a copy arrived adds it.
    this.trace.record(now_ms, delays_ms.length > 1 ? 'duplicated' : 'delivered', line, delays_ms);
    let accepted = true;
    for (const delay of delays_ms) {
      if (delay === 0) {
        if (link !== null) this.lastDeliveredAt[link] = now_ms;
        if (!this.deliver(dest, line, src, envelope)) accepted = false;
        continue;
      }
      this.delayedCount++;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.delayedCount--;
        if (link !== null) this.lastDeliveredAt[link] = Date.now();
        this.deliver(dest, line, src, envelope);
      }, delay);
      this.timers.add(timer);
    }
    return accepted;
  }

  /**
   * Tells `peer` that its connection to `closed` closed (`line` is the dslab_connection_closed notice from
   * dslab), as the FIN of an exited process crosses the link from `closed` to `peer`: not across a
   * partition (over TCP the peer would learn only from silence), after the link's delay otherwise, and
   * never lost (TCP sends a FIN again until it is acknowledged). Traced with the fate "notice"; not a
   * message of the link's, so not counted. False when it was not delivered (cut off, or held over the bound).
   */
  closeNotice(closed: string, peer: string, line: string, now_ms: number): boolean {
    if (this.faults.isCut(closed, peer)) {
      this.trace.record(now_ms, 'dropped:partition', line);
      return false;
    }
    const delay = this.faults.faultsOn(closed, peer).delay_ms;
    if (delay > 0 && this.delayedCount >= delayed_messages_max) {
      this.droppedOverflow++;
      return false;
    }
    this.trace.record(now_ms, 'notice', line, [delay]);
    if (delay === 0) return this.deliver(peer, line, supervisor_address);
    this.delayedCount++;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.delayedCount--;
      this.deliver(peer, line, supervisor_address);
    }, delay);
    this.timers.add(timer);
    return true;
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

  /**
   * Messages delivered so far on every link between endpoints (at src * n + dest) and between each
   * endpoint and the clients (after those): a copy to subtract a later one from, taken in one pass
   * (about 700 numbers for 25 nodes and their services).
   */
  deliveredSnapshot(): Float64Array {
    const n = this.endpoints.length;
    const snapshot = new Float64Array(n * n + 2 * n);
    for (let link = 0; link < n * n; link++) snapshot[link] = this.counters[link]!.delivered;
    snapshot.set(this.clientsDelivered, n * n);
    return snapshot;
  }

  /**
   * The busiest links between two snapshots, at most `limit` of them, busiest first (ties in endpoint
   * order), and how many links carried messages in all. `before` null counts from the start.
   */
  busiestLinks(before: Float64Array | null, after: Float64Array, seconds: number, limit: number): { links: LinkRate[]; active: number } {
    const n = this.endpoints.length;
    const busy: { slot: number; count: number }[] = [];
    for (let slot = 0; slot < after.length; slot++) {
      const count = after[slot]! - (before?.[slot] ?? 0);
      if (count > 0) busy.push({ slot, count });
    }
    busy.sort((a, b) => b.count - a.count || a.slot - b.slot);
    const links = busy.slice(0, Math.max(0, limit)).map(({ slot, count }): LinkRate => {
      const per_s = count / seconds;
      if (slot < n * n) return { src: this.endpoints[Math.floor(slot / n)]!, dest: this.endpoints[slot % n]!, per_s };
      const side = slot - n * n;
      return side < n ? { src: null, dest: this.endpoints[side]!, per_s } : { src: this.endpoints[side - n]!, dest: null, per_s };
    });
    return { links, active: busy.length };
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
