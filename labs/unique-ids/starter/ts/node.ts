/**
 * dslab lab: unique-ids (warm-up). Starter code in TypeScript on dslab's node runtime.
 *
 * Every node answers {"type":"generate"} with {"type":"generate_ok","id":...}.
 * No id may ever be handed out twice: not by two nodes, not while the network
 * is partitioned, and not by one node before and after a crash and restart.
 *
 * Run it from this folder (`dslab lab init` wrote in the tsx of your dslab
 * installation, so nothing else needs installing):
 *
 *   dslab up unique-ids --bin "node --import __DSLAB_TSX__ node.ts" --nodes 3 --detach
 *   dslab grade unique-ids --bin "node --import __DSLAB_TSX__ node.ts"
 *
 * README.md next to this file has the messages, hints and tests.
 *
 * The runtime (the import below; `dslab lab init` points it at your dslab
 * installation) reads stdin, answers init, dispatches by body.type and exits
 * when stdin closes. Runtime API: node.on(type, handler), node.onInit(cb),
 * node.reply(request, body), node.replyError(request, code, text), node.id,
 * node.nodeIds, node.log(...), node.run(). Your part is marked TODO.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Node } from '__DSLAB_RUNTIME__';

interface Message {
  src: string;
  dest: string;
  body: { type: string; msg_id?: number; in_reply_to?: number; [field: string]: unknown };
}

const not_supported = 10;

const node = new Node();
/** This node's own directory: it survives a crash and restart within one run. */
const dataDir = process.env.DSLAB_DATA_DIR ?? '.';
const stateFile = path.join(dataDir, 'unique-ids.json');

/** The JSON stored in a file, or fallback when there is none. */
function readJson<T>(file: string, fallback: T): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return fallback;
  }
}

node.onInit(() => {
  mkdirSync(dataDir, { recursive: true });
  // TODO: if your scheme needs state that survives restarts, load it here
  // (readJson(stateFile, ...)) and save the new value durably before answering
  // any request: write a temporary file, fsyncSync it, renameSync it over the
  // old one.
  void readJson(stateFile, null);
});

node.on('generate', (message: Message) => {
  // TODO: reply {type: 'generate_ok', id: <an id never handed out before>}.
  // The id may be a string or a number. Nodes must not need to talk to each
  // other to agree on ids (the network may be partitioned).
  node.replyError(message, not_supported, 'generate is not implemented yet');
});

node.run();
