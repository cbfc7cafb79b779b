// What `dslab zk` prints: znode stats under the names ZooKeeper's own CLI uses, sessions, events.

import { formatDurationMs } from '../../lib/util/units.js';
import type { Stat, ZkWatchEvent } from '../../lib/zk/client.js';

/** A stat as ZooKeeper's zkCli prints it, one field a line (zxids in dslab's epoch:counter form). */
export function formatStat(stat: Stat): string[] {
  return [
    `cZxid = ${stat.czxid}`,
    `ctime = ${formatTime(stat.ctime)}`,
    `mZxid = ${stat.mzxid}`,
    `mtime = ${formatTime(stat.mtime)}`,
    `pZxid = ${stat.pzxid}`,
    `cversion = ${stat.cversion}`,
    `dataVersion = ${stat.version}`,
    `aclVersion = ${stat.aversion}`,
    `ephemeralOwner = ${stat.ephemeralOwner ?? '0x0'}`,
    `dataLength = ${stat.dataLength}`,
    `numChildren = ${stat.numChildren}`,
  ];
}

/** One line: what `zk stat` would tell, for a result's description. */
export function describeStatLine(path: string, stat: Stat): string {
  const owner = stat.ephemeralOwner ? `, ephemeral of ${stat.ephemeralOwner}` : '';
  return `${path}: version ${stat.version}, ${stat.numChildren} children, ${stat.dataLength} bytes, mzxid ${stat.mzxid}${owner}`;
}

function formatTime(ms: number): string {
  return Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : String(ms);
}

export function formatIdle(ms: number): string {
  return Number.isFinite(ms) ? formatDurationMs(Math.max(0, ms)) : '?';
}

export function formatWatchEvent(event: ZkWatchEvent): string {
  return `${event.event} ${event.path}${event.zxid ? ` (zxid ${event.zxid})` : ''}`;
}

/** `zk sessions`: one row a session, under a header. */
export function formatSessionTable(rows: ReadonlyArray<{ session: string; name: string | null; client?: string | null; server: string | null; timeout_ms: number; idle_ms: number }>): string[] {
  if (rows.length === 0) return ['no open sessions'];
  const table = [
    ['SESSION', 'NAME', 'CLIENT', 'SERVER', 'TIMEOUT', 'LAST PING'],
    ...rows.map((r) => [r.session, r.name ?? '-', r.client ?? '-', r.server ?? '-', formatDurationMs(r.timeout_ms), `${formatIdle(r.idle_ms)} ago`]),
  ];
  const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  return table.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  '));
}
