#!/usr/bin/env python3
"""dslab labs: broadcast-single, broadcast-multi, broadcast-partitions, broadcast-efficiency. Starter code.

The four broadcast labs grow ONE node, step by step: first a single node that
keeps what clients broadcast, then five nodes that pass messages on to each
other, then five nodes whose network splits, then 25 nodes with 100 ms
between them and a budget of messages and latency. `dslab lab init` gives
this same file for each of them, so keep working in the file you started with.

Play with it live, then grade it (from this folder):

    dslab up broadcast --bin "python3 node.py" --nodes 5 --detach
    dslab broadcast send 7 --node n2
    dslab broadcast read --node n4
    dslab down
    dslab grade broadcast-single --bin "python3 node.py"

or run Maelstrom's test for the step you are on, the way its challenge does:

    dslab test -w broadcast --bin python3 node.py --node-count 5 --time-limit 10 --rate 10

Python 3 standard library only. The plumbing (reading stdin, init/init_ok,
send/reply, RPCs, timers) is in the first part of this file; your part is
marked TODO. Logs: node.log(...) goes to stderr (`dslab logs n1`); never print
to stdout, which is the network.

README.md next to this file has the messages, hints and tests of the lab you
started with; labs/broadcast-*/README.md are the other steps'.
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

# The messages this node holds. Maelstrom's messages are unique integers, but
# compare them as they come: a set of JSON texts would keep 1 and "1" apart.
messages = set()

# The neighbours the topology message suggested (see handle_topology).
neighbours = []


def handle_topology(msg):
    # The topology maps every node id to its suggested neighbours, e.g.
    # {"n1": ["n2", "n4"], "n2": ["n1", "n3", "n5"], ...}. A map may have no
    # entry for this node at all (the line topology of one node is {}).
    global neighbours
    topology = msg["body"].get("topology") or {}
    neighbours = list(topology.get(node.node_id, []))
    # TODO (broadcast-multi on): you may gossip over these neighbours, or
    # choose your own links: every node can send to every other.
    node.reply(msg, {"type": "topology_ok"})


def handle_broadcast(msg):
    # TODO: keep msg["body"]["message"] and answer {"type": "broadcast_ok"}.
    # From broadcast-multi on, every other node must come to hold it too.
    node.reply_error(msg, NOT_SUPPORTED, "broadcast is not implemented yet")


def handle_read(msg):
    # TODO: answer {"type": "read_ok", "messages": [every message this node holds]}.
    node.reply_error(msg, NOT_SUPPORTED, "read is not implemented yet")


node.on("topology", handle_topology)
node.on("broadcast", handle_broadcast)
node.on("read", handle_read)

if __name__ == "__main__":
    node.run()
