/**
 * dslab labs: txn-uncommitted, txn-committed (key-value transactions).
 * Starter code in TypeScript on dslab's node runtime.
 *
 * The two transaction labs grow ONE node: first a store that answers
 * transactions on one node, then on two nodes that must agree while the
 * network splits (read uncommitted), then on three nodes where no one may see
 * a transaction's writes until it is done (read committed). `dslab lab init`
 * gives this same file for both labs, so keep working in the file you started
 * with.
 *
 * Every node answers {"type":"txn","txn":[["r",1,null],["w",2,5]]} with
 * {"type":"txn_ok","txn":[["r",1,<value or null>],["w",2,5]]}: the same
 * operations, in order, each read filled in with the value it saw.
 *
 * Run it from this folder (`dslab lab init` wrote in the tsx of your dslab
 * installation, so nothing else needs installing):
 *
 *   dslab up txn --bin "node --import __DSLAB_TSX__ node.ts" --nodes 2 --detach
 *   dslab send n1 '{"type":"txn","txn":[["w",1,5],["r",1,null]]}'
 *   dslab grade txn-uncommitted --bin "node --import __DSLAB_TSX__ node.ts"
 *
 * README.md next to this file has the messages, the anomalies, hints and
 * tests of the lab you started with; labs/txn-committed/README.md is the
 * next step's.
 *
 * The runtime (the import below; `dslab lab init` points it at your dslab
 * installation) reads stdin, answers init, dispatches by body.type and exits
 * when stdin closes. Runtime API: node.on(type, handler), node.onInit(cb),
 * node.reply(request, body), node.replyError(request, code, text),
 * node.send(dest, body), node.sendRequest(dest, body) (adds a msg_id),
 * node.rpc(dest, body, timeoutMs), node.every(ms, cb), node.peers(), node.id,
 * node.nodeIds, node.log(...), node.run(). Your part is marked TODO.
 */
import { Node } from '__DSLAB_RUNTIME__';

interface Message {
  src: string;
  dest: string;
  body: { type: string; msg_id?: number; in_reply_to?: number; [field: string]: unknown };
}

/** One operation of a transaction: ["r", key, null] or ["w", key, value]. */
type MicroOp = [f: 'r' | 'w', key: unknown, value: unknown];

const malformed_request = 12;

const node = new Node();

/** The store: each key's value, by the key's JSON text (a key never written reads as null). */
const store = new Map<string, unknown>();

node.on('txn', (message: Message) => {
  const ops = message.body.txn;
  if (!Array.isArray(ops)) return node.replyError(message, malformed_request, 'txn must be a list of operations');
  const done: MicroOp[] = [];
  for (const [f, key, value] of ops as MicroOp[]) {
    // TODO (txn-uncommitted, one node): a read ["r", key, null] becomes
    // ["r", key, <the value>]; a write ["w", key, value] sets the key
    // (store.get / store.set with JSON.stringify(key)).
    // TODO (two nodes): tell the other nodes (node.peers()) about this
    // transaction's writes, and keep telling them until they acknowledge: a
    // partition drops messages, and every transaction must still succeed.
    // TODO (txn-committed): no other transaction may see these writes until
    // this one is done, nor a value this one overwrote.
    done.push([f, key, value]);
  }
  node.reply(message, { type: 'txn_ok', txn: done });
});

node.run();
