// The echo node's process: its handlers on the node runtime over real stdio. It keeps nothing on disk.

/**
 * The echo system: answers `echo` with `echo_ok`, and pings every peer so the
 * router has node-to-node traffic to cut; each node reports which peers it
 * currently hears from.
 */
import { Node } from '../../lib/runtime/node.js';

export const ping_interval_ms = 200;
/** A peer not heard from for this long counts as unreachable. */
export const peer_silence_ms_max = 1000;

const node = new Node();
const heardFrom = new Map<string, number>();

function report(): void {
  const now = Date.now();
  const reachable = node.peers().filter((peer) => now - (heardFrom.get(peer) ?? -Infinity) <= peer_silence_ms_max);
  node.reportState({ role: 'echo', reachable: reachable.join(',') });
}

node.onInit(() => {
  report();
  node.every(ping_interval_ms, () => {
    for (const peer of node.peers()) node.sendRequest(peer, { type: 'ping' });
    report();
  });
});
node.on('echo', (message) => node.reply(message, { type: 'echo_ok', echo: message.body.echo }));
node.on('ping', (message) => {
  heardFrom.set(message.src, Date.now());
  node.reply(message, { type: 'pong' });
});
node.on('pong', (message) => {
  heardFrom.set(message.src, Date.now());
});
node.run();
