import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { ClusterEvent } from '../../src/lib/control/api.js';
import { systemView } from '../../src/lib/plugin.js';
import { raft } from '../../src/systems/raft/plugin.js';

/**
 * raft-5-faults.ndjson.gz is the real event stream of `dslab up raft --nodes 5
 * --seed 7`, recorded with `dslab events --history --json` while the leader
 * (n5) was killed, n1 paused, the new leader (n3) isolated, 20% loss and a
 * 50 ms delay on n2-n3 added, everything healed, n1 resumed, n5 restarted, a
 * 3 s `dslab load --rate 100` run, and `dslab down`. client_result and
 * node_apply events were left out (the dashboard ignores them). The fault events'
 * structured fields (`fault`, `active`) were added afterwards, by hand, from
 * what was done, when fault events began to carry them. It was also recorded
 * before cluster_up carried the system's view (roles and columns), so the raft
 * plugin's view is added to that event here, as a supervisor now sends it.
 */
export function recordedRaftEvents(): ClusterEvent[] {
  const text = gunzipSync(readFileSync(new URL('./fixtures/raft-5-faults.ndjson.gz', import.meta.url))).toString('utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ClusterEvent)
    .map((event) => (event.type === 'cluster_up' ? { ...event, view: systemView(raft) } : event));
}

/** Events up to and including the first one that matches. */
export function until(events: readonly ClusterEvent[], match: (event: ClusterEvent) => boolean): ClusterEvent[] {
  const index = events.findIndex(match);
  if (index < 0) throw new Error('the recording has no such event');
  return events.slice(0, index + 1);
}
