// Planted bug: a node runs each transaction whole, but tells its peers each write in a message of its
// own, and a peer applies each as it arrives. Messages overtake each other, so a peer can be left with
// a value the transaction itself overwrote, and readers there see it (an intermediate read, G1b).
import { Node } from '../../../dist/lib/runtime/node.js';

const node = new Node();
const store = new Map();

node.on('txn', (request) => {
  const done = request.body.txn.map(([f, key, value]) => {
    const id = JSON.stringify(key);
    if (f === 'r') return [f, key, store.has(id) ? store.get(id) : null];
    store.set(id, value);
    for (const peer of node.peers()) node.send(peer, { type: 'replicate', key, value });
    return [f, key, value];
  });
  node.reply(request, { type: 'txn_ok', txn: done });
});
node.on('replicate', (message) => store.set(JSON.stringify(message.body.key), message.body.value));
node.run();
