/**
 * Which node processes have a "connection": a message delivered between them,
 * either way, since both of their current processes started. Real servers
 * talk over TCP, and a process that exits closes its connections at once (the
 * kernel sends the FIN); its peers can tell. The supervisor keeps this record
 * so that, when a node's process exits, it can tell the peers that asked
 * (dslab_connection_closed) whose connection closed, and no one else. Nodes
 * only: clients and services come and go and hold no connection here.
 * Bounded by the node count (at most nodes_max squared pairs).
 */
export class NodeConnections {
  private readonly peers = new Map<string, Set<string>>();

  /** A message between a and b (two live node processes) was delivered. */
  opened(a: string, b: string): void {
    if (a === b) return;
    this.peersOf(a).add(b);
    this.peersOf(b).add(a);
  }

  /** Whether a and b are connected. */
  has(a: string, b: string): boolean {
    return this.peers.get(a)?.has(b) ?? false;
  }

  /** `id`'s process is gone: every connection it had closes. Returns its peers, in the order they connected. */
  closeAll(id: string): string[] {
    const mine = this.peers.get(id);
    if (!mine) return [];
    this.peers.delete(id);
    for (const peer of mine) this.peers.get(peer)?.delete(id);
    return [...mine];
  }

  private peersOf(id: string): Set<string> {
    let set = this.peers.get(id);
    if (!set) {
      set = new Set();
      this.peers.set(id, set);
    }
    return set;
  }
}
