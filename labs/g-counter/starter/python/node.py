#!/usr/bin/env python3
"""dslab lab: g-counter (a grow-only counter on seq-kv). Starter code.

Every node answers {"type":"add","delta":3} with add_ok and
{"type":"read"} with {"type":"read_ok","value":<the counter>}. The counter
lives in seq-kv, the sequentially consistent key-value service every dslab
(and Maelstrom) cluster has: the node sends it requests like to any node.

Play with it live, then grade it (from this folder):

    dslab up g-counter --bin "python3 node.py" --nodes 3 --detach
    dslab counter add 5 --node n1
    dslab counter read --node n3
    dslab down
    dslab grade g-counter --bin "python3 node.py"

or run Maelstrom's test, the way its challenge does:

    dslab test -w g-counter --bin python3 node.py --node-count 3 --rate 100 --time-limit 20 --nemesis partition

Python 3 standard library only. The plumbing (reading stdin, init/init_ok,
send/reply, RPCs with callbacks, timers) is in the first part of this file,
then small helpers for seq-kv's requests; your part is marked TODO.

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
# seq-kv's requests. Each calls callback(reply_body) with seq-kv's answer:
# read_ok (with "value"), write_ok, cas_ok, or an error body (check
# body["type"] == "error" and body["code"]: KEY_DOES_NOT_EXIST,
# PRECONDITION_FAILED), or callback(None) when no answer came in time.
# ---------------------------------------------------------------------------

SEQ_KV = "seq-kv"


def kv_read(node, key, callback):
    node.rpc(SEQ_KV, {"type": "read", "key": key}, callback)


def kv_write(node, key, value, callback):
    node.rpc(SEQ_KV, {"type": "write", "key": key, "value": value}, callback)


def kv_cas(node, key, expected, new, callback, create_if_not_exists=False):
    """Sets key to new only if it holds expected now (or, with create_if_not_exists, does not exist yet)."""
    node.rpc(SEQ_KV, {"type": "cas", "key": key, "from": expected, "to": new, "create_if_not_exists": create_if_not_exists}, callback)


# ---------------------------------------------------------------------------
# Your node.
# ---------------------------------------------------------------------------

node = Node()


def handle_add(msg):
    # TODO: add msg["body"]["delta"] (an integer, never negative) to the
    # counter in seq-kv, then reply {"type": "add_ok"}. Another node may be
    # adding at the same moment: no add may be lost, none counted twice.
    node.reply_error(msg, NOT_SUPPORTED, "add is not implemented yet")


def handle_read(msg):
    # TODO: reply {"type": "read_ok", "value": <the counter>}. seq-kv may
    # answer a read with an old value (see the README): once the adds stop,
    # every node's reads must come to show the whole sum.
    node.reply_error(msg, NOT_SUPPORTED, "read is not implemented yet")


node.on("add", handle_add)
node.on("read", handle_read)

if __name__ == "__main__":
    node.run()
