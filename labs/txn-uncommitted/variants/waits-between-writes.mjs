// Planted bug: a node runs a transaction one operation at a time and, after each write, waits until its
// peers have that write before going on. Meanwhile it runs other transactions, so two transactions'
// operations interleave: each can overwrite a value the other wrote while both run, a write cycle (G0).
import { Node } from '../../../dist/lib/runtime/node.js';

/** How long a write waits for a peer's acknowledgement before the transaction goes on without it. */
const replicate_timeout_ms = 200;
const node = new Node();
const store = new Map();

node.on('txn', async (request) => {
  const done = [];
  // What the transaction read or wrote of each key: its later reads see that, whatever other transactions wrote since.
  const own = new Map();
  for (const [f, key, value] of request.body.txn) {
    const id = JSON.stringify(key);
    if (f === 'r') {
      if (!own.has(id)) own.set(id, store.has(id) ? store.get(id) : null);
      done.push([f, key, own.get(id)]);
      continue;
    }
    own.set(id, value);
    store.set(id, value);
    done.push([f, key, value]);
    await Promise.all(node.peers().map((peer) => node.rpc(peer, { type: 'replicate', key, value }, replicate_timeout_ms).catch(() => {})));
  }
  node.reply(request, { type: 'txn_ok', txn: done });
});
node.on('replicate', (request) => {
  store.set(JSON.stringify(request.body.key), request.body.value);
  node.reply(request, { type: 'replicate_ok' });
});
node.run();
