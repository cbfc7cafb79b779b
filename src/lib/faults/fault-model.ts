import { isClientId } from '../protocol/messages.js';
import { assert } from '../util/errors.js';
import { formatDurationMs, formatPercent } from '../util/units.js';

/** What the network does to messages on one link (or on every link). */
export interface LinkFaults {
  /** Probability a message is dropped. */
  loss: number;
  /** Probability a message is delivered twice. */
  duplicate: number;
  /** Probability a message is held back so later ones overtake it. */
  reorder: number;
  delay_ms: number;
  /** Each delay is drawn uniformly from delay_ms ± jitter_ms (never below zero). */
  jitter_ms: number;
}

export const no_link_faults: LinkFaults = Object.freeze({ loss: 0, duplicate: 0, reorder: 0, delay_ms: 0, jitter_ms: 0 });

/** How far back a reordered message is held, beyond its normal delay. */
export const reorder_hold_ms_max = 50;

/** A link is undirected: "n1-n2" covers both directions. */
export function linkKey(a: string, b: string): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}

/** How base latency is drawn: Maelstrom's --latency-dist. */
export type LatencyDistribution = 'constant' | 'uniform' | 'exponential';

/**
 * The network's own latency, beneath every fault (Maelstrom's --latency): on
 * node↔node and node↔service messages, never on a client's, and not cleared by heal.
 */
export interface BaseLatency {
  mean_ms: number;
  dist: LatencyDistribution;
}

/** One base latency draw in whole ms, `uniform01` uniform in [0, 1): constant is the mean, uniform is in [0, 2·mean), exponential has the mean. */
export function drawBaseLatencyMs(latency: BaseLatency, uniform01: () => number): number {
  const mean = latency.mean_ms;
  if (mean <= 0) return 0;
  switch (latency.dist) {
    case 'constant':
      return Math.trunc(mean);
    case 'uniform':
      return Math.floor(uniform01() * 2 * mean);
    case 'exponential':
      // Inverse transform; 1 - u lies in (0, 1], so the logarithm is finite.
      return Math.trunc(Math.log(1 / (1 - uniform01())) * mean);
  }
}

export type Fate =
  | { delivered: true; delays_ms: number[] }
  | { delivered: false; reason: 'partition' | 'loss' };

/**
 * What happens to one chunk of a byte stream (a TCP connection through the
 * link proxy): held while the link is cut, the connection reset by loss, or
 * passed on after a delay. Duplicate and reorder do not apply: TCP hides both,
 * and doing either to a byte stream would corrupt it rather than model a network.
 */
export type StreamFate = { action: 'hold' } | { action: 'reset' } | { action: 'forward'; delay_ms: number };

/**
 * The fault state of the network between nodes, and the decision of what
 * happens to one message. Pure: randomness comes from the caller.
 *
 * Services (lin-kv, …) are endpoints too. A partition must place every node;
 * it may place services. A service it does not place joins the group
 * `services_join` names (how `--isolate` cuts a node off from them too), or
 * else stays reachable from every group, as Maelstrom's services are.
 *
 * Clients (c1, c2, …) are endpoints too, but their links take faults only
 * when a fault names them: a partition may place a client (on no side, it is
 * cut from nobody), and faults on every link leave client links alone.
 */
export class FaultModel {
  private groupOf = new Map<string, number>();
  private groups: string[][] | null = null;
  private servicesJoin: number | null = null;
  private readonly serviceSet: ReadonlySet<string>;
  private readonly nodeSet: ReadonlySet<string>;
  private global: LinkFaults = { ...no_link_faults };
  private perLink = new Map<string, Partial<LinkFaults>>();
  /** Directed cuts (a node dropping what some others send it): Maelstrom's majorities ring, which may be one-way. By receiver. */
  private drops = new Map<string, ReadonlySet<string>>();
  private baseLatency: BaseLatency | null = null;

  constructor(
    readonly nodeIds: readonly string[],
    readonly serviceIds: readonly string[] = [],
  ) {
    this.serviceSet = new Set(serviceIds);
    this.nodeSet = new Set(nodeIds);
  }

