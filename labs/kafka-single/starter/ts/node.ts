/**
 * dslab labs: kafka-single, kafka-replicated, kafka-efficient. Starter code in
 * TypeScript on dslab's node runtime.
 *
 * The three kafka labs grow ONE node: a single node keeping append-only logs
 * by key, then two nodes serving the same logs through the lin-kv service,
 * then the same with a budget of messages. `dslab lab init` gives this same
 * file for each of them, so keep working in the file you started with.
 *
 * Run it from this folder (`dslab lab init` wrote in the tsx of your dslab
 * installation, so nothing else needs installing):
 *
 *   dslab test -w kafka --bin node --import __DSLAB_TSX__ node.ts --node-count 1 --concurrency 2n --time-limit 10 --rate 1000
 *   dslab grade kafka-single --bin "node --import __DSLAB_TSX__ node.ts"
 *
 * README.md next to this file has the messages, hints and tests of the lab
 * you started with; the other steps' READMEs are in labs/ beside it.
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

/** lin-kv's requests (kafka-replicated on): each resolves with lin-kv's reply body, or rejects with an RpcError. */
const kv = {
  read: (key: string) => node.rpc('lin-kv', { type: 'read', key }),
  write: (key: string, value: unknown) => node.rpc('lin-kv', { type: 'write', key, value }),
  /** Sets key to `to` only if it holds `from` now (or, with create_if_not_exists, does not exist yet). */
  cas: (key: string, from: unknown, to: unknown, create_if_not_exists = false) => node.rpc('lin-kv', { type: 'cas', key, from, to, create_if_not_exists }),
};
/** Whether an error is lin-kv's answer with this code (not a timeout, not a bug of yours). */
const isKvError = (error: unknown, code: number): boolean => error instanceof RpcError && error.code === code;

node.on('send', async (message: Message) => {
  // TODO: append message.body.msg to the log of key message.body.key and reply
  // {type: 'send_ok', offset: <its offset>}. Offsets of one key only grow, and
  // no two messages of a key ever share one, whichever node is asked.
  node.replyError(message, not_supported, 'send is not implemented yet');
});

node.on('poll', async (message: Message) => {
  // TODO: message.body.offsets is {key: offset}. Reply {type: 'poll_ok', msgs:
  // {key: [[offset, message], ...]}}: for each key, messages from that offset
  // on, in offset order, none skipped (you may stop early).
  node.replyError(message, not_supported, 'poll is not implemented yet');
});

node.on('commit_offsets', async (message: Message) => {
  // TODO: message.body.offsets is {key: offset}: the client has processed each
  // key up to that offset. Keep them and reply {type: 'commit_offsets_ok'}.
  node.replyError(message, not_supported, 'commit_offsets is not implemented yet');
});

node.on('list_committed_offsets', async (message: Message) => {
  // TODO: message.body.keys is a list of keys. Reply {type:
  // 'list_committed_offsets_ok', offsets: {key: offset}} with the committed
  // offset of each key that has one.
  node.replyError(message, not_supported, 'list_committed_offsets is not implemented yet');
});

node.run();
