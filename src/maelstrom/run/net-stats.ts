/**
 * Maelstrom's network statistics from the router's per-link counters: every
 * message sent and received, split into those with a client at either end and
 * those between servers (nodes and services), and messages per client
 * operation. A duplicated message is one message received twice.
 */
import type { LinkStatus } from '../../lib/control/api.js';
import { isClientId } from '../../lib/protocol/messages.js';
import type { NetCounts, NetStats } from './result.js';

function emptyCounts(): NetCounts {
  return { send_count: 0, recv_count: 0, msg_count: 0, msgs_per_op: null };
}

export function netStats(links: readonly LinkStatus[], operations_invoked: number): NetStats {
  const all = emptyCounts();
  const clients = emptyCounts();
  const servers = emptyCounts();
  for (const link of links) {
    const [src = '', dest = ''] = link.link.split('->');
    const sent = link.delivered + link.dropped;
    const received = link.delivered + link.duplicated;
    const side = isClientId(src) || isClientId(dest) ? clients : servers;
    for (const counts of [all, side]) {
      counts.send_count += sent;
      counts.recv_count += received;
      counts.msg_count += sent;
    }
  }
  // Maelstrom gives messages per operation for all messages and for servers' (the figure its challenges set budgets on).
  if (operations_invoked > 0) {
    all.msgs_per_op = all.msg_count / operations_invoked;
    servers.msgs_per_op = servers.msg_count / operations_invoked;
  }
  return { all, clients, servers };
}
