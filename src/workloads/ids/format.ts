import type { DecodedId } from '../../systems/snowflake/core/ids.js';
import type { Layout } from '../../systems/snowflake/core/layout.js';
import { formatLayout } from '../../systems/snowflake/core/layout.js';
import type { IdCheckResult } from './checker.js';
import type { IdLoadSummary } from './client.js';

/** `dslab id decode`'s lines: each field on its own. */
export function formatDecoded(id: bigint, decoded: DecodedId, layout: Layout, epoch_ms: number): string[] {
  return [
    `id          ${id}`,
    `time        ${new Date(decoded.time_ms).toISOString()}`,
    `since epoch ${decoded.since_epoch_ms} ms (epoch ${new Date(epoch_ms).toISOString()})`,
    `datacenter  ${decoded.datacenter}`,
    `worker      ${decoded.worker}`,
    `sequence    ${decoded.sequence}`,
    `layout      ${formatLayout(layout)}`,
  ];
}

export function formatCheck(result: IdCheckResult): string[] {
  const nodes = Object.entries(result.by_node)
    .sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))
    .map(([node, count]) => `${node} ${count}`)
    .join(', ');
  const lines = [
    `${result.ops.ok + result.ops.fail + result.ops.unknown} requests: ${result.ops.ok} ok, ${result.ops.fail} refused, ${result.ops.unknown} unknown; ${result.ids} ids${nodes ? ` (${nodes})` : ''}`,
    `k-sorted within ${result.k_bound_ms} ms (largest inversion ${Math.max(0, result.max_inversion_ms)} ms)`,
  ];
  if (result.valid) lines.push('valid: every id unique, each worker increasing, numbers held, times inside their windows');
  else lines.push(`INVALID: ${result.violations.length} violation${result.violations.length === 1 ? '' : 's'}`, ...result.violations.map((v) => `  ${v}`));
  return lines;
}

export function formatLoad(summary: IdLoadSummary): string[] {
  return [`${summary.ops} requests in ${(summary.duration_ms / 1000).toFixed(1)} s: ${summary.ids} ids, ${summary.ids_per_s} ids/s`, ...formatCheck(summary.check)];
}