  setPartition(groups: string[][], services_join?: number): void {
    this.drops.clear();
    const seen = new Set<string>();
    let nodesPlaced = 0;
    for (const group of groups) {
      for (const member of group) {
        const isNode = this.nodeIds.includes(member);
        assert(isNode || this.serviceSet.has(member) || isClientId(member), `partition names unknown node ${member}`);
        assert(!seen.has(member), `partition lists ${member} twice`);
        seen.add(member);
        if (isNode) nodesPlaced++;
      }
    }
    assert(nodesPlaced === this.nodeIds.length, 'partition must place every node');
    assert(services_join === undefined || (Number.isInteger(services_join) && services_join >= 0 && services_join < groups.length), 'services join a group of the partition');
    this.groups = groups.map((g) => [...g]);
    this.servicesJoin = services_join ?? null;
    this.groupOf.clear();
    groups.forEach((group, index) => group.forEach((member) => this.groupOf.set(member, index)));
  }

  partition(): string[][] | null {
    return this.groups;
  }

  /**
   * A partition given as who drops whom: `drops[receiver]` lists the nodes whose messages it drops
   * (one-way unless the other drops it too). Replaces any partition in force; services and clients
   * stay reachable from every node.
   */
  setDrops(drops: Readonly<Record<string, readonly string[]>>): void {
    for (const [receiver, senders] of Object.entries(drops)) {
      assert(this.nodeSet.has(receiver), `drops name unknown node ${receiver}`);
      for (const sender of senders) assert(this.nodeSet.has(sender), `drops name unknown node ${sender}`);
    }
    this.groups = null;
    this.servicesJoin = null;
    this.groupOf.clear();
    this.drops = new Map(Object.entries(drops).filter(([, senders]) => senders.length > 0).map(([receiver, senders]) => [receiver, new Set(senders)]));
  }

  /** The directed cuts in force, by receiver; empty when none. */
  dropsInForce(): Record<string, string[]> {
    return Object.fromEntries([...this.drops].map(([receiver, senders]) => [receiver, [...senders]]));
  }

  /** Sets (or, with null, removes) the network's base latency; heal leaves it. */
  setBaseLatency(latency: BaseLatency | null): void {
    assert(latency === null || (Number.isFinite(latency.mean_ms) && latency.mean_ms >= 0), 'base latency is a mean of 0 ms or more');
    this.baseLatency = latency && latency.mean_ms > 0 ? { ...latency } : null;
  }

  base(): BaseLatency | null {
    return this.baseLatency;
  }

  /** Sets faults on every link, or on one link when `link` is given; undefined fields stay as they are. */
  setLinkFaults(change: Partial<LinkFaults>, link?: [string, string]): void {
    if (link) {
      const key = linkKey(link[0], link[1]);
      const merged = { ...this.perLink.get(key), ...change };
      this.perLink.set(key, merged);
    } else {
      this.global = { ...this.global, ...change };
    }
  }

  /** Clears partitions and every link fault. */
  heal(): void {
    this.groups = null;
    this.servicesJoin = null;
    this.groupOf.clear();
    this.drops.clear();
    this.global = { ...no_link_faults };
    this.perLink.clear();
  }

  faultsOn(src: string, dest: string): LinkFaults {
    const own = this.perLink.size ? this.perLink.get(linkKey(src, dest)) : undefined;
    if (this.isClient(src) || this.isClient(dest)) return own ? { ...no_link_faults, ...own } : no_link_faults;
    return own ? { ...this.global, ...own } : this.global;
  }

  isCut(src: string, dest: string): boolean {
    if (this.drops.size > 0 && this.drops.get(dest)?.has(src)) return true;
    if (!this.groups) return false;
    const a = this.sideOf(src);
    const b = this.sideOf(dest);
    // An endpoint on no side (an unplaced service) is cut from nobody.
    return a !== null && b !== null && a !== b;
  }

  /** The base latency of one message: none on a client's link. */
  private baseDelayMs(src: string, dest: string, random: () => number): number {
    if (!this.baseLatency || this.isClient(src) || this.isClient(dest)) return 0;
    return drawBaseLatencyMs(this.baseLatency, random);
  }

  private isClient(id: string): boolean {
    return !this.nodeSet.has(id) && !this.serviceSet.has(id) && isClientId(id);
  }

