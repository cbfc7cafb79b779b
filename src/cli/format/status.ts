/** Plain-text views of cluster status (`dslab status`): the node table, servers, services and why nodes are down. */

import chalk from 'chalk';
import type { ClusterStatus, NodeStatus, NodeStopper, ServerRow } from '../../lib/control/api.js';
import type { ServerLinkStatus } from '../../lib/proxy/server-member.js';
import { clusterMembers, describeMembersUp, describeServerState, serverMemberStatus } from '../../lib/cluster/members.js';
import { describeLeader, electsLeaders, isLive } from '../../lib/roles.js';
import { formatDurationMs } from '../../lib/util/units.js';
import { describeExplanation, explainStderr } from '../../lib/util/stderr.js';
import { table } from './table.js';

const state_fields_shown_max = 6;

export function describeNodeStatus(node: NodeStatus): string {
  if (node.status === 'down') {
    if (node.exit_signal) return `down (${node.exit_signal})`;
    return node.exit_code === null ? 'down' : `down (exit ${node.exit_code})`;
  }
  return node.status;
}

function colourStatus(text: string, status: NodeStatus['status']): string {
  if (status === 'up') return chalk.green(text);
  if (status === 'paused') return chalk.yellow(text);
  if (status === 'down') return chalk.red(text);
  return chalk.dim(text);
}

/** A node's reported state as `key=value` words, at most state_fields_shown_max of them. */
export function stateSummary(state: Record<string, unknown>, hideRole = false): string {
  const entries = Object.entries(state).map(([k, v]): [string, unknown] => (hideRole && k === 'role' ? [k, '-'] : [k, v]));
  const shown = entries.slice(0, state_fields_shown_max).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  if (entries.length > state_fields_shown_max) shown.push('…');
  return shown.join(' ');
}

export function formatStatus(status: ClusterStatus): string {
  const header =
    `${chalk.bold(status.name)} (${status.system})  up ${formatDurationMs(status.uptime_ms)}  seed ${status.seed}  ` +
    `nodes ${describeMembersUp(clusterMembers(status))}` +
    // A system without leaders (echo, unique-ids) has no leader to name or miss.
    (status.view && !electsLeaders(status.view.roles) ? '' : `  leader ${describeLeader(status.leader, status.leader_inferred)}`);
  const faults = `faults: ${status.faults.length ? status.faults.join('; ') : 'none'}${status.nemesis?.running ? `  (nemesis seed ${status.nemesis.seed} running)` : ''}`;
  // Forwarding (a node passing a client's request on under the client's id) gets a column once it happens.
  const forwarding = status.nodes.some((n) => n.forwarded > 0);
  // A cluster of several node groups names each node's group; a single-group cluster's table is as it always was.
  const grouped = new Set(status.nodes.map((n) => n.group)).size > 1;
  const lead = grouped ? 1 : 0;
  const rows = [['NODE', ...(grouped ? ['GROUP'] : []), 'PID', 'STATUS', 'IN', 'OUT', ...(forwarding ? ['FWD'] : []), 'PROBLEMS', 'STATE']];
  const problemsColumn = (forwarding ? 6 : 5) + lead;
  // A stopped node's role, or one left from before a restart, is history: dimmed, or "-" where there is no colour to dim with.
  const staleRole = (node: NodeStatus) => !isLive(node.status) || node.role_stale;
  for (const node of status.nodes) {
    const problems = [
      node.garbage_lines && `${node.garbage_lines} garbage`,
      node.oversized_lines && `${node.oversized_lines} oversized`,
      node.unknown_dest && `${node.unknown_dest} unknown-dest`,
      node.backpressure_drops && `${node.backpressure_drops} dropped`,
    ].filter(Boolean);
    rows.push([
      node.id,
      ...(grouped ? [node.group ?? '-'] : []),
      node.pid === null ? '-' : String(node.pid),
      describeNodeStatus(node),
      String(node.msgs_in),
      String(node.msgs_out),
      ...(forwarding ? [String(node.forwarded)] : []),
      problems.length ? problems.join(', ') : '-',
      stateSummary(node.state, staleRole(node) && chalk.level === 0) || '-',
    ]);
  }
  const body = table(rows, (cell, r, c) => {
    if (r === 0) return chalk.bold(cell);
    const node = status.nodes[r - 1]!;
    if (c === 2 + lead) return colourStatus(cell, node.status);
    if (c === problemsColumn && cell.trim() !== '-') return chalk.yellow(cell);
    if (c === problemsColumn + 1 && staleRole(node)) return chalk.dim(cell);
    return cell;
  });
  const tails = status.nodes.map(describeStop).filter((line) => line !== null);
  const services = formatServices(status);
  const servers = formatServers(status);
  const zk = formatZkClients(status);
  return [header, faults, ...(services ? [services] : []), '', body, ...(servers ? ['', servers] : []), ...(zk ? ['', zk] : []), ...(tails.length ? ['', ...tails] : [])].join('\n');
}

