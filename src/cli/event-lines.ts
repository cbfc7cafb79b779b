import { Flags } from '@oclif/core';
import type { ClusterEventType } from '../lib/control/api.js';
import type { ControlClient } from '../lib/control/client.js';
import { cluster_event_types } from '../lib/control/event-filter.js';
import { event_lines_state_coalesce_ms, EventLinePrinter, formatEventLine, lineless_event_types } from '../lib/dashboard/event-lines.js';
import { UserError } from '../lib/util/errors.js';

/** `--type` and `--exclude`, shared by `events` and `watch`. */
export const event_filter_flags = {
  type: Flags.string({ description: `only these event types, comma-separated (${cluster_event_types.join(', ')})`, helpValue: 'fault,node_down' }),
  exclude: Flags.string({ description: 'leave out these event types, comma-separated', helpValue: 'rates,client_result' }),
};

export interface PrintEventOptions {
  /** Every event as the supervisor streams it (NDJSON) instead of the plain event lines. */
  json: boolean;
  /** Start with the events the supervisor kept. */
  history: boolean;
  /** Event types to leave out (from --type and --exclude). */
  exclude: readonly ClusterEventType[];
}

/**
 * Prints a cluster's events until the stream ends or Ctrl-C: the dashboard's
 * plain event lines, or with json every event as one JSON object per line.
 */
export async function printEventLines(client: ControlClient, options: PrintEventOptions): Promise<void> {
  const excluded = new Set(options.exclude);
  let onEvent: Parameters<ControlClient['follow']>[0];
  let exclude: ClusterEventType[];
  let coalesce_state_ms: number | undefined;
  if (options.json) {
    onEvent = (event) => void process.stdout.write(JSON.stringify(event) + '\n');
    exclude = [...excluded];
  } else {
    const kept = cluster_event_types.filter((type) => !excluded.has(type));
    if (kept.length === 0) throw new UserError('--type and --exclude leave no event type to show');
    if (kept.every((type) => lineless_event_types.includes(type))) throw new UserError(`${kept.join(', ')} events make no plain lines: add --json to see them`);
    exclude = [...new Set([...excluded, ...lineless_event_types])];
    coalesce_state_ms = event_lines_state_coalesce_ms;
    const printer = new EventLinePrinter();
    // Followed from now, the lines start from the cluster as it is, so the first state report of a long-standing leader is not news.
    if (!options.history) printer.push({ type: 'snapshot', t: Date.now(), status: await client.status() });
    onEvent = (event) => {
      for (const line of printer.push(event)) process.stdout.write(formatEventLine(line) + '\n');
    };
  }
  const follower = client.follow(onEvent, { history: options.history, exclude, coalesce_state_ms });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => follower.stop());
  await follower.ended;
}