  private sideOf(id: string): number | null {
    const group = this.groupOf.get(id);
    if (group !== undefined) return group;
    return this.serviceSet.has(id) ? this.servicesJoin : null;
  }

  /** Decides the fate of one message from src to dest; `random` is uniform in [0, 1). */
  decide(src: string, dest: string, random: () => number): Fate {
    if (this.isCut(src, dest)) return { delivered: false, reason: 'partition' };
    const faults = this.faultsOn(src, dest);
    if (faults.loss > 0 && random() < faults.loss) return { delivered: false, reason: 'loss' };
    const copies = faults.duplicate > 0 && random() < faults.duplicate ? 2 : 1;
    const delays_ms: number[] = [];
    for (let i = 0; i < copies; i++) {
      let delay = faults.delay_ms + this.baseDelayMs(src, dest, random);
      if (faults.jitter_ms > 0) delay += (random() * 2 - 1) * faults.jitter_ms;
      if (faults.reorder > 0 && random() < faults.reorder) delay += 1 + random() * reorder_hold_ms_max;
      delays_ms.push(Math.max(0, Math.round(delay)));
    }
    return { delivered: true, delays_ms };
  }

  /**
   * Decides the fate of one chunk of a byte stream from src to dest, with the
   * same partition, loss and delay/jitter as `decide` uses for messages.
   */
  decideStream(src: string, dest: string, random: () => number): StreamFate {
    if (this.isCut(src, dest)) return { action: 'hold' };
    const faults = this.faultsOn(src, dest);
    if (faults.loss > 0 && random() < faults.loss) return { action: 'reset' };
    let delay = faults.delay_ms + this.baseDelayMs(src, dest, random);
    if (faults.jitter_ms > 0) delay += (random() * 2 - 1) * faults.jitter_ms;
    return { action: 'forward', delay_ms: Math.max(0, Math.round(delay)) };
  }

  /** Link faults in force: every link's first, then each link's own (as set on that link); links without faults are left out. */
  linkFaultsInForce(): { link: string | null; faults: LinkFaults }[] {
    const entries = [{ link: null as string | null, faults: { ...this.global } }];
    for (const [key, faults] of this.perLink) entries.push({ link: key, faults: { ...no_link_faults, ...faults } });
    return entries.filter((entry) => describeLinkFaults(entry.faults).length > 0);
  }

  /** The active faults in words, for status lines and the dashboard header. */
  describe(): string[] {
    const words: string[] = [];
    if (this.groups) words.push(describePartition(this.groups));
    if (this.drops.size > 0) words.push(describeDrops(this.dropsInForce()));
    for (const { link, faults } of this.linkFaultsInForce()) words.push(...describeLinkFaults(faults).map((word) => (link ? `${word} on ${link}` : word)));
    return words;
  }

  isHealthy(): boolean {
    return this.describe().length === 0;
  }
}

/** A partition in words: "partition {n1,n2} | {n3}". */
export function describePartition(groups: readonly (readonly string[])[]): string {
  return `partition ${groups.map((g) => `{${g.join(',')}}`).join(' | ')}`;
}

/** Directed cuts in words: "partition: n1 drops n3,n4; n2 drops n4". */
export function describeDrops(drops: Readonly<Record<string, readonly string[]>>): string {
  return `partition: ${Object.entries(drops).filter(([, senders]) => senders.length > 0).map(([receiver, senders]) => `${receiver} drops ${senders.join(',')}`).join('; ')}`;
}

/** One link's faults in words ("delay 100ms±10ms", "loss 20%"); none when it has no faults. */
export function describeLinkFaults(faults: LinkFaults): string[] {
  const words: string[] = [];
  if (faults.delay_ms || faults.jitter_ms) {
    words.push(`delay ${formatDurationMs(faults.delay_ms)}${faults.jitter_ms ? `±${formatDurationMs(faults.jitter_ms)}` : ''}`);
  }
  if (faults.loss) words.push(`loss ${formatPercent(faults.loss)}`);
  if (faults.duplicate) words.push(`duplicate ${formatPercent(faults.duplicate)}`);
  if (faults.reorder) words.push(`reorder ${formatPercent(faults.reorder)}`);
  return words;
}
