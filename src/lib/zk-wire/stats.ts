// What the four-letter words report about one server's wire connections: packets received and
// sent, request latency, requests outstanding, and each connection's own counts (stat's client list).
// Kept per server id in this process (the supervisor's), because a four-letter word arrives on a
// connection of its own and reports on all the others.

/** One connection's counts. */
export interface ConnectionStats {
  /** The connection's endpoint id, as `status` names it. */
  readonly client: string;
  received: number;
  sent: number;
  /** Requests read and not yet answered. */
  queued: number;
}

export class WireServerStats {
  received = 0;
  sent = 0;
  latency_ms_min = 0;
  latency_ms_max = 0;
  private latency_ms_sum = 0;
  private latency_count = 0;
  readonly connections = new Set<ConnectionStats>();

  get latency_ms_avg(): number {
    return this.latency_count === 0 ? 0 : this.latency_ms_sum / this.latency_count;
  }

  get outstanding(): number {
    let n = 0;
    for (const c of this.connections) n += c.queued;
    return n;
  }

  answered(latency_ms: number): void {
    const ms = Math.max(0, latency_ms);
    this.latency_ms_min = this.latency_count === 0 ? ms : Math.min(this.latency_ms_min, ms);
    this.latency_ms_max = Math.max(this.latency_ms_max, ms);
    this.latency_ms_sum += ms;
    this.latency_count += 1;
  }
}

/** Servers whose counts are kept; past it the oldest is forgotten (a cluster has at most 25 servers). */
export const stats_servers_max = 64;

const by_server = new Map<string, WireServerStats>();

/** The counts of the server with this id, created on first use. */
export function statsOf(server: string): WireServerStats {
  let stats = by_server.get(server);
  if (stats === undefined) {
    stats = new WireServerStats();
    by_server.set(server, stats);
    if (by_server.size > stats_servers_max) by_server.delete(by_server.keys().next().value!);
  }
  return stats;
}
