// A reference node for Maelstrom's kafka workload, for one node: every log kept in memory in this
// process. `dslab test -w kafka --bin "node dist/systems/kafka/main.js" --node-count 1` finds it valid.

/**
 * send appends a message to its key's log and answers its offset; poll answers each asked key's
 * messages from the asked offset on; commit_offsets raises a key's committed offset;
 * list_committed_offsets answers the committed offsets it knows. Offsets are dense, from 0.
 */
import { Node } from '../../lib/runtime/node.js';

/** Messages one poll answers per key at most (the client asks again from where this stops). */
export const poll_msgs_per_key_max = 1000;

const node = new Node();
const logs = new Map<string, unknown[]>();
const committed = new Map<string, number>();

node.on('send', (message) => {
  const key = String(message.body.key);
  let log = logs.get(key);
  if (!log) logs.set(key, (log = []));
  log.push(message.body.msg);
  node.reply(message, { type: 'send_ok', offset: log.length - 1 });
});
node.on('poll', (message) => {
  const msgs: Record<string, [number, unknown][]> = {};
  for (const [key, from] of Object.entries((message.body.offsets ?? {}) as Record<string, number>)) {
    const log = logs.get(key) ?? [];
    const start = Math.max(0, Math.floor(Number(from) || 0));
    msgs[key] = log.slice(start, start + poll_msgs_per_key_max).map((msg, i) => [start + i, msg]);
  }
  node.reply(message, { type: 'poll_ok', msgs });
});
node.on('commit_offsets', (message) => {
  for (const [key, offset] of Object.entries((message.body.offsets ?? {}) as Record<string, number>)) committed.set(key, Math.max(committed.get(key) ?? 0, offset));
  node.reply(message, { type: 'commit_offsets_ok' });
});
node.on('list_committed_offsets', (message) => {
  const offsets: Record<string, number> = {};
  for (const key of (message.body.keys ?? []) as string[]) {
    const offset = committed.get(key);
    if (offset !== undefined) offsets[key] = offset;
  }
  node.reply(message, { type: 'list_committed_offsets_ok', offsets });
});
node.run();
