/**
 * dslab lab: g-counter (a grow-only counter on seq-kv). Starter code in
 * TypeScript on dslab's node runtime.
 *
 * Every node answers {"type":"add","delta":3} with add_ok and {"type":"read"}
 * with {"type":"read_ok","value":<the counter>}. The counter lives in seq-kv,
 * the sequentially consistent key-value service every dslab (and Maelstrom)
 * cluster has: the node sends it requests like to any node.
 *
 * Run it from this folder (`dslab lab init` wrote in the tsx of your dslab
 * installation, so nothing else needs installing):
 *
 *   dslab up g-counter --bin "node --import __DSLAB_TSX__ node.ts" --nodes 3 --detach
 *   dslab grade g-counter --bin "node --import __DSLAB_TSX__ node.ts"
 *
 * README.md next to this file has the messages, hints and tests.
 *
 * The runtime (the import below; `dslab lab init` points it at your dslab
 * installation) reads stdin, answers init, dispatches by body.type and exits
 * when stdin closes. node.rpc(dest, body, timeoutMs) resolves with the reply
 * body, or rejects with an RpcError (its `code`: 20 key does not exist, 22
 * precondition failed, 0 timeout). Runtime API: node.on(type, handler),
 * node.onInit(cb), node.reply(request, body), node.replyError(request, code,
 * text), node.rpc(...), node.every(ms, cb), node.id, node.nodeIds,
 * node.log(...), node.run(). Your part is marked TODO.
 */
import { Node, RpcError } from '__DSLAB_RUNTIME__';

interface Message {
  src: string;
  dest: string;
  body: { type: string; msg_id?: number; in_reply_to?: number; [field: string]: unknown };
}

const not_supported = 10;
const key_does_not_exist = 20;
const precondition_failed = 22;

const node = new Node();

/** seq-kv's requests: each resolves with seq-kv's reply body, or rejects with an RpcError. */
const kv = {
  read: (key: string) => node.rpc('seq-kv', { type: 'read', key }),
  write: (key: string, value: unknown) => node.rpc('seq-kv', { type: 'write', key, value }),
  /** Sets key to `to` only if it holds `from` now (or, with create_if_not_exists, does not exist yet). */
  cas: (key: string, from: unknown, to: unknown, create_if_not_exists = false) => node.rpc('seq-kv', { type: 'cas', key, from, to, create_if_not_exists }),
};
/** Whether an error is seq-kv's answer with this code (not a timeout, not a bug of yours). */
const isKvError = (error: unknown, code: number): boolean => error instanceof RpcError && error.code === code;

node.on('add', async (message: Message) => {
  // TODO: add message.body.delta (an integer, never negative) to the counter
  // in seq-kv, then reply {type: 'add_ok'}. Another node may be adding at the
  // same moment: no add may be lost, none counted twice.
  node.replyError(message, not_supported, 'add is not implemented yet');
});

node.on('read', async (message: Message) => {
  // TODO: reply {type: 'read_ok', value: <the counter>}. seq-kv may answer a
  // read with an old value (see the README): once the adds stop, every node's
  // reads must come to show the whole sum.
  node.replyError(message, not_supported, 'read is not implemented yet');
});

node.run();
