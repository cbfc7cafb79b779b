/**
 * dslab lab: echo (warm-up). Starter code in TypeScript on dslab's node runtime.
 *
 * The runtime (the import below; `dslab lab init` points it at your dslab
 * installation) does the plumbing: it reads one JSON message per line from
 * stdin, answers init with init_ok, routes each message to the handler
 * registered for its body.type, answers unknown types with error 10, and exits
 * when stdin closes. Your part is marked TODO.
 *
 * Run it from this folder (`dslab lab init` wrote in the tsx of your dslab
 * installation, so nothing else needs installing):
 *
 *   node --import __DSLAB_TSX__ node.ts                      # one node by hand
 *   dslab grade echo --bin "node --import __DSLAB_TSX__ node.ts"
 *
 * By hand, type the messages yourself (Ctrl-D to stop), e.g.
 *   {"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}}
 *   {"src":"c1","dest":"n1","body":{"type":"echo","msg_id":2,"echo":"hello"}}
 * README.md next to this file has the messages, hints and tests.
 *
 * Runtime API: node.on(type, handler), node.onInit(cb), node.send(dest, body),
 * node.reply(request, body), node.replyError(request, code, text),
 * node.rpc(dest, body, timeoutMs) -> Promise<body>, node.after(ms, cb),
 * node.every(ms, cb), node.now(), node.reportState({...}),
 * node.reportApply(index, term, op), node.log(...), node.id, node.nodeIds,
 * node.peers(), node.run().
 */
import { Node } from '__DSLAB_RUNTIME__';

/** A message as it arrives: the envelope, with the body's fields. */
interface Message {
  src: string;
  dest: string;
  body: { type: string; msg_id?: number; in_reply_to?: number; [field: string]: unknown };
}

const not_supported = 10;

const node = new Node();

node.on('echo', (message: Message) => {
  // TODO: answer with a body of type "echo_ok" that carries the request's
  // "echo" field back unchanged. node.reply(message, {...}) adds in_reply_to.
  node.replyError(message, not_supported, 'echo is not implemented yet');
});

node.run();