/** Who stopped a node that did not stop on its own, as a status line says it. */
const stopper_words: Record<NodeStopper, string> = { kill: 'killed by dslab kill', nemesis: 'killed by the nemesis', cluster_stop: 'stopped by dslab as the cluster stopped' };

/**
 * Why a down node is down, for the lines under the status table: who stopped
 * it ("n1 killed by dslab kill (SIGKILL)"), or how it crashed and the error
 * its stderr reports ("n2 crashed (exit code 1): node.py:4: KeyError: 'k'");
 * null for a node that is not down.
 */
export function describeStop(node: NodeStatus): string | null {
  if (node.status !== 'down') return null;
  const how = node.exit_signal ?? `exit code ${node.exit_code ?? 'unknown'}`;
  if (node.stopped_by) return `${node.id} ${stopper_words[node.stopped_by]} (${how})`;
  const ended = node.exit_signal === null && node.exit_code === 0 ? 'exited' : 'crashed';
  const cause = explainStderr(node.stderr_tail);
  if (!cause) return `${node.id} ${ended} (${how}) and wrote nothing on stderr`;
  // A last line that names no error may be any log line; it is quoted as what it is, not as the cause.
  if (cause.last_line) return `${node.id} ${ended} (${how}); the last line on its stderr: ${cause.message}`;
  return `${node.id} ${ended} (${how}): ${describeExplanation(cause)}`;
}


/** What one node's proxied link to a server has carried: "n1 3 conns (1 open), 120 B in, 340 B out, 2 resets, 40 B held". */
export function describeServerLink(link: ServerLinkStatus): string {
  const c = link.counters;
  const words = [`${link.client} ${c.connections} conn${c.connections === 1 ? '' : 's'} (${c.connections_open} open)`, `${c.bytes_to_server} B in`, `${c.bytes_to_client} B out`];
  if (c.resets) words.push(`${c.resets} reset${c.resets === 1 ? '' : 's'}`);
  if (c.upstream_failures) words.push(`${c.upstream_failures} refused`);
  if (c.connections_refused) words.push(`${c.connections_refused} over limit`);
  if (c.held_bytes) words.push(`${c.held_bytes} B held`);
  return words.join(', ');
}

/** The table of real servers (server groups' members) and their links; null when the cluster has none. */
export function formatServers(status: ClusterStatus): string | null {
  const servers = status.servers ?? [];
  if (servers.length === 0) return null;
  const rows = [['SERVER', 'GROUP', 'KIND', 'PID', 'STATE', 'PORT', 'RESTARTS', 'LINKS']];
  for (const server of servers) {
    rows.push([server.id, server.group, server.kind, server.pid === null ? '-' : String(server.pid), describeServerState(server), String(server.port), String(server.restarts), server.links.map(describeServerLink).join('; ') || '-']);
  }
  return table(rows, (cell, r, c) => {
    if (r === 0) return chalk.bold(cell);
    const state = servers[r - 1]!.state;
    if (c === 4) return colourStatus(cell, serverMemberStatus(state));
    return cell;
  });
}

/**
 * Where ZooKeeper clients connect (the connect string and each server's port), then a table of the
 * connections open, each with its endpoint id, server, the client's port and its age; null without Zab servers.
 */
export function formatZkClients(status: ClusterStatus): string | null {
  const zk = status.zk;
  if (!zk) return null;
  const head = `ZooKeeper clients connect to ${zk.connect_string} (${zk.ports.map((p) => `${p.server} port ${p.port}`).join(', ')})`;
  if (zk.connections.length === 0) return `${head}; none connected`;
  // The status's own time: when the supervisor answered.
  const now_ms = status.started_at_ms + status.uptime_ms;
  const rows = [['CLIENT', 'SERVER', 'PORT', 'FROM PORT', 'CONNECTED']];
  for (const c of zk.connections) rows.push([c.id, c.server, String(c.port), String(c.remote_port), `${formatDurationMs(Math.max(0, now_ms - c.since_ms))} ago`]);
  return [head, table(rows, (cell, r) => (r === 0 ? chalk.bold(cell) : cell))].join('\n');
}

/** The services nodes have used, e.g. "services: lin-kv 12 in, 12 out (3 errors)"; null when none has had a message. */
export function formatServices(status: ClusterStatus): string | null {
  const used = (status.services ?? []).filter((s) => s.msgs_in > 0);
  if (used.length === 0) return null;
  const parts = used.map((s) => `${s.name} ${s.msgs_in} in, ${s.msgs_out} out${s.errors ? ` (${s.errors} error${s.errors === 1 ? '' : 's'})` : ''}`);
  return `services: ${parts.join(' · ')}`;
}
