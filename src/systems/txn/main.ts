// The txn system's reference node on real stdio: the read-committed, totally available store of txn-node.ts.
import { Node } from '../../lib/runtime/node.js';
import { txnNode } from './txn-node.js';

const node = new Node();
txnNode(node);
node.run();
