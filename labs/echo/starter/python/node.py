#!/usr/bin/env python3
"""dslab lab: echo (warm-up). Starter code.

Run one node by hand, from this folder (type the lines yourself, Ctrl-D to stop):

    python3 node.py
    {"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}}
    {"src":"c1","dest":"n1","body":{"type":"echo","msg_id":2,"echo":"hello"}}

Grade it (from this folder):

    dslab grade echo --bin "python3 node.py"

Python 3 standard library only. The plumbing (reading stdin, init/init_ok,
send/reply, RPCs, timers) is in the Node class below; your part is marked TODO.

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


def handle_echo(msg):
    # TODO: answer with a body of type "echo_ok" that carries the request's
    # "echo" field back unchanged. node.reply(msg, {...}) fills in in_reply_to.
    node.reply_error(msg, NOT_SUPPORTED, "echo is not implemented yet")


node.on("echo", handle_echo)

if __name__ == "__main__":
    node.run()
