import { UserError } from '../util/errors.js';
import type { ClusterEventType } from './api.js';

/** Every event type on the stream, in the order a reader meets them. */
export const cluster_event_types = [
  'cluster_up',
  'cluster_down',
  'node_up',
  'node_down',
  'node_paused',
  'node_resumed',
  'node_state',
  'node_apply',
  'node_note',
  'node_misbehaved',
  'leader_inferred',
  'fault',
  'rates',
  'client_result',
  'client_message',
  'zk_connection',
  'nemesis',
  'notice',
  'load',
] as const satisfies readonly ClusterEventType[];

// Fails to compile when an event type is added to the stream but not to the list above.
type Unlisted = Exclude<ClusterEventType, (typeof cluster_event_types)[number]>;
const every_type_listed: [Unlisted] extends [never] ? true : Unlisted = true;
void every_type_listed;

/** Parses a comma-separated list of event types (`fault,node_down`); a name that is not one is a UserError naming the flag. */
export function parseEventTypes(text: string, flag: string): ClusterEventType[] {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  if (names.length === 0) throw new UserError(`${flag} needs at least one event type (types: ${cluster_event_types.join(', ')})`);
  const known = new Set<string>(cluster_event_types);
  for (const name of names) {
    if (!known.has(name)) throw new UserError(`${flag}: unknown event type "${name}" (types: ${cluster_event_types.join(', ')})`);
  }
  return [...new Set(names)] as ClusterEventType[];
}

/**
 * The event types to leave out of a stream, from `--type` (keep only these)
 * and `--exclude` (leave these out) as the user gave them; either may be absent.
 */
export function excludedEventTypes(options: { only?: string; exclude?: string }): ClusterEventType[] {
  const excluded = new Set<ClusterEventType>(options.exclude === undefined ? [] : parseEventTypes(options.exclude, '--exclude'));
  if (options.only !== undefined) {
    const kept = new Set(parseEventTypes(options.only, '--type'));
    for (const type of cluster_event_types) if (!kept.has(type)) excluded.add(type);
  }
  return cluster_event_types.filter((type) => excluded.has(type));
}
