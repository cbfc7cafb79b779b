// Planted bug: each node tells its peers every add as a delta (sent once, no retry), and catches a peer
// up when it hears from it again after a partition by sending its whole own count as one more delta.
// The peer already had the part from before the partition, so that part is counted twice there.
import { Node } from '../../../dist/lib/runtime/node.js';

const heartbeat_interval_ms = 100;
/** A peer silent this long was cut off; hearing from it again means the partition healed. */
const silence_ms = 1000;
const node = new Node();
let own = 0;
/** What each peer's deltas add up to, as this node heard them. */
const heard = new Map();
const last_heard_ms = new Map();

const hearFrom = (peer) => {
  const now = Date.now();
  const last = last_heard_ms.get(peer);
  last_heard_ms.set(peer, now);
  if (last !== undefined && now - last >= silence_ms && own > 0) node.send(peer, { type: 'delta', delta: own });
};

node.onInit(() => node.every(heartbeat_interval_ms, () => {
  for (const peer of node.peers()) node.send(peer, { type: 'heartbeat' });
}));
node.on('heartbeat', (message) => hearFrom(message.src));
node.on('delta', (message) => {
  hearFrom(message.src);
  heard.set(message.src, (heard.get(message.src) ?? 0) + message.body.delta);
});
node.on('add', (request) => {
  own += request.body.delta;
  for (const peer of node.peers()) node.send(peer, { type: 'delta', delta: request.body.delta });
  node.reply(request, { type: 'add_ok' });
});
node.on('read', (request) => node.reply(request, { type: 'read_ok', value: own + [...heard.values()].reduce((a, b) => a + b, 0) }));
node.run();
