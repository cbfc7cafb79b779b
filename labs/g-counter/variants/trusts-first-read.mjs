// Planted bug: the counter lives in seq-kv under one key and every add is a correct read-then-cas loop,
// but a client's read is answered from the value this node last saw (read once from seq-kv, then kept up
// to date by its own adds only). It never asks seq-kv again, so it never sees what other nodes added.
import { Node, RpcError } from '../../../dist/lib/runtime/node.js';

const key_does_not_exist = 20;
const precondition_failed = 22;
const node = new Node();
let known = null;

const readCounter = async () => {
  try {
    return (await node.rpc('seq-kv', { type: 'read', key: 'counter' })).value;
  } catch (error) {
    if (error instanceof RpcError && error.code === key_does_not_exist) return 0;
    throw error;
  }
};

node.on('add', async (request) => {
  for (;;) {
    const value = await readCounter();
    try {
      await node.rpc('seq-kv', { type: 'cas', key: 'counter', from: value, to: value + request.body.delta, create_if_not_exists: true });
      known = value + request.body.delta;
      return node.reply(request, { type: 'add_ok' });
    } catch (error) {
      if (!(error instanceof RpcError) || error.code !== precondition_failed) throw error;
    }
  }
});
node.on('read', async (request) => {
  if (known === null) known = await readCounter();
  node.reply(request, { type: 'read_ok', value: known });
});
node.run();
