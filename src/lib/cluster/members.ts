import type { ClusterStatus, NodeStatusKind, ServerRow } from '../control/api.js';
import type { ServerState } from '../proxy/server-process.js';

/**
 * A cluster's members and how many of them are up, defined once: every
 * member of every group (Topology.nodeIds), program nodes and real servers
 * alike, since each is started, killed and shown as one. `up`, `status` and
 * the dashboard all count by these.
 */

/** A member as the count sees it. */
export interface MemberState {
  id: string;
  status: NodeStatusKind;
}

/** A real server's state in a node's words: running is up, exited is down. */
export function serverMemberStatus(state: ServerState): NodeStatusKind {
  return state === 'running' ? 'up' : state === 'exited' ? 'down' : state;
}

/** Every member in a status: its program nodes, then its real servers. */
export function clusterMembers(status: Pick<ClusterStatus, 'nodes' | 'servers'>): MemberState[] {
  return [...status.nodes.map((n) => ({ id: n.id, status: n.status })), ...(status.servers ?? []).map((s) => ({ id: s.id, status: serverMemberStatus(s.state) }))];
}

/** "4/5 up": how many of the members are up, of all of them. */
export function describeMembersUp(members: readonly Pick<MemberState, 'status'>[]): string {
  return `${members.filter((m) => m.status === 'up').length}/${members.length} up`;
}

/** A server's state as its row shows it: an exited one is "down", with how it ended. */
export function describeServerState(server: ServerRow): string {
  if (server.state !== 'exited') return server.state;
  const exit = server.last_exit;
  if (!exit) return 'down';
  return exit.signal ? `down (${exit.signal})` : `down (exit ${String(exit.exit_code)})`;
}
