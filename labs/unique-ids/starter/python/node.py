#!/usr/bin/env python3
"""dslab lab: unique-ids (warm-up). Starter code.

Every node answers {"type":"generate"} with {"type":"generate_ok","id":...}.
No id may ever be handed out twice: not by two nodes, not while the network is
partitioned, and not by one node before and after it crashes and restarts.

Play with it, then grade it (from this folder):

    dslab up unique-ids --bin "python3 node.py" --nodes 3 --detach
    dslab send n1 '{"type":"generate"}'
    dslab down
    dslab grade unique-ids --bin "python3 node.py"

Python 3 standard library only. The plumbing (reading stdin, init/init_ok,
send/reply, RPCs, timers, a crash-safe JSON file writer) is in the first part of
this file; your part is marked TODO.

README.md next to this file has the messages, hints and tests.
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

# node.data_dir is this node's own directory (env DSLAB_DATA_DIR). It survives
# a crash and restart of the node within one run; nothing else does.
STATE_FILE = os.path.join(node.data_dir, "unique-ids.json")


def on_init():
    # Runs once, after init told us node.node_id and node.node_ids.
    # TODO: if your scheme needs state that survives restarts, load it here
    # (read_json(STATE_FILE, default)) and save the new value with
    # write_json_atomic(STATE_FILE, value) before answering any request.
    pass


def handle_generate(msg):
    # TODO: reply {"type": "generate_ok", "id": <an id never handed out before>}.
    # The id may be a string or a number. Nodes must not talk to each other to
    # agree on ids (the network may be partitioned).
    node.reply_error(msg, NOT_SUPPORTED, "generate is not implemented yet")


node.on_init(on_init)
node.on("generate", handle_generate)

if __name__ == "__main__":
    node.run()
