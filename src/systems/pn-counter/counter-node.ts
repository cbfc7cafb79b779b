// The reference counter node g-counter and pn-counter share: per-node up and down counts gossiped
// and merged by taking the larger. Runs on the node runtime.
/**
 * The reference counter node of the pn-counter and g-counter systems: each
 * node counts what was added at it, up and down apart, and gossips its whole
 * table to every peer at a fixed interval; a table merges by taking each
 * entry's larger count (counts only grow), so every node converges on the
 * same sum once it hears from every other, however late.
 */
import type { Node } from '../../lib/runtime/node.js';

export const gossip_interval_ms = 100;

interface Counts {
  up: number;
  down: number;
}

/** Gives `node` the counter's handlers (the caller runs it: main.ts on stdio, tests on a fake network). */
export function counterNode(node: Node): void {
  const table = new Map<string, Counts>();
  const sum = (): number => [...table.values()].reduce((total, c) => total + c.up - c.down, 0);

  node.onInit(() =>
    node.every(gossip_interval_ms, () => {
      const counts = Object.fromEntries(table);
      for (const peer of node.peers()) node.send(peer, { type: 'counts', counts });
      node.reportState({ role: 'replica', value: sum() });
    }),
  );
  node.on('add', (message) => {
    const delta = Number(message.body.delta);
    if (!Number.isSafeInteger(delta)) return node.replyError(message, 12, 'delta must be an integer');
    const own = table.get(message.dest) ?? { up: 0, down: 0 };
    if (delta >= 0) own.up += delta;
    else own.down -= delta;
    table.set(message.dest, own);
    node.reply(message, { type: 'add_ok' });
  });
  node.on('read', (message) => node.reply(message, { type: 'read_ok', value: sum() }));
  node.on('counts', (message) => {
    const counts = message.body.counts as Record<string, Counts> | undefined;
    for (const [id, theirs] of Object.entries(counts ?? {})) {
      const mine = table.get(id) ?? { up: 0, down: 0 };
      table.set(id, { up: Math.max(mine.up, Number(theirs.up) || 0), down: Math.max(mine.down, Number(theirs.down) || 0) });
    }
  });
}
