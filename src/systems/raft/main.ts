// The Raft node's process: one host (host.ts) on real stdio. Wiring only: the host holds the node.

/**
 * The Raft key-value node process: one Raft host (host.ts) on the node
 * runtime over real stdio. Lab variants import this file after changing
 * default_raft_config, so it starts the node when imported.
 */
import { Node } from '../../lib/runtime/node.js';
import { startRaftHost } from './host.js';
import { readRaftOptions } from './options.js';

const node = new Node();
startRaftHost(node, { options: readRaftOptions(process.env), data_dir: process.env.DSLAB_DATA_DIR ?? '.' });
node.run();
