// Planted bug: an add reads the counter from seq-kv and writes back the value plus the delta with a plain
// write, not a compare-and-set. The read may be stale, or another node may write in between; either way
// the write wipes out adds it did not see. (Reads are done right: see the reference solution.)
import { Node, RpcError } from '../../../dist/lib/runtime/node.js';

const key_does_not_exist = 20;
const node = new Node();
let sync_count = 0;

const readCounter = async () => {
  try {
    return (await node.rpc('seq-kv', { type: 'read', key: 'counter' })).value;
  } catch (error) {
    if (error instanceof RpcError && error.code === key_does_not_exist) return 0;
    throw error;
  }
};

node.on('add', async (request) => {
  const value = await readCounter();
  await node.rpc('seq-kv', { type: 'write', key: 'counter', value: value + request.body.delta });
  node.reply(request, { type: 'add_ok' });
});
node.on('read', async (request) => {
  // A write no one else makes moves this node's view of seq-kv to the newest version; the read after it is fresh.
  await node.rpc('seq-kv', { type: 'write', key: `sync-${node.id}`, value: ++sync_count });
  node.reply(request, { type: 'read_ok', value: await readCounter() });
});
node.run();
