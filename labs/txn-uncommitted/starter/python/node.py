#!/usr/bin/env python3
"""dslab labs: txn-uncommitted, txn-committed (key-value transactions). Starter code.

The two transaction labs grow ONE node: first a store that answers
transactions on one node, then on two nodes that must agree while the network
splits (read uncommitted), then on three nodes where no one may see a
transaction's writes until it is done (read committed). `dslab lab init`
gives this same file for both labs, so keep working in the file you started
with.

Every node answers {"type":"txn","txn":[["r",1,null],["w",2,5]]} with
{"type":"txn_ok","txn":[["r",1,<value or null>],["w",2,5]]}: the same
operations, in order, each read filled in with the value it saw.

Play with it live, then grade it (from this folder):

    dslab up txn --bin "python3 node.py" --nodes 2 --detach
    dslab send n1 '{"type":"txn","txn":[["w",1,5],["r",1,null]]}'
    dslab send n2 '{"type":"txn","txn":[["r",1,null]]}'
    dslab down
    dslab grade txn-uncommitted --bin "python3 node.py"

or run Maelstrom's test, the way its challenge does:

    dslab test -w txn-rw-register --bin python3 node.py --node-count 2 --concurrency 2n --time-limit 20 --rate 100 --consistency-models read-uncommitted --availability total --nemesis partition

Python 3 standard library only. The plumbing (reading stdin, init/init_ok,
send/reply, RPCs, timers) is in the first part of this file; your part is
marked TODO. Logs: node.log(...) goes to stderr (`dslab logs n1`); never print
to stdout, which is the network.

README.md next to this file has the messages, the anomalies, hints and tests
of the lab you started with; labs/txn-committed/README.md is the next step's.
"""

# dslab:plumbing-begin
# `dslab lab init` replaces the lines from here to dslab:plumbing-end with the
# message plumbing shared by every Python starter (labs/_shared/python/
# dslab_node.py), so the node.py it writes is one self-contained file. Run from
# the dslab repository, this starter imports that module instead.
import os as _os, sys as _sys
_sys.dont_write_bytecode = True  # no __pycache__ left in dslab's labs/ folder
_sys.path.insert(0, _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "..", "..", "..", "_shared", "python"))
from dslab_node import *  # noqa: E402,F401,F403
# dslab:plumbing-end


# ---------------------------------------------------------------------------
# Your node.
# ---------------------------------------------------------------------------

node = Node()

# The store: each key's value. Keys arrive as JSON values (numbers here); a
# key never written reads as None (null).
store = {}


def handle_txn(msg):
    ops = msg["body"].get("txn")
    if not isinstance(ops, list):
        node.reply_error(msg, MALFORMED_REQUEST, "txn must be a list of operations")
        return
    done = []
    for op in ops:
        f, key, value = op
        # TODO (txn-uncommitted, one node): a read ["r", key, None] becomes
        # ["r", key, <the value>]; a write ["w", key, value] sets the key.
        # TODO (two nodes): tell the other nodes (node.peers()) about this
        # transaction's writes, and keep telling them until they acknowledge:
        # a partition drops messages, and every transaction must still succeed.
        # TODO (txn-committed): no other transaction may see these writes
        # until this one is done, nor a value this one overwrote.
        done.append([f, key, value])
    node.reply(msg, {"type": "txn_ok", "txn": done})


node.on("txn", handle_txn)

if __name__ == "__main__":
    node.run()
