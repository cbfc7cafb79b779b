// Planted bug: a node applies a transaction's writes to its store (and tells its peers) as it goes, and
// refuses a transaction that writes one key twice with txn-conflict (30) when it reaches the second
// write. The writes already made are not undone: other transactions read values of a transaction that
// failed (an aborted read, G1a).
import { Node } from '../../../dist/lib/runtime/node.js';

const txn_conflict = 30;
const node = new Node();
const store = new Map();

const apply = (id, value) => {
  store.set(id, value);
  for (const peer of node.peers()) node.send(peer, { type: 'replicate', id, value });
};

node.on('txn', (request) => {
  const done = [];
  const written = new Set();
  for (const [f, key, value] of request.body.txn) {
    const id = JSON.stringify(key);
    if (f === 'r') {
      done.push([f, key, store.has(id) ? store.get(id) : null]);
      continue;
    }
    if (written.has(id)) return node.replyError(request, txn_conflict, `the transaction writes ${id} twice`);
    written.add(id);
    apply(id, value);
    done.push([f, key, value]);
  }
  node.reply(request, { type: 'txn_ok', txn: done });
});
node.on('replicate', (message) => store.set(message.body.id, message.body.value));
node.run();
